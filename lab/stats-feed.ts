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
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { applyChanges, type DocumentChange } from "../handlers/stats/aggregator";
import type { StatsStore } from "../handlers/stats/store";
import { METADATA_TABLE } from "../lib/schema";
import { scanTable } from "../tools/reconcile/reconcile";

const BATCH = 100;

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
}): LabStatsFeed {
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

  async function drain(): Promise<void> {
    scheduled = false;
    while (queued.size > 0 && !stopped) {
      const keys = [...queued].slice(0, BATCH);
      for (const k of keys) queued.delete(k);
      try {
        await applyChanges(options.store, await currentItems(keys));
      } catch (err) {
        for (const k of keys) queued.add(k); // retried on the next write or start
        options.onError(err);
        return;
      }
    }
  }

  const schedule = () => {
    if (scheduled || stopped) return;
    scheduled = true;
    running = running.then(drain);
  };

  // Count what is already in the table.
  running = (async () => {
    try {
      for await (const page of scanTable(options.dynamodb, options.tableName, { consistent: true })) {
        for (const item of page) queued.add(item.key);
      }
    } catch (err) {
      options.onError(err);
    }
  })().then(drain);

  return {
    written(keys) {
      for (const k of keys) queued.add(k);
      schedule();
    },
    async idle() {
      for (let i = 0; i < 10_000; i++) {
        await running;
        if (queued.size === 0 || stopped) return;
        schedule();
      }
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}
