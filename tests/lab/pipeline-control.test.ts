/**
 * The lab's PipelineControl over a real LabQueue and QueueWorker (no servers), and the
 * pieces of its admin endpoints that need no running lab.
 */
import * as fs from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import type { SQSEvent } from "aws-lambda";
import { expect } from "chai";
import { createLabAdmin, isLoopback, snsEventFor, snsEventFromFile } from "../../lab/admin";
import { pausedNotice } from "../../lab/control-cli";
import { discardSink, LabLogger } from "../../lab/log";
import { FOR_THIS_RUN, LabPipelineControl } from "../../lab/pipeline-control";
import { LabQueue } from "../../lab/queue";
import { QueueWorker } from "../../lab/worker";
import { ROUTE_TABLE } from "../../lib/api-routes";
import { formatPipelineStatus, PipelineControlError } from "../../lib/pipeline-control";
import { sleep } from "../../lib/sleep";
import { budgetText, snsEvent } from "../../media/budget-events";

const AT = new Date("2026-03-14T06:15:00.000Z");
const LATER = new Date("2026-03-14T09:00:00.000Z");

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("lab PipelineControl", function () {
  this.timeout(20_000);
  let dir: string;
  let file: string;
  let queue: LabQueue;
  let dlq: LabQueue;
  const workers: QueueWorker[] = [];
  let handled: string[];
  let handler: (event: SQSEvent) => Promise<undefined>;

  function newWorker(): QueueWorker {
    const worker = new QueueWorker({ queue, handler: (e) => handler(e), pollWaitMs: 50, batchSize: 10 });
    workers.push(worker);
    return worker;
  }

  function newControl(worker: QueueWorker, extra: Partial<ConstructorParameters<typeof LabPipelineControl>[0]> = {}) {
    return new LabPipelineControl({ worker, queue, deadLetterQueue: dlq, file, settleMs: 2_000, ...extra });
  }

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-lab-control-"));
    file = path.join(dir, "data", "pause.json");
    dlq = await LabQueue.open({ name: "q-dlq" });
    queue = await LabQueue.open({
      name: "q",
      visibilityTimeoutMs: 5_000,
      redrive: { deadLetterQueue: dlq, maxReceiveCount: 3 },
    });
    handled = [];
    handler = async (e) => {
      handled.push(...e.Records.map((r) => r.body));
      return undefined;
    };
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await queue.close();
    await dlq.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("reports a running pipeline with its queue depth", async () => {
    const worker = newWorker();
    const control = newControl(worker);
    worker.start();
    await queue.send("x");
    await worker.drained(5_000);
    const status = await control.status();
    expect(status).to.deep.equal({
      state: "running",
      parts: [{ name: "worker", paused: false, detail: "taking batches from q" }],
      queue: { visible: 0, inFlight: 0, deadLetter: 0 },
    });
    expect(formatPipelineStatus(status)).to.equal(
      [
        "pipeline: running (not paused)",
        "  running  worker: taking batches from q",
        "  queue    0 message(s) (0 waiting, 0 in flight), 0 in the dead-letter queue",
      ].join("\n"),
    );
  });

  it("pause stops taking batches and records when and why; messages keep queueing, untouched", async () => {
    const worker = newWorker();
    const control = newControl(worker);
    worker.start();
    const result = await control.pause("budget over", AT);
    expect(result.alreadyPaused).to.equal(false);
    expect(result.changes).to.deep.equal([
      "worker: stopped taking batches from q",
      `pause recorded in ${file} at ${AT.toISOString()}: a restarted lab stays paused`,
    ]);
    expect(result.status).to.deep.include({ state: "paused", pausedAt: AT, reason: "budget over" });
    expect(JSON.parse(await fs.readFile(file, "utf8"))).to.deep.equal({
      pausedAt: AT.toISOString(),
      reason: "budget over",
    });
    for (let i = 0; i < 3; i++) await queue.send(`m${i}`);
    await sleep(300); // several poll intervals
    expect(handled).to.deep.equal([]);
    expect(queue.messages().map((m) => m.receiveCount)).to.deep.equal([0, 0, 0]);
    const status = await control.status();
    expect(status.queue).to.deep.equal({ visible: 3, inFlight: 0, deadLetter: 0 });
    expect(status.parts).to.deep.equal([
      { name: "worker", paused: true, detail: "not taking batches from q (recorded: a restarted lab stays paused)" },
    ]);
  });

  it("a second pause changes nothing and keeps the first time and reason", async () => {
    const worker = newWorker();
    const control = newControl(worker);
    worker.start();
    await control.pause("first", AT);
    const again = await control.pause("second", LATER);
    expect(again.alreadyPaused).to.equal(true);
    expect(again.changes).to.deep.equal([]);
    expect(again.status).to.deep.include({ state: "paused", pausedAt: AT, reason: "first" });
    expect(JSON.parse(await fs.readFile(file, "utf8")).reason).to.equal("first");
  });

  it("resume removes the record and the worker catches up; a second resume changes nothing", async () => {
    const worker = newWorker();
    const control = newControl(worker);
    worker.start();
    await control.pause("budget", AT);
    await queue.send("waiting 1");
    await queue.send("waiting 2");
    const result = await control.resume();
    expect(result.wasRunning).to.equal(false);
    expect(result.changes).to.deep.equal([
      `pause record ${file} removed`,
      "worker: taking batches from q again (2 message(s) waiting)",
    ]);
    expect(result.status.state).to.equal("running");
    expect(result.status).to.not.have.property("pausedAt");
    await fs.access(file).then(
      () => expect.fail("the record should be gone"),
      () => undefined,
    );
    await worker.drained(5_000);
    expect(handled).to.have.members(["waiting 1", "waiting 2"]);
    const again = await control.resume();
    expect(again).to.deep.include({ wasRunning: true, changes: [] });
  });

  it("a restarted lab (a new control on the same record) is paused before its worker takes anything", async () => {
    const first = newWorker();
    await newControl(first).pause("budget", AT);
    await first.stop();
    await queue.send("queued across the restart");

    const worker = newWorker();
    const control = newControl(worker); // before start(), as startLab does
    expect(worker.paused).to.equal(true);
    worker.start();
    await sleep(300);
    expect(handled).to.deep.equal([]);
    expect(await control.status()).to.deep.include({ state: "paused", pausedAt: AT, reason: "budget" });
    await control.resume();
    await worker.drained(5_000);
    expect(handled).to.deep.equal(["queued across the restart"]);
  });

  it("pause lets the batch in progress finish, and says so", async () => {
    let release = () => {};
    let finished = false;
    handler = async (e) => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      finished = true;
      handled.push(...e.Records.map((r) => r.body));
      return undefined;
    };
    const worker = newWorker();
    const control = newControl(worker);
    worker.start();
    await queue.send("in progress");
    await until("a batch to start", () => worker.busy === 1);
    const pausing = control.pause("budget", AT);
    await sleep(100);
    expect(finished).to.equal(false);
    release();
    const result = await pausing;
    expect(finished).to.equal(true);
    expect(result.changes[0]).to.equal("worker: stopped taking batches from q (1 batch in progress finished)");
    expect(queue.counts()).to.deep.equal({ visible: 0, inFlight: 0 });
  });

  it("waits for the batch in progress only so long, and says so", async () => {
    let release = () => {};
    handler = async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return undefined;
    };
    const worker = newWorker();
    const control = newControl(worker, { settleMs: 100 });
    worker.start();
    await queue.send("slow");
    await until("a batch to start", () => worker.busy === 1);
    const result = await control.pause("budget", AT);
    expect(result.changes[0]).to.equal(
      "worker: stopped taking batches from q (1 batch still running after 100 ms, finishing on its own)",
    );
    expect(result.status.parts[0].detail).to.contain("1 batch finishing");
    release();
    await worker.idle();
  });

  it("start --paused holds this run only; a pause then records it with its own reason", async () => {
    const worker = newWorker();
    const control = newControl(worker, { pausedForThisRun: { reason: FOR_THIS_RUN, at: AT } });
    expect(worker.paused).to.equal(true);
    worker.start();
    const status = await control.status();
    expect(status).to.deep.include({ state: "paused", pausedAt: AT, reason: FOR_THIS_RUN });
    expect(status.parts[0].detail).to.contain("this run only");
    expect(pausedNotice(status, dir)).to.match(/^The worker is paused for this run/);

    const result = await control.pause("budget", LATER);
    expect(result.alreadyPaused).to.equal(false);
    expect(result.changes).to.deep.equal([
      `pause recorded in ${file} at ${LATER.toISOString()}: a restarted lab stays paused`,
    ]);
    expect(result.status).to.deep.include({ state: "paused", pausedAt: LATER, reason: "budget" });
    expect(pausedNotice(result.status, dir)).to.match(
      /^The pipeline is PAUSED since 2026-03-14T09:00:00.000Z \(budget\)/,
    );
  });

  it("an unreadable record still counts as a pause (fail closed); resume removes it", async () => {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, "{ not json");
    const worker = newWorker();
    const control = newControl(worker);
    expect(worker.paused).to.equal(true);
    const status = await control.status();
    expect(status.state).to.equal("paused");
    expect(status.reason).to.contain("unreadable pause record");
    expect(status).to.not.have.property("pausedAt");
    const result = await control.resume();
    expect(result.status.state).to.equal("running");
  });

  it("a record with a running worker is 'partial'; pause or resume settles it", async () => {
    const worker = newWorker();
    const control = newControl(worker);
    worker.start();
    await control.pause("budget", AT);
    worker.resume(); // behind the control's back
    const status = await control.status();
    expect(status.state).to.equal("partial");
    expect(status.parts[0].detail).to.contain("a pause is recorded");
    expect(formatPipelineStatus(status)).to.match(/^pipeline: PARTLY PAUSED since 2026-03-14T06:15:00.000Z \(budget\)/);
    const result = await control.pause("again", LATER);
    expect(result.changes).to.deep.equal(["worker: stopped taking batches from q"]);
    expect(result.status).to.deep.include({ state: "paused", pausedAt: AT, reason: "budget" });
  });

  it("a record that cannot be written fails with a PipelineControlError naming the part; the worker stays held", async () => {
    await fs.writeFile(path.join(dir, "data"), "a file where the folder should be");
    const worker = newWorker();
    const control = newControl(worker);
    worker.start();
    const err = await control.pause("budget", AT).then(
      () => expect.fail("pause should fail"),
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(PipelineControlError);
    expect(err).to.include({ part: "pause record", transient: false });
    expect((err as Error).message).to.contain("a restarted lab would run");
    expect(worker.paused).to.equal(true);
    const status = await control.status();
    expect(status).to.deep.include({ state: "paused", reason: "budget", pausedAt: AT });
    expect(status.parts[0].detail).to.contain("this run only");
  });
});

