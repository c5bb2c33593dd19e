/**
 * The backfill's processing against real ffprobe, embedded S3 and DynamoDB: how its
 * compare-and-swap writes interleave with event-driven writes (neither ever overwrites
 * something newer), the Step Functions batch handler, and the removal of orphaned documents.
 */
import * as fs from "node:fs/promises";
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { backfillChange, backfillPage } from "../../handlers/backfill/backfill";
import { decide, type ObjectListing } from "../../handlers/backfill/select";
import {
  BackfillItemsFailedError,
  createBackfillBatchHandler,
  type ItemReaderObject,
} from "../../handlers/backfill/step-functions";
import { createExtractor, type Extractor } from "../../handlers/extractor/extractor";
import { resolveLocalFfprobe } from "../../handlers/extractor/ffprobe";
import { isBackfillSequencer, normalizeSequencer } from "../../handlers/extractor/s3-event";
import { MetadataStore } from "../../handlers/extractor/store";
import { discardSink, LabLogger, LabMetrics } from "../../lab/log";
import { EXTRACTOR_VERSION, type MetadataItem } from "../../lib/schema";
import { ensureMedia } from "../../media/media";
import { nextSequencer, s3EventBody, sqsEvent, sqsRecord } from "../../media/s3-events";
import { type EmbeddedAws, startEmbeddedAws } from "../helpers/embedded-aws";

