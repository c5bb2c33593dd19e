/**
 * The stats aggregator: keeps the totals of GET /stats (lib/stats.ts) as documents change,
 * the same code in the cloud (fed by the table's DynamoDB stream, handlers/stats/index.ts)
 * and in the lab (fed by lab/stats-feed.ts, since dynalite has no streams).
 *
 * Idempotent by state, not by event: for each document the stats table records the version
 * and contribution last counted; a change moves the document to the state it carries, adding
 * (new contribution - counted contribution) to the totals in the same commit. Replaying a
 * change (a Lambda retry, a bisected batch, re-processing the stream from the start) finds
 * the state already counted and adds nothing; a change older than the counted version is
 * skipped. A document's version is its S3 sequencer, then processedAt (a backfill keeps the
 * sequencer and writes a later processedAt).
 */
import { type Counters, contributionOf, deltaOf } from "../../lib/stats";
import { type CountedRow, StatsConflictError, type StatsStore } from "./store";

/** One document's new state: its stored item, or undefined when the item is gone. */
export interface DocumentChange {
  key: string;
  item: object | undefined;
}

/** Rows per commit: TransactWriteItems takes 100 actions (99 rows + the totals update). */
const ROWS_PER_COMMIT = 99;
/** Distinct counters per commit, keeping the update expression far below DynamoDB's 4 KB. */
const COUNTERS_PER_COMMIT = 150;
const MAX_CONFLICT_RETRIES = 5;

/** The version a state is counted at ("" for an absent item: it never overrides a counted state's version). */
export function versionOf(stored: object | undefined): string {
  if (!stored) return "";
  const item = stored as Record<string, unknown>;
  return `${String(item.sequencer ?? "")}|${String(item.processedAt ?? item.eventTime ?? "")}`;
}

function sameCounters(a: Counters, b: Counters): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

export interface ApplyResult {
  /** Documents whose counted state changed. */
  counted: number;
  /** Changes already counted, or older than what was counted. */
  skipped: number;
}

/** Applies changes in order (the last change of a key wins); safe to call again with the same changes. */
export async function applyChanges(
  store: StatsStore,
  changes: readonly DocumentChange[],
  now: () => Date = () => new Date(),
): Promise<ApplyResult> {
  const last = new Map<string, DocumentChange>();
  for (const c of changes) {
    last.delete(c.key); // keep stream order of the last change per key
    last.set(c.key, c);
  }
  const pending = [...last.values()];
  let counted = 0;
  let skipped = changes.length - pending.length;
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await applyOnce(store, pending, now);
      return { counted: counted + result.counted, skipped: skipped + result.skipped };
    } catch (err) {
      if (!(err instanceof StatsConflictError) || attempt >= MAX_CONFLICT_RETRIES) throw err;
      // Some commits may have landed: re-reading finds them counted.
      counted = 0;
      skipped = changes.length - pending.length;
    }
  }
}

async function applyOnce(store: StatsStore, changes: readonly DocumentChange[], now: () => Date): Promise<ApplyResult> {
  const rows = await store.readRows(changes.map((c) => c.key));
  let counted = 0;
  let skipped = 0;
  let batch: { row: CountedRow; expectedVersion: string | null }[] = [];
  let delta: Counters = {};
  const flush = async () => {
    if (batch.length > 0) await store.commit({ rows: batch, delta, at: now().toISOString() });
    batch = [];
    delta = {};
  };
  for (const change of changes) {
    const counted0 = rows.get(change.key);
    const version = versionOf(change.item);
    if (counted0 && change.item && version < counted0.version) {
      skipped++; // older than what is counted: a late replay
      continue;
    }
    const contribution = contributionOf(change.item as never);
    if (
      (counted0 && sameCounters(counted0.contribution, contribution)) ||
      (!counted0 && Object.keys(contribution).length === 0)
    ) {
      skipped++;
      continue;
    }
    const d = deltaOf(undefined, change.item as never);
    for (const [name, v] of Object.entries(counted0?.contribution ?? {})) d[name] = (d[name] ?? 0) - v;
    const row: CountedRow = {
      key: change.key,
      version: change.item ? version : (counted0?.version ?? ""),
      contribution,
    };
    batch.push({ row, expectedVersion: counted0 ? counted0.version : null });
    for (const [name, v] of Object.entries(d)) if (v !== 0) delta[name] = (delta[name] ?? 0) + v;
    counted++;
    if (batch.length >= ROWS_PER_COMMIT || Object.keys(delta).length >= COUNTERS_PER_COMMIT) await flush();
  }
  await flush();
  return { counted, skipped };
}
