/**
 * Writes of the extractor, all idempotent and ordered by the S3 sequencer:
 * - the gzip'd raw ffprobe JSON, under a key derived from (object key, sequencer);
 * - the document, with a condition that only a newer sequencer may replace an item;
 * - a removal, as a tombstone under the same condition (so a late, older create
 *   cannot bring the document back), expiring through TTL.
 *
 * The backfill (handlers/backfill) has no S3 event, hence no sequencer of its own: its
 * writes are compare-and-swap on the item it selected instead (putBackfillDocument).
 */
import { promisify } from "node:util";
import { gzip, gzipSync } from "node:zlib";
import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { listingAttributes, listShardsFromEnv } from "../../lib/list-index";
import { rawMetadataKey } from "../../lib/naming";
import { METADATA_TABLE, type MetadataDocument, type MetadataItem, type RawMetadataRef } from "../../lib/schema";
import { DEFAULT_RETRY, type RetryPolicy, retryTransient } from "./retry";

const gzipAsync = promisify(gzip);

/**
 * Raw JSON up to this size is compressed on the calling thread: a typical document's few KB take
 * about 40-70 us there, and 160-210 us of CPU handed to libuv's thread pool and back. Larger
 * output (up to ffprobe's 16 MiB cap) goes to the pool, so the event loop and the range proxies
 * of the other probes in flight do not wait for it.
 */
export const GZIP_ON_THREAD_BYTES = 64 * 1024;

/** gzip of `json`, on the calling thread when small (GZIP_ON_THREAD_BYTES). */
export function gzipRaw(json: Buffer): Promise<Buffer> {
  return json.length <= GZIP_ON_THREAD_BYTES ? Promise.resolve(gzipSync(json)) : gzipAsync(json);
}

/**
 * Written when the item was absent or held an older sequencer (backfill: was still the item
 * selected); otherwise nothing changed.
 */
export type WriteResult = "written" | "not-newer";

const PK = METADATA_TABLE.partitionKey.name;
const NEWER_ONLY = `attribute_not_exists(${PK}) OR sequencer < :seq`;

/**
 * The state of one table item as the backfill saw it when it selected the object: what a
 * compare-and-swap needs. `undefined` fields are absent on the item (a tombstone has no etag
 * and no extractorVersion; every document has an extractorVersion).
 */
export interface ItemVersion {
  sequencer: string;
  etag?: string;
  extractorVersion?: string;
  deleted?: boolean;
}

/** An item as the backfill and reconcile read it: its version plus the document's status. */
export interface ItemSummary extends ItemVersion {
  status?: MetadataDocument["status"];
}

const VERSION_ATTRIBUTES = ["sequencer", "etag", "extractorVersion", "deleted", "status"] as const;
/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_MAX = 100;

function summarize(item: Record<string, unknown>): ItemSummary {
  const s: ItemSummary = { sequencer: String(item.sequencer ?? "") };
  if (typeof item.etag === "string") s.etag = item.etag;
  if (typeof item.extractorVersion === "string") s.extractorVersion = item.extractorVersion;
  if (item.deleted === true) s.deleted = true;
  if (item.status === "ok" || item.status === "unprocessable") s.status = item.status;
  return s;
}

/**
 * The condition of a backfill write. DynamoDB cannot order version strings semantically
 * ("1.10.0" < "1.9.0" as strings), and the backfill has no sequencer to order by, so the
 * decision (outdated? missing?) is made in code on the item read, and the write only lands
 * if that very item is still there: absent stays absent, otherwise sequencer, etag,
 * extractorVersion and deleted all unchanged. Any write in between (a newer S3 event, a
 * removal, another backfill that already upgraded the item) makes it fail ("not-newer").
 */
export function backfillCondition(expected: ItemVersion | null): {
  ConditionExpression: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
} {
  if (expected === null) return { ConditionExpression: `attribute_not_exists(${PK})` };
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const parts: string[] = [];
  const attrs: [keyof ItemVersion, unknown][] = [
    ["sequencer", expected.sequencer],
    ["etag", expected.etag],
    ["extractorVersion", expected.extractorVersion],
    ["deleted", expected.deleted ? true : undefined],
  ];
  attrs.forEach(([name, value], i) => {
    names[`#a${i}`] = name;
    if (value === undefined) parts.push(`attribute_not_exists(#a${i})`);
    else {
      values[`:v${i}`] = value;
      parts.push(`#a${i} = :v${i}`);
    }
  });
  return {
    ConditionExpression: parts.join(" AND "),
    ExpressionAttributeNames: names,
    ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
  };
}

/** True when `current` (read now) is still the item `expected` describes (null: no item). */
export function sameItemVersion(current: ItemVersion | undefined, expected: ItemVersion | null): boolean {
  if (expected === null || current === undefined) return expected === null && current === undefined;
  return (
    current.sequencer === expected.sequencer &&
    current.etag === expected.etag &&
    current.extractorVersion === expected.extractorVersion &&
    !!current.deleted === !!expected.deleted
  );
}

function tombstoneItem(
  change: { bucket: string; key: string; sequencer: string; eventTime: string },
  now: Date,
): Record<string, unknown> {
  return {
    [PK]: change.key,
    bucket: change.bucket,
    key: change.key,
    deleted: true,
    sequencer: change.sequencer,
    eventTime: change.eventTime,
    processedAt: now.toISOString(),
    [METADATA_TABLE.ttlAttribute]: Math.floor(now.getTime() / 1000) + METADATA_TABLE.tombstoneTtlSeconds,
  };
}

export class MetadataStore {
  private readonly doc: Pick<DynamoDBDocumentClient, "send">;

