/**
 * The lab's DynamoDB: dynalite on loopback with a LevelDB folder, the metadata table
 * created from lib/schema.ts (the same definition the Pulumi MetadataTable component
 * uses), and TTL emulated by a sweep since dynalite has no UpdateTimeToLive.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, ScanCommand, type ScanCommandInput } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { STATS_TABLE } from "../handlers/stats/store";
import { METADATA_TABLE, tableAttributeDefinitions } from "../lib/schema";
import { keepDynaliteTableDescriptions } from "./dynalite-table-cache";
import { closeServer, listen } from "./http-server";

export interface LabDynamo {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** dynalite's internals the repair uses (db/index.js: its index entries, computed as it does). */
interface DynaliteDb {
  getIndexActions(
    indexes: unknown[],
    existingItem: unknown,
    item: unknown,
    table: unknown,
  ): { puts: { index: string; key: string; item: unknown }[]; deletes: { index: string; key: string }[] };
}

/** What repairSecondaryIndexes changed. */
export interface IndexRepair {
  /** Index entries whose base item is gone or holds other index key values (dropped). */
  removed: number;
  /** Base items missing from an index, or listed there with other attributes (written). */
  added: number;
}

/**
 * dynalite writes an item in three steps that are not one LevelDB batch (actions/putItem.js,
 * db updateIndexes): delete the old index entries, put the new ones, then put the base item.
 * A process killed between them leaves an index that disagrees with the table for good: an
 * entry for a version the table never got (the next write of the key deletes only the entry
 * of the version the table has, so the key is then listed twice), or no entry at all. DynamoDB
 * propagates a base-table write to its global secondary indexes asynchronously but always
 * (DynamoDB developer guide, "Using Global Secondary Indexes": "eventually consistent"); it
 * never keeps a stale entry. So before dynalite opens the folder, every secondary index is
 * rebuilt from the base items, exactly as dynalite would compute it.
 */
export async function repairSecondaryIndexes(path: string): Promise<IndexRepair> {
  const { Level } = require("level") as typeof import("level");
  const dyn = require("dynalite/db") as DynaliteDb;
  const db = new Level<string, unknown>(path, { valueEncoding: "json" });
  await db.open();
  const repair: IndexRepair = { removed: 0, added: 0 };
  try {
    const range = (prefix: string) => ({ gte: prefix, lt: `${prefix}\xff` });
    for await (const [, value] of db.iterator(range("table~"))) {
      const table = value as {
        TableName: string;
        GlobalSecondaryIndexes?: { IndexName: string }[];
        LocalSecondaryIndexes?: { IndexName: string }[];
      };
      for (const kind of ["Global", "Local"] as const) {
        const indexes = table[`${kind}SecondaryIndexes`] ?? [];
        if (indexes.length === 0) continue;
        const expected = new Map<string, string>(); // full LevelDB key -> JSON of the entry
        for await (const [, item] of db.iterator(range(`item-${table.TableName}~`))) {
          for (const put of dyn.getIndexActions(indexes, null, item, table).puts) {
            expected.set(
              `index-${kind.toLowerCase()}~${table.TableName}~${put.index}~${put.key}`,
              JSON.stringify(put.item),
            );
          }
        }
        const ops: ({ type: "del"; key: string } | { type: "put"; key: string; value: unknown })[] = [];
        for (const index of indexes) {
          for await (const [key, entry] of db.iterator(
            range(`index-${kind.toLowerCase()}~${table.TableName}~${index.IndexName}~`),
          )) {
            const want = expected.get(key);
            if (want === undefined) {
              ops.push({ type: "del", key });
              repair.removed += 1;
            } else {
              if (want !== JSON.stringify(entry)) ops.push({ type: "put", key, value: JSON.parse(want) });
              expected.delete(key);
            }
          }
        }
        for (const [key, want] of expected) {
          ops.push({ type: "put", key, value: JSON.parse(want) });
          repair.added += 1;
        }
        if (ops.length > 0) await db.batch(ops);
      }
    }
  } finally {
    await db.close();
  }
  return repair;
}