describe("backfill processing (integration: real ffprobe, embedded S3 and DynamoDB)", function () {
  this.timeout(120_000);
  let aws: EmbeddedAws;
  let extractor: Extractor;
  let store: MetadataStore;
  let items: DynamoDBDocumentClient;
  let wav: Buffer;
  let wav2: Buffer;

  before(async () => {
    const [env, ffprobePath] = await Promise.all([startEmbeddedAws(), resolveLocalFfprobe()]);
    aws = env;
    extractor = createExtractor({
      s3: aws.s3,
      dynamodb: aws.dynamodb,
      tableName: aws.tableName,
      metadataBucket: aws.metadataBucket,
      ffprobePath,
      logger: new LabLogger({ serviceName: "backfill-test" }, discardSink),
      metrics: new LabMetrics({ namespace: "MediaPipelineTest", serviceName: "backfill-test" }, discardSink),
    });
    store = new MetadataStore(aws.dynamodb, aws.tableName, aws.s3, aws.metadataBucket);
    items = DynamoDBDocumentClient.from(aws.dynamodb);
    wav = await fs.readFile(await ensureMedia("wav"));
    wav2 = Buffer.from(wav);
    wav2[wav2.length - 1] ^= 0xff; // another PCM sample: same kind of file, another ETag
  });
  after(async () => aws?.stop());

  async function upload(key: string, body: Buffer): Promise<ObjectListing> {
    const res = await aws.s3.send(new PutObjectCommand({ Bucket: aws.ingestBucket, Key: key, Body: body }));
    return { key, size: body.length, etag: (res.ETag ?? "").replace(/"/g, ""), lastModified: new Date().toISOString() };
  }

  async function event(o: ObjectListing, sequencer = nextSequencer()) {
    const rec = sqsRecord(
      s3EventBody({
        eventName: "ObjectCreated:Put",
        bucket: aws.ingestBucket,
        key: o.key,
        size: o.size,
        etag: o.etag,
        sequencer,
      }),
    );
    const res = await extractor.handleBatch(sqsEvent(rec));
    expect(res.batchItemFailures).to.deep.equal([]);
    return normalizeSequencer(sequencer);
  }

  async function item(key: string): Promise<MetadataItem | undefined> {
    const res = await items.send(
      new GetCommand({ TableName: aws.tableName, Key: { objectKey: key }, ConsistentRead: true }),
    );
    return res.Item as MetadataItem | undefined;
  }

  async function setVersion(key: string, version: string): Promise<void> {
    await items.send(
      new UpdateCommand({
        TableName: aws.tableName,
        Key: { objectKey: key },
        UpdateExpression: "SET extractorVersion = :v",
        ExpressionAttributeValues: { ":v": version },
      }),
    );
  }

  const deps = () => ({ extractor, store, bucket: aws.ingestBucket });

  it("creates a missing document under a sequencer that any later event of the key replaces", async () => {
    const o = await upload("bf/missing.wav", wav);
    const [r] = await backfillPage(deps(), [o]);
    expect(r).to.deep.include({ key: o.key, status: "processed", reason: "missing", outcome: "ok" });
    const written = await item(o.key);
    expect(written).to.include({ status: "ok", etag: o.etag, extractorVersion: EXTRACTOR_VERSION });
    expect(isBackfillSequencer(written?.sequencer ?? "")).to.equal(true);
    // The object's own (late) event still lands: real sequencers sort after the backfill's.
    const seq = await event(o);
    expect((await item(o.key))?.sequencer).to.equal(seq);
    // A second backfill has nothing to do.
    const [again] = await backfillPage(deps(), [o]);
    expect(again).to.deep.include({ status: "skipped", reason: "up-to-date" });
  });

  it("re-processes an outdated document once, keeping its sequencer, so event order still holds", async () => {
    const o = await upload("bf/outdated.wav", wav);
    const seq = await event(o);
    const before = await item(o.key);
    await setVersion(o.key, "0.9.0");
    const [r] = await backfillPage(deps(), [o]);
    expect(r).to.deep.include({ status: "processed", reason: "outdated" });
    const after = await item(o.key);
    expect(after).to.include({ sequencer: seq, extractorVersion: EXTRACTOR_VERSION, etag: o.etag });
    expect(after?.raw?.key).to.not.equal(before?.raw?.key); // the old raw JSON is never overwritten
    // A duplicate of the old event changes nothing; a newer one replaces the document.
    const dup = await extractor.handleBatch(
      sqsEvent(
        sqsRecord(
          s3EventBody({
            eventName: "ObjectCreated:Put",
            bucket: aws.ingestBucket,
            key: o.key,
            size: o.size,
            etag: o.etag,
            sequencer: seq,
          }),
        ),
      ),
    );
    expect(dup.batchItemFailures).to.deep.equal([]);
    expect((await item(o.key))?.processedAt).to.equal(after?.processedAt);
    const [second] = await backfillPage(deps(), [o]);
    expect(second).to.deep.include({ status: "skipped", reason: "up-to-date" });
  });

  it("never overwrites a document an event wrote after the selection", async () => {
    const o = await upload("bf/race.wav", wav);
    await event(o);
    await setVersion(o.key, "0.9.0");
    const selected = decide(o, (await store.currentVersions([o.key])).get(o.key), {
      extractorVersion: EXTRACTOR_VERSION,
    });
    expect(selected.action).to.equal("process");
    // Meanwhile: the object is replaced and its event processed.
    const o2 = await upload(o.key, wav2);
    const seq2 = await event(o2);
    const res = await extractor.handleChange(backfillChange(aws.ingestBucket, o, selected as never));
    expect(res.outcome).to.equal("not-newer");
    expect(await item(o.key)).to.include({ sequencer: seq2, etag: o2.etag });
    // And the store's write alone refuses it too (the item changed between check and put).
    const stale = {
      sequencer: selected.action === "process" ? (selected.expected?.sequencer ?? "") : "",
      etag: o.etag,
      extractorVersion: "0.9.0",
    };
    const current = await item(o.key);
    expect(await store.putBackfillDocument({ ...(current as MetadataItem), etag: "zzz" }, stale)).to.equal("not-newer");
    expect((await item(o.key))?.etag).to.equal(o2.etag);
  });

  it("calls an object replaced since the listing 'changed' and leaves it to its event", async () => {
    const listed = await upload("bf/replaced.wav", wav);
    await upload(listed.key, wav2); // no event processed yet for either
    const [r] = await backfillPage(deps(), [listed]);
    expect(r).to.deep.include({ status: "changed", outcome: "superseded" });
    expect(await item(listed.key)).to.equal(undefined);
  });

  it("fixes a stale document and a tombstone whose object exists again; later events still order", async () => {
    const a = await upload("bf/stale.wav", wav);
    const seqA = await event(a);
    const a2 = await upload(a.key, wav2); // its event is lost
    // Deleted (the extractor sees it gone and writes a tombstone), then uploaded again: that event is lost.
    const seqB = normalizeSequencer(nextSequencer());
    await extractor.handleBatch(
      sqsEvent(
        sqsRecord(
          s3EventBody({
            eventName: "ObjectRemoved:Delete",
            bucket: aws.ingestBucket,
            key: "bf/recreated.wav",
            sequencer: seqB,
          }),
        ),
      ),
    );
    expect((await item("bf/recreated.wav"))?.deleted).to.equal(true);
    const b = await upload("bf/recreated.wav", wav);
    const results = await backfillPage(deps(), [a2, b]);
    expect(results.map((r) => [r.key, r.status, r.reason])).to.deep.equal([
      [a.key, "processed", "stale"],
      [b.key, "processed", "missing"],
    ]);
    expect(await item(a.key)).to.include({ etag: a2.etag, sequencer: seqA, status: "ok" });
    expect(await item(b.key)).to.include({ etag: b.etag, sequencer: seqB, status: "ok" });
    expect((await item(b.key))?.deleted).to.equal(undefined);
  });

  it("re-processes only outdated documents with onlyOutdated", async () => {
    const m = await upload("bf/only-missing.wav", wav);
    const o = await upload("bf/only-outdated.wav", wav);
    await event(o);
    await setVersion(o.key, "0.1.0");
    const results = await backfillPage(deps(), [m, o], { onlyOutdated: true });
    expect(results.map((r) => [r.status, r.reason])).to.deep.equal([
      ["skipped", "not-outdated"],
      ["processed", "outdated"],
    ]);
    expect(await item(m.key)).to.equal(undefined);
  });

  it("removes an orphaned document with a tombstone only while its object is absent", async () => {
    const o = await upload("bf/orphan.wav", wav);
    const seq = await event(o);
    await aws.s3.send(new DeleteObjectCommand({ Bucket: aws.ingestBucket, Key: o.key })); // its event is lost
    const expected = { sequencer: seq, etag: o.etag, extractorVersion: EXTRACTOR_VERSION };
    const removal = {
      action: "removed" as const,
      eventName: "ObjectRemoved:Reconcile",
      eventTime: new Date().toISOString(),
      bucket: aws.ingestBucket,
      key: o.key,
      size: 0,
      sequencer: seq,
      backfill: { expected },
    };
    const still = await upload("bf/not-orphan.wav", wav);
    const seqStill = await event(still);
    expect(
      (
        await extractor.handleChange({
          ...removal,
          key: still.key,
          sequencer: seqStill,
          backfill: { expected: { ...expected, sequencer: seqStill } },
        })
      ).outcome,
    ).to.equal("superseded");
    expect((await extractor.handleChange(removal)).outcome).to.equal("removed");
    expect(await item(o.key)).to.include({ deleted: true, sequencer: seq });
    expect((await extractor.handleChange(removal)).outcome).to.equal("not-newer");
    // A new object under the key: its event replaces the tombstone.
    const o2 = await upload(o.key, wav2);
    await event(o2);
    expect(await item(o.key)).to.include({ status: "ok", etag: o2.etag });
  });

  describe("Step Functions batch handler", () => {
    const asItem = (o: ObjectListing): ItemReaderObject => ({
      Key: o.key,
      Size: o.size,
      Etag: `"${o.etag}"`,
      LastModified: Math.floor(Date.now() / 1000),
      StorageClass: "STANDARD",
    });

    it("processes a batch of ItemReader items and returns one result per item", async () => {
      const a = await upload("sfn/a.wav", wav);
      const b = await upload("sfn/b.wav", wav2);
      await event(b);
      const handler = createBackfillBatchHandler({ extractor, store });
      const out = await handler({ Items: [a, b].map(asItem), BatchInput: { bucket: aws.ingestBucket } });
      expect(out.extractorVersion).to.equal(EXTRACTOR_VERSION);
      expect(out.results.map((r) => [r.key, r.status])).to.deep.equal([
        ["sfn/a.wav", "processed"],
        ["sfn/b.wav", "skipped"],
      ]);
      expect(out.summary).to.deep.include({ listed: 2, processed: 1, skipped: 1, failed: 0 });
    });

    it("throws BackfillItemsFailed after the batch when items failed, unless told to tolerate them", async () => {
      const a = await upload("sfn/throttled.wav", wav);
      const throttled = {
        currentVersions: async () => {
          throw Object.assign(new Error("Rate of requests exceeds the allowed throughput."), {
            name: "ProvisionedThroughputExceededException",
            $metadata: { httpStatusCode: 400 },
          });
        },
      };
      const handler = createBackfillBatchHandler({ extractor, store: throttled, bucket: aws.ingestBucket });
      let thrown: unknown;
      await handler({ Items: [asItem(a)] }).catch((err) => {
        thrown = err;
      });
      expect(thrown).to.be.instanceOf(BackfillItemsFailedError);
      expect((thrown as Error).name).to.equal("BackfillItemsFailed");
      expect((thrown as BackfillItemsFailedError).result.results[0]).to.include({ status: "failed", transient: true });
      const tolerated = await handler({ Items: [asItem(a)], BatchInput: { tolerateItemFailures: true } });
      expect(tolerated.summary.failed).to.equal(1);
      // A retry with the real store does it.
      const ok = await createBackfillBatchHandler({ extractor, store, bucket: aws.ingestBucket })({
        Items: [asItem(a)],
      });
      expect(ok.summary.processed).to.equal(1);
    });
  });
});