  constructor(
    dynamodb: DynamoDBClient,
    private readonly tableName: string,
    private readonly s3: S3Client,
    private readonly metadataBucket: string,
    /** Transient failures are retried here, within the invocation, before a record goes back to the queue (retry.ts). */
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    /** List-index shards (lib/list-index.ts): LIST_SHARDS, or the default. */
    private readonly listShards: number = listShardsFromEnv(),
  ) {
    const doc = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
    // Every table read and write goes through the retry: a conditional write retried after a
    // 500 that was applied anyway finds its own item and answers "not-newer", which is right.
    const send = ((command: Parameters<typeof doc.send>[0]) =>
      retryTransient(() => doc.send(command), this.retry)) as typeof doc.send;
    this.doc = { send };
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

  /** The item for `key` as a compare-and-swap needs it (live or tombstone), read strongly consistent. */
  async currentVersion(key: string): Promise<ItemSummary | undefined> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [PK]: key },
        ProjectionExpression: VERSION_ATTRIBUTES.map((_, i) => `#p${i}`).join(", "),
        ExpressionAttributeNames: Object.fromEntries(VERSION_ATTRIBUTES.map((a, i) => [`#p${i}`, a])),
        ConsistentRead: true,
      }),
    );
    return res.Item ? summarize(res.Item) : undefined;
  }

  /**
   * The items for many keys at once (BatchGetItem, 100 a call, strongly consistent), for the
   * backfill's selection. Keys without an item are absent from the map. Unprocessed keys
   * (throttling) are asked again with a short backoff, up to `maxRounds` times.
   */
  async currentVersions(keys: readonly string[], maxRounds = 8): Promise<Map<string, ItemSummary>> {
    const found = new Map<string, ItemSummary>();
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += BATCH_GET_MAX) {
      let pending: Record<string, unknown>[] = unique.slice(i, i + BATCH_GET_MAX).map((k) => ({ [PK]: k }));
      for (let round = 0; pending.length > 0; round++) {
        if (round >= maxRounds) throw new Error(`BatchGetItem left ${pending.length} key(s) unprocessed`);
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** round, 2_000)));
        const res = await this.doc.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: {
                Keys: pending,
                ConsistentRead: true,
                ProjectionExpression: [PK, ...VERSION_ATTRIBUTES].map((_, j) => `#p${j}`).join(", "),
                ExpressionAttributeNames: Object.fromEntries([PK, ...VERSION_ATTRIBUTES].map((a, j) => [`#p${j}`, a])),
              },
            },
          }),
        );
        for (const item of res.Responses?.[this.tableName] ?? []) found.set(String(item[PK]), summarize(item));
        pending = (res.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return found;
  }

  /** Stores the full ffprobe JSON gzip'd; the same (key, sequencer) always lands on the same S3 key. */
  async putRaw(objectKey: string, sequencer: string, json: Buffer): Promise<RawMetadataRef> {
    const key = rawMetadataKey(objectKey, sequencer);
    const body = await gzipRaw(json);
    await retryTransient(
      () =>
        this.s3.send(
          new PutObjectCommand({
            Bucket: this.metadataBucket,
            Key: key,
            Body: body,
            ContentType: "application/json",
            ContentEncoding: "gzip",
          }),
        ),
      this.retry,
    );
    return { bucket: this.metadataBucket, key, bytes: body.length };
  }

  async putDocument(doc: MetadataDocument): Promise<WriteResult> {
    const item: MetadataItem = { ...doc, objectKey: doc.key, ...listingAttributes(doc.key, this.listShards) };
    return this.conditionalPut({ ...item }, doc.sequencer);
  }

  async putTombstone(
    change: { bucket: string; key: string; sequencer: string; eventTime: string },
    now: Date,
  ): Promise<WriteResult> {
    return this.conditionalPut(tombstoneItem(change, now), change.sequencer);
  }

  /**
   * The backfill's write: the document replaces `expected` (null: no item at all) only if the
   * item is still exactly that one (see backfillCondition). The document keeps the sequencer
   * the backfill gave it (the existing item's, or backfillSequencer's when there was none), so
   * every later S3 event still orders against it as usual.
   */
  async putBackfillDocument(doc: MetadataDocument, expected: ItemVersion | null): Promise<WriteResult> {
    const item: MetadataItem = { ...doc, objectKey: doc.key, ...listingAttributes(doc.key, this.listShards) };
    return this.put({ ...item }, backfillCondition(expected));
  }

  /**
   * Reconcile's removal of an orphaned document (its object is gone but no removal reached
   * the table): a tombstone, under the same compare-and-swap as putBackfillDocument, keeping
   * the document's sequencer so any later event of the key still replaces it.
   */
  async putBackfillTombstone(
    change: { bucket: string; key: string; eventTime: string },
    now: Date,
    expected: ItemVersion,
  ): Promise<WriteResult> {
    return this.put(tombstoneItem({ ...change, sequencer: expected.sequencer }, now), backfillCondition(expected));
  }

  private conditionalPut(item: Record<string, unknown>, sequencer: string): Promise<WriteResult> {
    return this.put(item, { ConditionExpression: NEWER_ONLY, ExpressionAttributeValues: { ":seq": sequencer } });
  }

  private async put(
    item: Record<string, unknown>,
    condition: {
      ConditionExpression: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues?: Record<string, unknown>;
    },
  ): Promise<WriteResult> {
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item, ...condition }));
      return "written";
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err as Error).name === "ConditionalCheckFailedException") {
        return "not-newer";
      }
      throw err;
    }
  }
}
