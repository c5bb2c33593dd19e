/**
 * What the soak test found about slow and failing S3 reads: when ffprobe gives up because S3
 * answers too slowly, the object is not called unprocessable (the message is retried); and
 * when S3 fails or the object changes after the first windows, ffprobe is stopped at once
 * instead of reconnecting until the probe's deadline.
 */
import * as fs from "node:fs/promises";
import { Readable } from "node:stream";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { createExtractor } from "../../handlers/extractor/extractor";
import { resolveLocalFfprobe } from "../../handlers/extractor/ffprobe";
import { probeSource } from "../../handlers/extractor/probe-in-place";
import { ObjectChangedError } from "../../handlers/extractor/range-proxy";
import { makeLabS3Client } from "../../lab/clients";
import { discardSink, LabLogger, LabMetrics } from "../../lab/log";
import { ensureMedia } from "../../media/media";
import { s3EventBody, sqsEvent, sqsRecord } from "../../media/s3-events";
import { type EmbeddedAws, startEmbeddedAws } from "../helpers/embedded-aws";

describe("extractor: stalled S3 reads (integration)", function () {
  this.timeout(60_000);
  let aws: EmbeddedAws;
  let ffprobePath: string;

  before(async () => {
    [aws, ffprobePath] = await Promise.all([startEmbeddedAws(), resolveLocalFfprobe()]);
  });
  after(async () => aws?.stop());

  /** An extractor whose first `stalls` GetObject calls wait `stallMs` before going out. */
  function extractorWithStalls(stalls: number, stallMs: number, probeTimeoutMs: number) {
    const s3 = makeLabS3Client(aws.s3Endpoint);
    let left = stalls;
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "GetObjectCommand" && left > 0) {
          left -= 1;
          await new Promise((resolve) => setTimeout(resolve, stallMs));
        }
        return next(args);
      },
      { step: "initialize", name: "stallGetObject" },
    );
    const extractor = createExtractor({
      s3,
      dynamodb: aws.dynamodb,
      tableName: aws.tableName,
      metadataBucket: aws.metadataBucket,
      ffprobePath,
      probeTimeoutMs,
      logger: new LabLogger({ serviceName: "stall-test" }, discardSink),
      metrics: new LabMetrics({ namespace: "MediaPipelineTest", serviceName: "stall-test" }, discardSink),
    });
    return { extractor, destroy: () => s3.destroy() };
  }

  async function uploadWav(key: string) {
    const body = await fs.readFile(await ensureMedia("wav"));
    const res = await aws.s3.send(new PutObjectCommand({ Bucket: aws.ingestBucket, Key: key, Body: body }));
    return sqsRecord(
      s3EventBody({
        eventName: "ObjectCreated:Put",
        bucket: aws.ingestBucket,
        key,
        size: body.length,
        etag: (res.ETag ?? "").replace(/"/g, ""),
      }),
    );
  }

  async function item(key: string) {
    const res = await DynamoDBDocumentClient.from(aws.dynamodb).send(
      new GetCommand({ TableName: aws.tableName, Key: { objectKey: key }, ConsistentRead: true }),
    );
    return res.Item;
  }

  it("retries the message when ffprobe gave up while an S3 read was stalled, and succeeds once S3 answers", async () => {
    const rec = await uploadWav("stall/slow.wav");
    const stalled = extractorWithStalls(1, 3_000, 1_500);
    const first = await stalled.extractor.handleBatch(sqsEvent(rec));
    expect(first.batchItemFailures).to.deep.equal([{ itemIdentifier: rec.messageId }]);
    expect(await item("stall/slow.wav")).to.equal(undefined);
    // The redelivery, with S3 answering normally.
    const second = await stalled.extractor.handleBatch(sqsEvent(rec));
    expect(second.batchItemFailures).to.deep.equal([]);
    expect(await item("stall/slow.wav")).to.include({ status: "ok" });
    stalled.destroy();
  });

  it("keeps a probe that succeeded despite a slow read", async () => {
    const rec = await uploadWav("stall/late.wav");
    const slow = extractorWithStalls(1, 800, 20_000);
    const res = await slow.extractor.handleBatch(sqsEvent(rec));
    expect(res.batchItemFailures).to.deep.equal([]);
    expect(await item("stall/late.wav")).to.include({ status: "ok" });
    slow.destroy();
  });

  for (const failure of ["the object changed", "S3 failed"] as const) {
    it(`stops ffprobe at once when ${failure} after the first window (it would reconnect until the deadline)`, async () => {
      const body = await fs.readFile(await ensureMedia("wav"));
      let reads = 0;
      const started = Date.now();
      const run = await probeSource(
        {
          size: body.length,
          read: async (start, end) => {
            reads += 1;
            if (reads > 1) {
              throw failure === "the object changed"
                ? new ObjectChangedError("replaced")
                : Object.assign(new Error("We encountered an internal error."), {
                    name: "InternalError",
                    $metadata: { httpStatusCode: 500 },
                  });
            }
            return { body: Readable.from([body.subarray(start, end + 1)]) };
          },
        },
        { ffprobePath, timeoutMs: 20_000 },
      );
      expect(Date.now() - started).to.be.lessThan(3_000);
      expect(run.timedOut).to.equal(false);
      expect(run.exitCode).to.not.equal(0);
      expect(run.proxy.upstreamError).to.be.instanceOf(Error);
    });
  }
});
