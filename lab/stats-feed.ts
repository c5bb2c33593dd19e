/**
 * The lab's stand-in for DynamoDB Streams -> stats aggregator: dynalite reports every
 * successful write to the metadata table (lab/dynamodb.ts, onWrite); the keys are queued,
 * and one serialized loop reads their current items (consistent reads) and applies them
 * with the same applyChanges the cloud's aggregator function runs (handlers/stats). Reading
 * the current item rather than trusting the order writes were reported in makes concurrent
 * writers harmless: whatever the order, the last applied state of a key is its stored one.
 *
 * At start the feed counts every item once (a scan at start-up, never per request), so a lab
 * folder from before the stats existed, or writes made while the lab was down, are counted.
 *
 * Keys are gathered as the stream's event source mapping gathers records (lib/stats-table.ts,
 * STATS_STREAM_BATCHING): applied once 100 are queued or when the batching window ends, not
 * per write. Applied per write, the feed made three DynamoDB requests (read, document rows,
 * totals) for each write it followed, more than the extractor's own. idle() applies at once.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { applyChanges, type DocumentChange } from "../handlers/stats/aggregator";
import type { StatsStore } from "../handlers/stats/store";
import { METADATA_TABLE } from "../lib/schema";
import { STATS_STREAM_BATCHING, STATS_TABLE } from "../lib/stats-table";
import { scanTable } from "../tools/reconcile/reconcile";
import { scanPages } from "./dynamodb";

const BATCH = STATS_STREAM_BATCHING.batchSize;

/** The document keys the stats table counts (its `doc#<key>` rows, lib/stats-table.ts). */
async function* countedKeys(doc: DynamoDBDocumentClient, statsTableName: string): AsyncGenerator<string> {
  const pk = STATS_TABLE.partitionKey.name;
  for await (const items of scanPages(doc, {
    TableName: statsTableName,
    ProjectionExpression: "#pk",
    FilterExpression: "begins_with(#pk, :doc)",
    ExpressionAttributeNames: { "#pk": pk },
    ExpressionAttributeValues: { ":doc": STATS_TABLE.docPrefix },
    ConsistentRead: true,
  })) {
    for (const item of items) yield String(item[pk]).slice(STATS_TABLE.docPrefix.length);
  }
}

export interface LabStatsFeed {
  /** Queue keys that were written. */
  written(keys: readonly string[]): void;
  /** Resolves when every key queued so far has been applied. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export function startLabStatsFeed(options: {
  dynamodb: DynamoDBClient;
  tableName: string;
  store: StatsStore;
  onError: (err: unknown) => void;
  /** How long keys are gathered before they are applied, ms (default: the stream's batching window). */
  batchingWindowMs?: number;
  /** The stats table: its counted rows are checked against the table at start (see above). */
  statsTableName?: string;
}): LabStatsFeed {
  const windowMs = options.batchingWindowMs ?? STATS_STREAM_BATCHING.batchingWindowSeconds * 1000;
  const doc = DynamoDBDocumentClient.from(options.dynamodb);
  const pk = METADATA_TABLE.partitionKey.name;
  const queued = new Set<string>();
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let scheduled = false;

  async function currentItems(keys: string[]): Promise<DocumentChange[]> {
    const found = new Map<string, Record<string, unknown>>();
    let pending: Record<string, unknown>[] = keys.map((k) => ({ [pk]: k }));
    for (let attempt = 0; pending.length > 0 && attempt < 20; attempt++) {
      const res = await doc.send(
        new BatchGetCommand({ RequestItems: { [options.tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      for (const item of res.Responses?.[options.tableName] ?? []) found.set(String(item[pk]), item);
      pending = (res.UnprocessedKeys?.[options.tableName]?.Keys ?? []) as Record<string, unknown>[];
    }
    return keys.map((key) => ({ key, item: found.get(key) }));
  }

  /**
   * Applies what is queued, one batch at a time; a partial batch left over waits for a window of
   * its own, unless `all` (a stop applies everything it was told of).
   */
  async function drain(all = false): Promise<void> {
    scheduled = false;
    if (stopped || queued.size === 0) return;
    do {
      const keys = [...queued].slice(0, BATCH);
      for (const k of keys) queued.delete(k);
      try {
        await applyChanges(options.store, await currentItems(keys));
      } catch (err) {
        for (const k of keys) queued.add(k);
        options.onError(err);
        gather(); // retried after a window of their own (or at the next start)
        return;
      }
    } while ((all ? queued.size > 0 : queued.size >= BATCH) && !stopped);
    if (queued.size > 0) gather();
  }

  const schedule = () => {
    if (scheduled || stopped) return;
    clearTimeout(window);
    window = undefined;
    scheduled = true;
    running = running.then(() => drain());
  };
  // A full batch is applied now; fewer keys wait for the window (opened by the first of them).
  let window: NodeJS.Timeout | undefined;
  const gather = () => {
    if (queued.size >= BATCH) schedule();
    else if (window === undefined && !scheduled && !stopped) window = setTimeout(schedule, windowMs);
  };

  // Count what is already in the table, and take back what is counted but no longer there: a
  // key removed while the lab was down (or killed inside a window) has a row but no item.
  running = (async () => {
    try {
      for await (const page of scanTable(options.dynamodb, options.tableName, { consistent: true })) {
        for (const item of page) queued.add(item.key);
      }
      if (options.statsTableName) {
        for await (const key of countedKeys(doc, options.statsTableName)) queued.add(key);
      }
    } catch (err) {
      options.onError(err);
    }
  })().then(() => drain());

  return {
    written(keys) {
      for (const k of keys) queued.add(k);
      gather();
    },
    async idle() {
      for (let i = 0; i < 10_000; i++) {
        await running;
        if (queued.size === 0 || stopped) return;
        schedule();
      }
    },
    async stop() {
      clearTimeout(window);
      window = undefined;
      // A clean stop applies what it was told of (a removal has no item for the next start to find).
      scheduled = true;
      running = running.then(() => drain(true));
      await running;
      stopped = true;
      clearTimeout(window);
    },
  };
}
