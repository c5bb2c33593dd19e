/**
 * Puts objects in the embedded S3, delivers their ObjectCreated events to an extractor in
 * batches (as an event source mapping would) and reads the stored documents back: what the
 * integration tests that run many files through the extractor share.
 */
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import type { Extractor } from "../../handlers/extractor/extractor";
import type { MetadataItem } from "../../lib/schema";
import { s3EventBody, sqsEvent, sqsRecord } from "../../media/s3-events";
import type { EmbeddedAws } from "./embedded-aws";

export interface ObjectToExtract {
  key: string;
  bytes: Buffer;
}

/** Runs `objects` through `extractor`, `batchSize` records a batch; resolves with each key's document. */
export async function extractObjects(
  aws: EmbeddedAws,
  extractor: Extractor,
  objects: readonly ObjectToExtract[],
  batchSize: number,
): Promise<Map<string, MetadataItem>> {
  const records = [];
  for (const o of objects) {
    const res = await aws.s3.send(new PutObjectCommand({ Bucket: aws.ingestBucket, Key: o.key, Body: o.bytes }));
    const etag = (res.ETag ?? "").replace(/"/g, "");
    records.push(
      sqsRecord(
        s3EventBody({
          eventName: "ObjectCreated:Put",
          bucket: aws.ingestBucket,
          key: o.key,
          size: o.bytes.length,
          etag,
        }),
      ),
    );
  }
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write; // EMF lines
  try {
    for (let i = 0; i < records.length; i += batchSize) {
      const res = await extractor.handleBatch(sqsEvent(...records.slice(i, i + batchSize)));
      expect(res.batchItemFailures).to.deep.equal([]);
    }
  } finally {
    process.stdout.write = write;
  }
  const items = DynamoDBDocumentClient.from(aws.dynamodb);
  const docs = new Map<string, MetadataItem>();
  for (const o of objects) {
    const res = await items.send(new GetCommand({ TableName: aws.tableName, Key: { objectKey: o.key } }));
    docs.set(o.key, res.Item as MetadataItem);
  }
  return docs;
}