/** Starts dynalite; with `path`, tables and items persist in that LevelDB folder (secondary indexes repaired first). */
/** A successful write to `table` touching the items of these partition-key values (strings only). */
export type LabWriteListener = (table: string, keys: string[]) => void;

const WRITE_TARGETS = new Set(["PutItem", "DeleteItem", "UpdateItem", "BatchWriteItem", "TransactWriteItems"]);

/** The string partition-key values of `attribute` in a write request body (DynamoDB JSON). */
export function writtenKeys(target: string, body: Record<string, unknown>, attribute: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (table: unknown, key: unknown) => {
    const value = (key as Record<string, { S?: string }> | undefined)?.[attribute]?.S;
    if (typeof table !== "string" || typeof value !== "string") return;
    out.set(table, [...(out.get(table) ?? []), value]);
  };
  if (target === "PutItem") add(body.TableName, body.Item);
  else if (target === "DeleteItem" || target === "UpdateItem") add(body.TableName, body.Key);
  else if (target === "BatchWriteItem") {
    for (const [table, requests] of Object.entries((body.RequestItems ?? {}) as Record<string, unknown[]>)) {
      for (const r of requests as { PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } }[]) {
        add(table, r.PutRequest?.Item ?? r.DeleteRequest?.Key);
      }
    }
  } else if (target === "TransactWriteItems") {
    for (const t of (body.TransactItems ?? []) as Record<
      string,
      { TableName?: string; Item?: unknown; Key?: unknown }
    >[]) {
      for (const op of [t.Put, t.Update, t.Delete]) if (op) add(op.TableName, op.Item ?? op.Key);
    }
  }
  return out;
}

/**
 * Starts dynalite; with `path`, tables and items persist in that LevelDB folder. With
 * `onWrite`, every successful write is reported after it answered 200: the lab's change
 * feed (dynalite has no DynamoDB Streams), whoever the writer is (extractor, backfill,
 * TTL sweep, tests, the bench).
 */
export async function startLabDynamo(options: {
  path?: string;
  host: string;
  port: number;
  /** Told what the index repair changed, when it changed anything. */
  onRepair?: (repair: IndexRepair) => void;
  onWrite?: LabWriteListener;
  /** Partition-key attribute reported by onWrite. */
  keyAttribute?: string;
}): Promise<LabDynamo> {
  if (options.path) {
    const repair = await repairSecondaryIndexes(options.path);
    if (repair.added + repair.removed > 0) options.onRepair?.(repair);
  }
  keepDynaliteTableDescriptions();
  const server: Server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const onWrite = options.onWrite;
  if (onWrite) {
    const attribute = options.keyAttribute ?? METADATA_TABLE.partitionKey.name;
    const [handle] = server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
    server.removeAllListeners("request");
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      const target = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      if (WRITE_TARGETS.has(target)) {
        // A second 'data' listener sees the same chunks dynalite reads.
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        res.on("finish", () => {
          if (res.statusCode !== 200) return;
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
            for (const [table, keys] of writtenKeys(target, body, attribute)) onWrite(table, keys);
          } catch {
            // not a request dynalite accepted as JSON: nothing was written
          }
        });
      }
      handle(req, res);
    });
  }
  const port = await listen(server, options.port, options.host);
  return {
    endpoint: `http://${options.host}:${port}`,
    port,
    // dynalite's close also closes the LevelDB store (releasing its LOCK).
    close: () => closeServer(server),
  };
}

/** CreateTable input for the metadata table, from METADATA_TABLE. */
export function metadataTableInput(tableName: string): CreateTableCommandInput {
  const index = METADATA_TABLE.listIndex;
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: tableAttributeDefinitions().map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: [{ AttributeName: METADATA_TABLE.partitionKey.name, KeyType: "HASH" }],
    GlobalSecondaryIndexes: [
      {
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: "HASH" },
          { AttributeName: index.sortKey.name, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: index.projection },
      },
    ],
  };
}

/**
 * Creates the metadata table when missing and waits until it is ACTIVE. An existing
 * table must have the expected key schema and index; otherwise the lab refuses to start
 * (its data folder belongs to an incompatible schema).
 */
