/**
 * Writes of the extractor, all idempotent and ordered by the S3 sequencer:
 * - the gzip'd raw ffprobe JSON, under a key derived from (object key, sequencer);
 * - the document, with a condition that only a newer sequencer may replace an item;
 * - a removal, as a tombstone under the same condition (so a late, older create
 *   cannot bring the document back), expiring through TTL.
 */
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { rawMetadataKey } from "../../lib/naming";
import { METADATA_TABLE, type MetadataDocument, type MetadataItem, type RawMetadataRef } from "../../lib/schema";

const gzipAsync = promisify(gzip);

/** Written when the item was absent or held an older sequencer; otherwise nothing changed. */
export type WriteResult = "written" | "not-newer";

const PK = METADATA_TABLE.partitionKey.name;
const NEWER_ONLY = `attribute_not_exists(${PK}) OR sequencer < :seq`;

export class MetadataStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    dynamodb: DynamoDBClient,
    private readonly tableName: string,
    private readonly s3: S3Client,
    private readonly metadataBucket: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  }

  /** The sequencer of the current item for `key` (live or tombstone), read strongly consistent. */
  async currentSequencer(key: string): Promise<string | undefined> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [PK]: key },
        ProjectionExpression: "sequencer",
        ConsistentRead: true,
      }),
    );
    return res.Item?.sequencer as string | undefined;
  }

  /** Stores the full ffprobe JSON gzip'd; the same (key, sequencer) always lands on the same S3 key. */
  async putRaw(objectKey: string, sequencer: string, json: Buffer): Promise<RawMetadataRef> {
    const key = rawMetadataKey(objectKey, sequencer);
    const body = await gzipAsync(json);
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.metadataBucket,
        Key: key,
        Body: body,
        ContentType: "application/json",
        ContentEncoding: "gzip",
      }),
    );
    return { bucket: this.metadataBucket, key, bytes: body.length };
  }

  async putDocument(doc: MetadataDocument): Promise<WriteResult> {
    const item: MetadataItem = { ...doc, objectKey: doc.key, listPartition: METADATA_TABLE.listPartitionValue };
    return this.conditionalPut({ ...item }, doc.sequencer);
  }

  async putTombstone(
    change: { bucket: string; key: string; sequencer: string; eventTime: string },
    now: Date,
  ): Promise<WriteResult> {
    const item = {
      [PK]: change.key,
      bucket: change.bucket,
      key: change.key,
      deleted: true,
      sequencer: change.sequencer,
      eventTime: change.eventTime,
      processedAt: now.toISOString(),
      [METADATA_TABLE.ttlAttribute]: Math.floor(now.getTime() / 1000) + METADATA_TABLE.tombstoneTtlSeconds,
    };
    return this.conditionalPut(item, change.sequencer);
  }

  private async conditionalPut(item: Record<string, unknown>, sequencer: string): Promise<WriteResult> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: NEWER_ONLY,
          ExpressionAttributeValues: { ":seq": sequencer },
        }),
      );
      return "written";
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err as Error).name === "ConditionalCheckFailedException") {
        return "not-newer";
      }
      throw err;
    }
  }
}
