/**
 * Where the running totals of GET /stats live: a small table (STATS_TABLE, key `id`) with
 * - one `totals` item holding every counter as a top-level number attribute `n:<name>`
 *   (DynamoDB's ADD works on top-level numbers without reading first), and
 * - one row per document, `doc#<object key>`, recording the version and the contribution
 *   last counted for it: what makes re-processing a change harmless (handlers/stats/aggregator.ts).
 *
 * In the cloud each commit is one TransactWriteItems call (rows + the totals update, all or
 * nothing; "Amazon DynamoDB Transactions: How it works", developer guide), the rows guarded
 * by the version read just before, so a concurrent writer makes it fail and retry instead of
 * double counting. dynalite has no transactions: the lab writes the same items one after
 * the other from a single serialized feed (lab/stats-feed.ts), which is what makes that safe
 * there.
 */

import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { Counters } from "../../lib/stats";
import { STATS_TABLE } from "../../lib/stats-table";

// The table's layout is shared with the component that creates it (components never import handlers/).
export { STATS_TABLE };

/** What was last counted for one document. */
export interface CountedRow {
  key: string;
  version: string;
  contribution: Counters;
}

/** One commit: rows to write (each guarded by the version read, or absence) and the sum of their deltas. */
export interface StatsCommit {
  rows: { row: CountedRow; expectedVersion: string | null }[];
  delta: Counters;
  at: string;
}

export interface StatsStore {
  readRows(keys: string[]): Promise<Map<string, CountedRow>>;
  commit(commit: StatsCommit): Promise<void>;
  totals(): Promise<{ counters: Counters; updatedAt?: string }>;
}

/** Raised when a guarded row changed between read and commit: re-read and try again. */
export class StatsConflictError extends Error {
  constructor() {
    super("a stats row changed while the batch was being applied");
    this.name = "StatsConflictError";
  }
}

const PK = STATS_TABLE.partitionKey.name;
const BATCH_GET_MAX = 100;

function rowItem(row: CountedRow): Record<string, unknown> {
  return { [PK]: `${STATS_TABLE.docPrefix}${row.key}`, version: row.version, contribution: row.contribution };
}

function rowCondition(expectedVersion: string | null): {
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
} {
  return expectedVersion === null
    ? { ConditionExpression: `attribute_not_exists(#id)`, ExpressionAttributeNames: { "#id": PK } }
    : {
        ConditionExpression: "#v = :v",
        ExpressionAttributeNames: { "#v": "version" },
        ExpressionAttributeValues: { ":v": expectedVersion },
      };
}

/** The totals update: ADD every counter of the delta, SET the time. */
export function totalsUpdate(tableName: string, delta: Counters, at: string) {
  const names: Record<string, string> = { "#u": "updatedAt" };
  const values: Record<string, unknown> = { ":u": at };
  const adds: string[] = [];
  Object.entries(delta).forEach(([name, v], i) => {
    names[`#n${i}`] = `${STATS_TABLE.counterPrefix}${name}`;
    values[`:n${i}`] = v;
    adds.push(`#n${i} :n${i}`);
  });
  return {
    TableName: tableName,
    Key: { [PK]: STATS_TABLE.totalsId },
    UpdateExpression: `SET #u = :u${adds.length ? ` ADD ${adds.join(", ")}` : ""}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

export class DynamoStatsStore implements StatsStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    dynamodb: DynamoDBClient,
    private readonly tableName: string,
    /** TransactWriteItems (DynamoDB); false only for dynalite, whose single writer is serialized. */
    private readonly transactions = true,
  ) {
    this.doc = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  }

  async readRows(keys: string[]): Promise<Map<string, CountedRow>> {
    const found = new Map<string, CountedRow>();
    for (let i = 0; i < keys.length; i += BATCH_GET_MAX) {
      let pending: Record<string, unknown>[] = keys
        .slice(i, i + BATCH_GET_MAX)
        .map((k) => ({ [PK]: `${STATS_TABLE.docPrefix}${k}` }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
        const res = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
        );
        for (const item of res.Responses?.[this.tableName] ?? []) {
          const key = String(item[PK]).slice(STATS_TABLE.docPrefix.length);
          found.set(key, {
            key,
            version: String(item.version ?? ""),
            contribution: (item.contribution ?? {}) as Counters,
          });
        }
        pending = (res.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
      }
    }
    return found;
  }

  async commit(commit: StatsCommit): Promise<void> {
    if (commit.rows.length === 0) return;
    if (!this.transactions) {
      for (const { row, expectedVersion } of commit.rows) {
        await this.doc.send(
          new PutCommand({ TableName: this.tableName, Item: rowItem(row), ...rowCondition(expectedVersion) }),
        );
      }
      await this.doc.send(new UpdateCommand(totalsUpdate(this.tableName, commit.delta, commit.at)));
      return;
    }
    const input: TransactWriteCommandInput = {
      TransactItems: [
        ...commit.rows.map(({ row, expectedVersion }) => ({
          Put: { TableName: this.tableName, Item: rowItem(row), ...rowCondition(expectedVersion) },
        })),
        { Update: totalsUpdate(this.tableName, commit.delta, commit.at) },
      ],
    };
    try {
      await this.doc.send(new TransactWriteCommand(input));
    } catch (err) {
      const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      if (
        (err as Error).name === "TransactionCanceledException" &&
        reasons.some((r) => r.Code === "ConditionalCheckFailed")
      ) {
        throw new StatsConflictError();
      }
      throw err;
    }
  }

  async totals(): Promise<{ counters: Counters; updatedAt?: string }> {
    const res = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { [PK]: STATS_TABLE.totalsId }, ConsistentRead: true }),
    );
    const counters: Counters = {};
    for (const [name, v] of Object.entries(res.Item ?? {})) {
      if (name.startsWith(STATS_TABLE.counterPrefix) && typeof v === "number") {
        counters[name.slice(STATS_TABLE.counterPrefix.length)] = v;
      }
    }
    const updatedAt = res.Item?.updatedAt;
    return { counters, ...(typeof updatedAt === "string" ? { updatedAt } : {}) };
  }
}