export async function ensureMetadataTable(client: DynamoDBClient, tableName: string): Promise<"created" | "existing"> {
  let outcome: "created" | "existing" = "existing";
  const describe = () => client.send(new DescribeTableCommand({ TableName: tableName }));
  let table = await describe().catch((err) => {
    if (err instanceof ResourceNotFoundException || err?.name === "ResourceNotFoundException") return undefined;
    throw err;
  });
  if (!table) {
    await client.send(new CreateTableCommand(metadataTableInput(tableName)));
    outcome = "created";
    table = await describe();
  }
  for (let i = 0; table.Table?.TableStatus !== "ACTIVE"; i++) {
    if (i > 200) throw new Error(`table ${tableName} did not become ACTIVE`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    table = await describe();
  }
  const expected = metadataTableInput(tableName);
  const hash = table.Table?.KeySchema?.find((k) => k.KeyType === "HASH")?.AttributeName;
  const index = table.Table?.GlobalSecondaryIndexes?.find((g) => g.IndexName === METADATA_TABLE.listIndex.name);
  const indexKeys = JSON.stringify(index?.KeySchema ?? []);
  if (
    hash !== METADATA_TABLE.partitionKey.name ||
    indexKeys !== JSON.stringify(expected.GlobalSecondaryIndexes?.[0].KeySchema)
  ) {
    throw new Error(
      `table ${tableName} exists with a different key schema or without index ${METADATA_TABLE.listIndex.name}; ` +
        "remove the lab's data folder to start over",
    );
  }
  return outcome;
}

/** Creates the stats table (handlers/stats/store.ts) when missing. */
export async function ensureStatsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const describe = () => client.send(new DescribeTableCommand({ TableName: tableName }));
  let table = await describe().catch((err) => {
    if (err instanceof ResourceNotFoundException || err?.name === "ResourceNotFoundException") return undefined;
    throw err;
  });
  if (!table) {
    const pk = STATS_TABLE.partitionKey;
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: pk.name, AttributeType: pk.type }],
        KeySchema: [{ AttributeName: pk.name, KeyType: "HASH" }],
      }),
    );
    table = await describe();
  }
  for (let i = 0; table.Table?.TableStatus !== "ACTIVE"; i++) {
    if (i > 200) throw new Error(`table ${tableName} did not become ACTIVE`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    table = await describe();
  }
}

/** Every page of a scan, following LastEvaluatedKey (only the lab scans: the API never does). */
export async function* scanPages(
  doc: DynamoDBDocumentClient,
  input: Omit<ScanCommandInput, "ExclusiveStartKey">,
): AsyncGenerator<Record<string, unknown>[]> {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new ScanCommand({ ...input, ExclusiveStartKey: start }));
    yield page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start);
}

/**
 * TTL emulation: deletes items whose TTL attribute (epoch seconds) is in the past, as
 * DynamoDB's TTL process would (eventually). Returns how many were deleted. A scan, but
 * only ever in the lab; the API never scans.
 */
export async function sweepExpiredItems(client: DynamoDBClient, tableName: string, now = new Date()): Promise<number> {
  const doc = DynamoDBDocumentClient.from(client);
  const ttl = METADATA_TABLE.ttlAttribute;
  const pk = METADATA_TABLE.partitionKey.name;
  const nowSec = Math.floor(now.getTime() / 1000);
  let deleted = 0;
  for await (const items of scanPages(doc, {
    TableName: tableName,
    FilterExpression: "#ttl < :now",
    ExpressionAttributeNames: { "#ttl": ttl, "#pk": pk },
    ExpressionAttributeValues: { ":now": nowSec },
    ProjectionExpression: "#pk",
  })) {
    for (const item of items) {
      try {
        await doc.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { [pk]: item[pk] },
            // Only if still expired: a newer write may have replaced the tombstone meanwhile.
            ConditionExpression: "#ttl < :now",
            ExpressionAttributeNames: { "#ttl": ttl },
            ExpressionAttributeValues: { ":now": nowSec },
          }),
        );
        deleted += 1;
      } catch (err) {
        if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
      }
    }
  }
  return deleted;
}
