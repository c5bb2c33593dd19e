/**
 * The extractor against real ffprobe, embedded S3 (s3rver) and DynamoDB (dynalite):
 * delivery semantics (duplicates, order, removals), failure handling and raw output.
 */
import { readFileSync } from "node:fs";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { createExtractor, type Extractor } from "../../handlers/extractor/extractor";
import { resolveLocalFfprobe } from "../../handlers/extractor/ffprobe";
import { makeLabDynamoClient, makeLabS3Client } from "../../lab/clients";
import { listPartitionValues, listShardsFromEnv } from "../../lib/list-index";
import { METADATA_TABLE, type MetadataItem } from "../../lib/schema";
import { ensureMedia } from "../../media/media";
import { nextSequencer, s3EventBody, sqsEvent, sqsRecord } from "../../media/s3-events";
import { type EmbeddedAws, startEmbeddedAws } from "../helpers/embedded-aws";

/** Lines the extractor wrote to stdout (EMF metrics, JSON logs) during the last batch. */
let emitted: string[] = [];

/** Runs fn with stdout and stderr captured: Powertools writes EMF and logs there, as on Lambda. */
async function captureStdout<T>(fn: () => Promise<T>): Promise<T> {
  const out = process.stdout.write;
  const err = process.stderr.write;
  emitted = [];
  const capture = ((chunk: string | Uint8Array) => {
    emitted.push(...String(chunk).split("\n").filter(Boolean));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
  try {
    return await fn();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** False once a process has exited (a zombie waiting for a reaper counts as exited). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return !/^\d+ \(.*\) [ZX]/.test(stat);
}

describe("extractor (integration: real ffprobe, embedded S3 and DynamoDB)", function () {
  this.timeout(120_000);
  let aws: EmbeddedAws;
  let extractor: Extractor;
  let ffprobePath: string;
  let items: DynamoDBDocumentClient;

  before(async () => {
    [aws, ffprobePath] = await Promise.all([startEmbeddedAws(), resolveLocalFfprobe()]);
    extractor = make();
    items = DynamoDBDocumentClient.from(aws.dynamodb);
  });
  after(async () => aws?.stop());

  function make(
    overrides: { dynamodb?: DynamoDBClient; s3?: S3Client; ffprobePath?: string; probeTimeoutMs?: number } = {},
  ): Extractor {
    return quietly(
      createExtractor({
        s3: overrides.s3 ?? aws.s3,
        dynamodb: overrides.dynamodb ?? aws.dynamodb,
        tableName: aws.tableName,
        metadataBucket: aws.metadataBucket,
        ffprobePath: overrides.ffprobePath ?? ffprobePath,
        probeTimeoutMs: overrides.probeTimeoutMs,
        logger: new Logger({ serviceName: "extractor" }),
        metrics: new Metrics({ namespace: "MediaPipelineTest", serviceName: "extractor" }),
      }),
    );
  }

  /** The extractor, with its stdout captured into `emitted`. */
  function quietly(ex: Extractor): Extractor {
    return {
      handleBatch: (event) => captureStdout(() => ex.handleBatch(event)),
      handleChange: (change) => captureStdout(() => ex.handleChange(change)),
    };
  }

  async function upload(key: string, file: string): Promise<{ size: number; etag: string }> {
    const body = await fs.readFile(file);
    const res = await aws.s3.send(new PutObjectCommand({ Bucket: aws.ingestBucket, Key: key, Body: body }));
    return { size: body.length, etag: (res.ETag ?? "").replace(/"/g, "") };
  }

  function created(key: string, obj: { size: number; etag: string }, sequencer = nextSequencer()) {
    return sqsRecord(s3EventBody({ eventName: "ObjectCreated:Put", bucket: aws.ingestBucket, key, ...obj, sequencer }));
  }

  function removed(key: string, sequencer = nextSequencer(), eventName = "ObjectRemoved:Delete", versionId?: string) {
    return sqsRecord(s3EventBody({ eventName, bucket: aws.ingestBucket, key, sequencer, versionId }));
  }

  async function deleteObject(key: string): Promise<void> {
    await aws.s3.send(new DeleteObjectCommand({ Bucket: aws.ingestBucket, Key: key }));
  }

  async function item(key: string): Promise<MetadataItem | undefined> {
    const res = await items.send(
      new GetCommand({ TableName: aws.tableName, Key: { objectKey: key }, ConsistentRead: true }),
    );
    return res.Item as MetadataItem | undefined;
  }

  /** Keys listed in the index, every shard (lib/list-index.ts) read. */
  async function listedKeys(): Promise<string[]> {
    const idx = METADATA_TABLE.listIndex;
    const keys: string[] = [];
    for (const value of listPartitionValues(listShardsFromEnv())) {
      const res = await items.send(
        new QueryCommand({
          TableName: aws.tableName,
          IndexName: idx.name,
          KeyConditionExpression: "#p = :p",
          ExpressionAttributeNames: { "#p": idx.partitionKey.name },
          ExpressionAttributeValues: { ":p": value },
          ScanIndexForward: false,
        }),
      );
      keys.push(...(res.Items ?? []).map((i) => i.key as string));
    }
    return keys;
  }

  it("stores a document and the gzip'd full ffprobe JSON it points to", async () => {
    const obj = await upload("clips/first.mp4", await ensureMedia("mp4-moov-end"));
    const res = await extractor.handleBatch(sqsEvent(created("clips/first.mp4", obj)));
    expect(res.batchItemFailures).to.deep.equal([]);
    const doc = await item("clips/first.mp4");
    expect(doc).to.include({ status: "ok", kind: "video", bucket: aws.ingestBucket, size: obj.size, etag: obj.etag });
    expect(doc?.bytesRead).to.be.greaterThan(0);
    expect(doc?.raw?.bucket).to.equal(aws.metadataBucket);
    const raw = await aws.s3.send(new GetObjectCommand({ Bucket: aws.metadataBucket, Key: doc?.raw?.key }));
    const json = JSON.parse(
      (
        await promisify(gunzip)(
          Buffer.from(await (raw.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()),
        )
      ).toString(),
    );
    expect(json.streams.map((s: { codec_type: string }) => s.codec_type)).to.have.members(["video", "audio"]);
    expect(await listedKeys()).to.include("clips/first.mp4");
    // Structured JSON log with the key, and EMF metrics for outcome, probe time, bytes read and exit code.
    const records = emitted.map((l) => JSON.parse(l));
    expect(records.find((r) => r.message === "object processed")).to.include({ key: "clips/first.mp4", outcome: "ok" });
    const emf = records.filter((r) => r._aws?.CloudWatchMetrics);
    const names = emf.flatMap((r) =>
      r._aws.CloudWatchMetrics.flatMap((m: { Metrics: { Name: string }[] }) => m.Metrics.map((x) => x.Name)),
    );
    expect(names).to.include.members(["Objects", "ProbeTime", "BytesRead", "FfprobeRuns"]);
    expect(emf.find((r) => r.Outcome)?.Outcome).to.equal("ok");
    expect(emf.find((r) => r.FfprobeExit !== undefined)?.FfprobeExit).to.equal("0");
  });

  it("changes nothing when the same event is delivered three times", async () => {
    const obj = await upload("dup.wav", await ensureMedia("wav"));
    const seq = nextSequencer();
    const first = await extractor.handleBatch(sqsEvent(created("dup.wav", obj, seq)));
    const before = await item("dup.wav");
    const again = await extractor.handleBatch(sqsEvent(created("dup.wav", obj, seq), created("dup.wav", obj, seq)));
    expect(first.batchItemFailures).to.deep.equal([]);
    expect(again.batchItemFailures).to.deep.equal([]);
    expect(await item("dup.wav")).to.deep.equal(before);
  });

  it("never lets an older event overwrite a newer one", async () => {
    const wav = await ensureMedia("wav");
    const flac = await ensureMedia("flac");
    const older = nextSequencer();
    const v1 = await upload("order.audio", wav);
    const newer = nextSequencer();
    const v2 = await upload("order.audio", flac);
    // The newer event arrives first, the older one late.
    await extractor.handleBatch(sqsEvent(created("order.audio", v2, newer)));
    await extractor.handleBatch(sqsEvent(created("order.audio", v1, older)));
    const doc = await item("order.audio");
    expect(doc?.etag).to.equal(v2.etag);
    expect(doc?.container?.format).to.equal("flac");
  });

  it("skips an event whose object has since been replaced, and lets the newer event describe it", async () => {
    const v1 = await upload("replaced.bin", await ensureMedia("wav"));
    const v2 = await upload("replaced.bin", await ensureMedia("flac"));
    const s1 = nextSequencer();
    const s2 = nextSequencer();
    await extractor.handleBatch(sqsEvent(created("replaced.bin", v1, s1)));
    expect(await item("replaced.bin")).to.equal(undefined); // v1's bytes are gone: nothing written from them
    await extractor.handleBatch(sqsEvent(created("replaced.bin", v2, s2)));
    expect((await item("replaced.bin"))?.etag).to.equal(v2.etag);
  });

  it("removes the document on delete, and a late older create cannot bring it back", async () => {
    const obj = await upload("bye.wav", await ensureMedia("wav"));
    const createSeq = nextSequencer();
    const deleteSeq = nextSequencer();
    await extractor.handleBatch(sqsEvent(created("bye.wav", obj, createSeq)));
    expect(await listedKeys()).to.include("bye.wav");
    await deleteObject("bye.wav"); // S3 sends the event after the object is gone
    await extractor.handleBatch(sqsEvent(removed("bye.wav", deleteSeq)));
    const tomb = await item("bye.wav");
    expect(tomb).to.include({ deleted: true });
    expect(tomb).not.to.have.property("listPartition");
    expect(tomb).not.to.have.property("streams");
    expect(tomb?.expiresAt).to.be.a("number");
    expect(await listedKeys()).not.to.include("bye.wav");
    // The create is delivered again after the delete (at-least-once, out of order).
    await extractor.handleBatch(sqsEvent(created("bye.wav", obj, createSeq)));
    expect(await item("bye.wav")).to.include({ deleted: true });
  });

  // Versioned buckets and lifecycle rules: removal-like events decided from the current object
  // (S3 user guide, "Event notification types and destinations", "Configuring S3 Lifecycle
  // event notifications"). The embedded S3 has no versions, so the object's presence stands
  // for "a current version exists" and the events are shaped as S3 sends them.
  it("keeps the document when a noncurrent version is deleted for good (ObjectRemoved:Delete with a versionId)", async () => {
    const obj = await upload("versions/keep.wav", await ensureMedia("wav"));
    await extractor.handleBatch(sqsEvent(created("versions/keep.wav", obj)));
    const before = await item("versions/keep.wav");
    const res = await extractor.handleBatch(
      sqsEvent(removed("versions/keep.wav", nextSequencer(), "ObjectRemoved:Delete", "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd")),
    );
    expect(res.batchItemFailures).to.deep.equal([]);
    const after = await item("versions/keep.wav");
    expect(after).to.not.have.property("deleted");
    expect(after).to.include({ status: "ok", etag: obj.etag, sequencer: before?.sequencer });
    expect(await listedKeys()).to.include("versions/keep.wav");
    expect(emitted.some((l) => l.includes('"outcome":"still-present"'))).to.equal(true);
  });

  it("probes an undeleted object again: a delete marker's removal makes it current with no ObjectCreated event", async () => {
    const file = await ensureMedia("wav");
    const obj = await upload("versions/undelete.wav", file);
    await extractor.handleBatch(sqsEvent(created("versions/undelete.wav", obj)));
    // A delete marker becomes current: the object reads as gone.
    await deleteObject("versions/undelete.wav");
    await extractor.handleBatch(
      sqsEvent(removed("versions/undelete.wav", nextSequencer(), "ObjectRemoved:DeleteMarkerCreated", "dm-1")),
    );
    expect(await item("versions/undelete.wav")).to.include({ deleted: true });
    expect(await listedKeys()).to.not.include("versions/undelete.wav");
    // The marker is removed: the older version is current again, and S3 reports only ObjectRemoved:Delete.
    await upload("versions/undelete.wav", file);
    const undeleteSeq = nextSequencer();
    const res = await extractor.handleBatch(
      sqsEvent(removed("versions/undelete.wav", undeleteSeq, "ObjectRemoved:Delete", "dm-1")),
    );
    expect(res.batchItemFailures).to.deep.equal([]);
    const doc = await item("versions/undelete.wav");
    expect(doc).to.not.have.property("deleted");
    expect(doc).to.include({ status: "ok", kind: "audio", etag: obj.etag, size: obj.size });
    expect(doc?.sequencer?.startsWith(undeleteSeq)).to.equal(true);
    expect(await listedKeys()).to.include("versions/undelete.wav");
  });

  it("removes the document of an object a lifecycle rule expired (s3:LifecycleExpiration:Delete)", async () => {
    const obj = await upload("lab/expired.wav", await ensureMedia("wav"));
    await extractor.handleBatch(sqsEvent(created("lab/expired.wav", obj)));
    await deleteObject("lab/expired.wav");
    const res = await extractor.handleBatch(
      sqsEvent(removed("lab/expired.wav", nextSequencer(), "LifecycleExpiration:Delete")),
    );
    expect(res.batchItemFailures).to.deep.equal([]);
    expect(await item("lab/expired.wav")).to.include({ deleted: true });
    expect(await listedKeys()).to.not.include("lab/expired.wav");
  });

  it("keeps the document when a lifecycle rule expires only a noncurrent version", async () => {
    const obj = await upload("lab/noncurrent.wav", await ensureMedia("wav"));
    await extractor.handleBatch(sqsEvent(created("lab/noncurrent.wav", obj)));
    await extractor.handleBatch(
      sqsEvent(removed("lab/noncurrent.wav", nextSequencer(), "LifecycleExpiration:Delete", "old-version-1")),
    );
    expect(await item("lab/noncurrent.wav"))
      .to.include({ status: "ok" })
      .and.not.have.property("deleted");
    expect(await listedKeys()).to.include("lab/noncurrent.wav");
  });

  it("keeps keys with spaces, '+' and non-Latin scripts exact", async () => {
    const wav = await ensureMedia("wav");
    for (const key of ["my holiday clip.wav", "a+b=c&d.wav", "映像/видео クリップ 1.wav", "emoji 🎬 (final).WAV"]) {
      const obj = await upload(key, wav);
      const res = await extractor.handleBatch(sqsEvent(created(key, obj)));
      expect(res.batchItemFailures, key).to.deep.equal([]);
      expect((await item(key))?.status, key).to.equal("ok");
    }
  });

  // Changed on purpose (issue 14): throttled writes are now retried inside the invocation
  // (handlers/extractor/retry.ts); only throttling that outlasts the invocation fails the record.
  it("absorbs a throttling burst in the invocation; one that outlasts it fails only that record, which succeeds on redelivery", async () => {
    const throttled = makeLabDynamoClient(aws.dynamoEndpoint);
    let failures = 2;
    // Before the SDK's own retry middleware, so the handler sees the throttle as the SDK would after giving up.
    throttled.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "PutItemCommand" && failures > 0) {
          failures -= 1;
          throw Object.assign(new Error("Rate of requests exceeds the allowed throughput."), {
            name: "ProvisionedThroughputExceededException",
            $metadata: { httpStatusCode: 400 },
          });
        }
        return next(args);
      },
      { step: "initialize", name: "injectThrottle" },
    );
    const flaky = make({ dynamodb: throttled });
    const wav = await ensureMedia("wav");
    const burst = await upload("throttle-burst.wav", wav);
    const absorbed = await flaky.handleBatch(sqsEvent(created("throttle-burst.wav", burst)));
    expect(absorbed.batchItemFailures).to.deep.equal([]);
    expect(failures, "both throttles happened").to.equal(0);
    expect((await item("throttle-burst.wav"))?.status).to.equal("ok");

    const a = await upload("throttle-a.wav", wav);
    const b = await upload("throttle-b.wav", wav);
    const recA = created("throttle-a.wav", a);
    const recB = created("throttle-b.wav", b);
    failures = Number.MAX_SAFE_INTEGER; // throttled for the whole (short) invocation
    const first = await flaky.handleBatch(sqsEvent(recA), { getRemainingTimeInMillis: () => 8_000 });
    expect(first.batchItemFailures).to.deep.equal([{ itemIdentifier: recA.messageId }]);
    expect(await item("throttle-a.wav")).to.equal(undefined);
    failures = 0;
    const retry = await flaky.handleBatch(
      sqsEvent({ ...recA, attributes: { ...recA.attributes, ApproximateReceiveCount: "2" } }, recB),
    );
    expect(retry.batchItemFailures).to.deep.equal([]);
    expect((await item("throttle-a.wav"))?.status).to.equal("ok");
    expect((await item("throttle-b.wav"))?.status).to.equal("ok");
    throttled.destroy();
  });

  it("retries when S3 fails mid-probe instead of calling the object unprocessable", async () => {
    const flakyS3 = makeLabS3Client(aws.s3Endpoint);
    flakyS3.middlewareStack.add(
      () => async () => {
        throw Object.assign(new Error("Please reduce your request rate."), {
          name: "SlowDown",
          $metadata: { httpStatusCode: 503 },
        });
      },
      { step: "initialize", name: "alwaysSlowDown" },
    );
    const obj = await upload("slow.wav", await ensureMedia("wav"));
    const rec = created("slow.wav", obj);
    const res = await make({ s3: flakyS3 }).handleBatch(sqsEvent(rec));
    expect(res.batchItemFailures).to.deep.equal([{ itemIdentifier: rec.messageId }]);
    expect(await item("slow.wav")).to.equal(undefined);
    flakyS3.destroy();
  });

  it("kills an ffprobe that hangs and stores the object as unprocessable with the reason", async () => {
    // A stand-in for an ffprobe stuck on corrupt input: ignores SIGTERM, and its child sleeps too.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "hang-"));
    const pidFile = path.join(dir, "pids");
    const fake = path.join(dir, "ffprobe");
    await fs.writeFile(fake, `#!/bin/sh\ntrap '' TERM\nsleep 60 &\necho $$ $! > ${pidFile}\nwait\n`, { mode: 0o755 });
    const obj = await upload("hangs.mp4", await ensureMedia("wav"));
    const started = Date.now();
    const res = await make({ ffprobePath: fake, probeTimeoutMs: 500 }).handleBatch(sqsEvent(created("hangs.mp4", obj)));
    expect(Date.now() - started).to.be.lessThan(10_000);
    expect(res.batchItemFailures).to.deep.equal([]);
    const doc = await item("hangs.mp4");
    expect(doc).to.include({ status: "unprocessable" });
    expect(doc?.reason).to.match(/did not finish within 500 ms and was killed/);
    // The whole process group is gone, not just signalled (the fake ignores SIGTERM).
    const pids = (await fs.readFile(pidFile, "utf8")).trim().split(/\s+/).map(Number);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const pid of pids) expect(isRunning(pid), `pid ${pid} still running`).to.equal(false);
  });

  it("stores an empty object as unprocessable without probing", async () => {
    const res = await aws.s3.send(
      new PutObjectCommand({ Bucket: aws.ingestBucket, Key: "empty.mp4", Body: Buffer.alloc(0) }),
    );
    await extractor.handleBatch(sqsEvent(created("empty.mp4", { size: 0, etag: (res.ETag ?? "").replace(/"/g, "") })));
    const doc = await item("empty.mp4");
    expect(doc).to.include({ status: "unprocessable", reason: "the object is empty (0 bytes)", bytesRead: 0 });
  });

  it("sends a malformed message to the retry/dead-letter path without touching the table", async () => {
    const rec = sqsRecord("this is not an S3 notification");
    const res = await extractor.handleBatch(sqsEvent(rec));
    expect(res.batchItemFailures).to.deep.equal([{ itemIdentifier: rec.messageId }]);
  });

  it("ignores s3:TestEvent", async () => {
    const rec = sqsRecord(
      JSON.stringify({
        Service: "Amazon S3",
        Event: "s3:TestEvent",
        Time: new Date().toISOString(),
        Bucket: aws.ingestBucket,
      }),
    );
    expect((await extractor.handleBatch(sqsEvent(rec))).batchItemFailures).to.deep.equal([]);
  });
});