describe("lab admin endpoints (without a lab)", () => {
  it("are not in the API's route table", () => {
    expect(ROUTE_TABLE.map((r) => r.routeKey).filter((k) => k.includes("_lab"))).to.deep.equal([]);
  });

  it("know loopback addresses", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"]) {
      expect(isLoopback(a), a).to.equal(true);
    }
    for (const a of ["10.0.0.1", "192.168.1.5", "::ffff:10.0.0.1", "fe80::1", "128.0.0.1", "", undefined]) {
      expect(isLoopback(a), String(a)).to.equal(false);
    }
  });

  it("refuse a client that is not on loopback, before looking at the token", async () => {
    const admin = createLabAdmin({
      token: "t".repeat(43),
      control: () => undefined,
      sink: discardSink,
      logger: new LabLogger({ serviceName: "lab" }, discardSink),
    });
    const req = Object.assign(Readable.from([]), {
      url: "/_lab/status",
      method: "GET",
      headers: { "x-lab-admin-token": "t".repeat(43) },
      socket: { remoteAddress: "192.168.1.5" },
    }) as unknown as IncomingMessage;
    const answer = new Promise<{ status: number; body: string }>((resolve) => {
      let status = 0;
      const res = {
        writeHead: (s: number) => {
          status = s;
        },
        end: (body: string) => resolve({ status, body }),
      } as unknown as ServerResponse;
      expect(admin(req, res)).to.equal(true);
    });
    const { status, body } = await answer;
    expect(status).to.equal(403);
    expect(JSON.parse(body).message).to.contain("loopback");
    // And other paths are left to the gateway.
    const other = { url: "/files", method: "GET", headers: {} } as unknown as IncomingMessage;
    expect(admin(other, {} as ServerResponse)).to.equal(false);
  });

  it("turn a message file into the SNS event the kill switch gets; an SNS event file is taken as is", () => {
    const text = budgetText();
    const wrapped = snsEventFromFile(text);
    expect(wrapped.Records).to.have.length(1);
    expect(wrapped.Records[0].Sns.Message).to.equal(text);
    expect(wrapped.Records[0].EventSource).to.equal("aws:sns");
    const event = snsEvent(text, "msg-1");
    expect(snsEventFromFile(JSON.stringify(event))).to.deep.equal(event);
    // A JSON budget message (no Records) is a message, not an event.
    const json = JSON.stringify({ BudgetName: "b", BudgetLimit: { Amount: "100" } });
    expect(snsEventFromFile(json).Records[0].Sns.Message).to.equal(json);
    expect(snsEventFor("x").Records[0].Sns.TopicArn).to.match(/^arn:aws:sns:us-east-1:\d{12}:lab-budget-alerts$/);
  });
});
