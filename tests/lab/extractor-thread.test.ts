/**
 * The lab handles the queue's batches in a thread of its own (lab/extractor-thread.ts), so the
 * stand-ins (s3rver, dynalite, the queue) keep the main thread to themselves: no ffprobe is
 * spawned from the main thread (libuv's spawn blocks the loop that calls it), the documents are
 * written as before, and the extractor's log lines still reach the lab's log.
 */
import * as childProcess from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { makeLabS3Client } from "../../lab/clients";
import { type Lab, labPaths, startLab } from "../../lab/lab";
import { METADATA_TABLE } from "../../lib/schema";
import { ensureMedia } from "../../media/media";

describe("lab extractor thread", function () {
  this.timeout(120_000);
  let dir: string;
  let lab: Lab | undefined;
  let s3: S3Client | undefined;
  // Builtin modules are per thread: ChildProcess of this (the main) thread sees only its own spawns.
  const proto = childProcess.ChildProcess.prototype as { spawn(options: { file: string }): unknown };
  const realSpawn = proto.spawn;
  let mainThreadSpawns: string[] = [];

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-lab-thread-"));
    proto.spawn = function (this: unknown, options: { file: string }) {
      mainThreadSpawns.push(options.file);
      return realSpawn.call(this, options);
    };
  });
  after(async () => {
    proto.spawn = realSpawn;
    s3?.destroy();
    await lab?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("probes the queue's objects outside the main thread and logs them to the lab's log", async () => {
    lab = await startLab({ dir, quiet: true, queue: { retryBackoff: { baseMs: 100 }, pollWaitMs: 200 } });
    s3 = makeLabS3Client(lab.endpoints.s3Endpoint);
    mainThreadSpawns = [];
    const keys = ["thread/a.gif", "thread/b.flac"];
    const bodies = [await fs.readFile(await ensureMedia("gif")), await fs.readFile(await ensureMedia("flac"))];
    for (const [i, key] of keys.entries()) {
      await s3.send(new PutObjectCommand({ Bucket: lab.endpoints.ingestBucket, Key: key, Body: bodies[i] }));
    }
    await lab.worker.drained(90_000);

    for (const key of keys) {
      const item = await lab.dynamodb.send(
        new GetItemCommand({
          TableName: lab.endpoints.tableName,
          Key: { [METADATA_TABLE.partitionKey.name]: { S: key } },
          ConsistentRead: true,
        }),
      );
      expect(item.Item?.status?.S, key).to.equal("ok");
    }
    expect(mainThreadSpawns, "processes spawned from the main thread").to.deep.equal([]);
    await lab.stop();
    const log = await fs.readFile(labPaths(dir).log, "utf8");
    const processed = log
      .split("\n")
      .filter((l) => l.includes('"object processed"'))
      .map((l) => JSON.parse(l) as { key: string; service: string; outcome: string });
    for (const key of keys) {
      expect(processed.find((p) => p.key === key)).to.include({ service: "extractor", outcome: "ok" });
    }
  });
});
