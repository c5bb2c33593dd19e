/**
 * The lab's extractor runs in a process of its own (lab/extractor-process.ts): probes are
 * spawned there, its logs reach the lab's pipeline log, a host that dies loses no message
 * and is replaced, and the host never outlives the lab.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { ExtractorHostExitedError } from "../../lab/extractor-process";
import { type Lab, labPaths, processAlive, startLab } from "../../lab/lab";
import { LabChild } from "../../lab/soak/lab-child";
import { makeWav } from "../../lab/soak/media";
import { freePort } from "../../lab/soak/start";
import { LAB_NAMES } from "../../lib/naming";
import { METADATA_TABLE } from "../../lib/schema";
import { sleep } from "../../lib/sleep";
import { sqsEvent, sqsRecord } from "../../media/s3-events";

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function pidOf(running: Lab): number {
  const pid = running.extractor.pid;
  if (pid === undefined) throw new Error("the lab's extractor process is not running");
  return pid;
}

describe("lab extractor process (execution environments outside the lab's process)", function () {
  this.timeout(120_000);
  let dir: string;
  let lab: Lab | undefined;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-extractor-process-"));
  });
  afterEach(async () => {
    await lab?.stop();
    lab = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function documentOf(running: Lab, key: string): Promise<Record<string, unknown> | undefined> {
    const res = await DynamoDBDocumentClient.from(running.dynamodb).send(
      new GetCommand({
        TableName: LAB_NAMES.table,
        Key: { [METADATA_TABLE.partitionKey.name]: key },
        ConsistentRead: true,
      }),
    );
    return res.Item?.status ? res.Item : undefined;
  }

  it("probes in a process other than the lab's and relays its logs to the lab's pipeline log", async () => {
    const running = await startLab({ dir, quiet: true, keepPorts: false, queue: { pollWaitMs: 100 } });
    lab = running;
    const hostPid = pidOf(running);
    expect(hostPid).to.not.equal(process.pid);
    expect(processAlive(hostPid)).to.equal(true);

    await running.s3.send(
      new PutObjectCommand({ Bucket: LAB_NAMES.ingestBucket, Key: "a.wav", Body: makeWav(0.2, 8000, 1) }),
    );
    const doc = await until("the document", () => documentOf(running, "a.wav"));
    expect(doc.status).to.equal("ok");
    expect(running.extractor.environments).to.be.at.least(1);
    const log = await fs.readFile(labPaths(dir).log, "utf8");
    const processed = log
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.message === "object processed" && entry.key === "a.wav");
    expect(processed, "the extractor's log line in the lab's pipeline log").to.include({
      service: "extractor",
      outcome: "ok",
    });
  });

  it("fails the batch a dying host held (so it goes back to the queue) and starts a new host for the next", async () => {
    const running = await startLab({ dir, quiet: true, keepPorts: false, paused: true });
    lab = running;
    const first = pidOf(running);
    await running.s3.send(
      new PutObjectCommand({ Bucket: LAB_NAMES.ingestBucket, Key: "b.wav", Body: makeWav(0.2, 8000, 1) }),
    );
    const message = await until("the queued event", () =>
      running.queue.messages().find((m) => m.body.includes('"b.wav"')),
    );
    const event = sqsEvent(sqsRecord(message.body));
    const held = running.extractor.handleBatch(event);
    process.kill(first, "SIGKILL");
    const failure = await held.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).to.be.instanceOf(ExtractorHostExitedError);
    expect((failure as Error).message).to.match(/batch goes back to the queue/);
    expect(processAlive(first)).to.equal(false);

    // The next batch starts a new host, which handles it.
    const response = await running.extractor.handleBatch(event);
    expect(response.batchItemFailures).to.deep.equal([]);
    expect(running.extractor.pid).to.be.a("number").and.not.equal(first);
    expect((await documentOf(running, "b.wav"))?.status).to.equal("ok");
  });

  it("settles batches that race a host's death with ExtractorHostExitedError, and a new host takes over", async () => {
    const running = await startLab({ dir, quiet: true, keepPorts: false, paused: true });
    lab = running;
    const event = sqsEvent(sqsRecord("{}"));
    for (let round = 0; round < 3; round++) {
      const hostPid = pidOf(running);
      process.kill(hostPid, "SIGKILL");
      // Sent before the lab has seen the host exit: its channel still looks connected.
      const results = await Promise.allSettled([
        running.extractor.handleBatch(event),
        running.extractor.handleBatch(event),
      ]);
      for (const r of results) {
        if (r.status === "rejected") expect(r.reason).to.be.instanceOf(ExtractorHostExitedError);
      }
      await until("a new host", async () => {
        await running.extractor.handleBatch(event).catch(() => undefined);
        const pid = running.extractor.pid;
        return pid !== undefined && pid !== hostPid ? pid : undefined;
      });
    }
  });

  it("ends with the lab, even when the lab is SIGKILLed", async () => {
    const [s3Port, dynamodbPort] = [await freePort(), await freePort()];
    const child = new LabChild({
      dir,
      s3Port,
      dynamodbPort,
      extractorS3: `http://127.0.0.1:${s3Port}`,
      extractorDynamodb: `http://127.0.0.1:${dynamodbPort}`,
      queue: { visibilityTimeoutMs: 30_000, maxReceiveCount: 5, retryBaseMs: 1_000, concurrency: 2 },
    });
    try {
      await child.start();
      const status = await child.status();
      const hostPid = status?.extractorPid ?? 0;
      expect(hostPid).to.be.above(0);
      expect(processAlive(hostPid)).to.equal(true);
      await child.kill();
      await until("the extractor process to end", () => (processAlive(hostPid) ? undefined : true), 15_000);
    } finally {
      await child.kill();
    }
  });
});
