/**
 * Re-processing at scale: one page of listed objects at a time, selected against the table
 * (select.ts) and processed through the extractor's own handleChange with a synthetic
 * ObjectChange. Used as is by the lab (`npm run lab -- backfill`, lab/backfill.ts), by the
 * Step Functions Distributed Map batch handler (step-functions.ts) and by reconcile's
 * `--enqueue` in the lab.
 *
 * Ordering without an S3 sequencer: every backfill write is a compare-and-swap on the item
 * the selection read (MetadataStore.putBackfillDocument), and the document it writes keeps
 * that item's sequencer (or, for a key with no item, backfillSequencer(etag), which sorts
 * below every real event). So a backfill write never overwrites anything newer than what
 * it selected against, and every S3 event that comes later still orders as usual. The probe
 * itself is pinned to the listed ETag (If-Match), so an object replaced since the listing is
 * "superseded": its own event describes it.
 */

import type { Outcome } from "../../lib/extractor-outcome";
import { EXTRACTOR_VERSION } from "../../lib/schema";
import { describeError, isTransient } from "../extractor/errors";
import type { Extractor } from "../extractor/extractor";
import { backfillSequencer, type ObjectChange } from "../extractor/s3-event";
import type { ItemSummary, MetadataStore } from "../extractor/store";
import { type Decision, decide, type ObjectListing, type SkipReason } from "./select";

export interface BackfillDeps {
  /** The extractor (createExtractor): the backfill calls its handleChange, nothing else. */
  extractor: Pick<Extractor, "handleChange">;
  /** Reads the current items of a page of keys. */
  store: Pick<MetadataStore, "currentVersions">;
  /** The ingest bucket the listings come from. */
  bucket: string;
}

export interface BackfillOptions {
  onlyOutdated?: boolean;
  /** Objects processed at the same time (each runs one ffprobe). Default 4. */
  concurrency?: number;
  /** The version documents should have (default EXTRACTOR_VERSION; tests inject others). */
  extractorVersion?: string;
  /** Called after each object, for progress. */
  onResult?: (result: ItemResult) => void;
  /** Stops starting new objects (those in progress finish). */
  signal?: AbortSignal;
}

/** What happened to one listed object. */
export type ItemStatus =
  /** An ok document was written. */
  | "processed"
  /** An unprocessable document was written (the object is not media we can read). */
  | "unprocessable"
  /** Nothing to do (see `reason`). */
  | "skipped"
  /** The item or the object changed since the selection; whatever changed it describes it. */
  | "changed"
  /** Processing failed (S3, DynamoDB, ffprobe could not run); run the backfill again. */
  | "failed";

export interface ItemResult {
  key: string;
  status: ItemStatus;
  /** Why it was selected (process) or skipped. */
  reason: Decision["reason"];
  /** The extractor's outcome, when it ran. */
  outcome?: Outcome;
  /** The failure, when status is "failed". */
  error?: string;
  /** True when the failure is worth a retry (throttling, 5xx, network). */
  transient?: boolean;
}

export interface BackfillSummary {
  listed: number;
  processed: number;
  unprocessable: number;
  skipped: number;
  /** Skipped objects by reason (up-to-date, newer-extractor, not-outdated). */
  skippedBy: Partial<Record<SkipReason, number>>;
  changed: number;
  failed: number;
  /** Keys that failed, with the error (at most MAX_FAILED_KEYS). */
  failures: { key: string; error: string }[];
}

const MAX_FAILED_KEYS = 100;

export function emptySummary(): BackfillSummary {
  return { listed: 0, processed: 0, unprocessable: 0, skipped: 0, skippedBy: {}, changed: 0, failed: 0, failures: [] };
}

/** Adds one result to a summary (in place) and returns it. */
export function addResult(summary: BackfillSummary, r: ItemResult): BackfillSummary {
  summary.listed += 1;
  switch (r.status) {
    case "processed":
      summary.processed += 1;
      break;
    case "unprocessable":
      summary.unprocessable += 1;
      break;
    case "changed":
      summary.changed += 1;
      break;
    case "failed":
      summary.failed += 1;
      if (summary.failures.length < MAX_FAILED_KEYS) summary.failures.push({ key: r.key, error: r.error ?? "" });
      break;
    case "skipped":
      summary.skipped += 1;
      summary.skippedBy[r.reason as SkipReason] = (summary.skippedBy[r.reason as SkipReason] ?? 0) + 1;
      break;
  }
  return summary;
}

export function mergeSummaries(into: BackfillSummary, from: BackfillSummary): BackfillSummary {
  into.listed += from.listed;
  into.processed += from.processed;
  into.unprocessable += from.unprocessable;
  into.skipped += from.skipped;
  into.changed += from.changed;
  into.failed += from.failed;
  for (const [k, n] of Object.entries(from.skippedBy)) {
    into.skippedBy[k as SkipReason] = (into.skippedBy[k as SkipReason] ?? 0) + (n ?? 0);
  }
  into.failures.push(...from.failures.slice(0, Math.max(0, MAX_FAILED_KEYS - into.failures.length)));
  return into;
}

/** One line: "12 listed: 10 processed, 1 unprocessable, 1 skipped (1 up-to-date), 0 changed meanwhile, 0 failed". */
export function formatSummary(s: BackfillSummary): string {
  const by = Object.entries(s.skippedBy)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
  return (
    `${s.listed} listed: ${s.processed} processed, ${s.unprocessable} unprocessable, ` +
    `${s.skipped} skipped${by ? ` (${by})` : ""}, ${s.changed} changed meanwhile, ${s.failed} failed`
  );
}

/** The change the backfill hands to the extractor for one selected object. */
export function backfillChange(bucket: string, object: ObjectListing, decision: Decision & { action: "process" }) {
  const change: ObjectChange = {
    action: "created",
    // Not an S3 event name: says in the logs that this document came from a backfill.
    eventName: "ObjectCreated:Backfill",
    eventTime: object.lastModified ?? new Date().toISOString(),
    bucket,
    key: object.key,
    size: object.size,
    etag: object.etag || undefined,
    sequencer: decision.expected ? decision.expected.sequencer : backfillSequencer(object.etag),
    backfill: { expected: decision.expected },
  };
  return change;
}

/** Runs `fn` over `items` with at most `limit` at a time; resolves with the results in order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<(R | undefined)[]> {
  const results: (R | undefined)[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal?.aborted) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

function statusFor(outcome: Outcome): ItemStatus {
  switch (outcome) {
    case "ok":
      return "processed";
    case "unprocessable":
      return "unprocessable";
    default:
      return "changed"; // not-newer, superseded (and removed, which a creation never yields)
  }
}

/** Selects and processes one page of listed objects. Never throws for one object's failure: see `status`. */
export async function backfillPage(
  deps: BackfillDeps,
  objects: readonly ObjectListing[],
  options: BackfillOptions = {},
): Promise<ItemResult[]> {
  const extractorVersion = options.extractorVersion ?? EXTRACTOR_VERSION;
  let items: Map<string, ItemSummary>;
  try {
    items = await deps.store.currentVersions(objects.map((o) => o.key));
  } catch (err) {
    // The page cannot be selected: every object of it failed (a later run picks them up).
    const results = objects.map(
      (o): ItemResult => ({
        key: o.key,
        status: "failed",
        reason: "missing",
        error: `cannot read the table: ${describeError(err)}`,
        transient: isTransient(err),
      }),
    );
    for (const r of results) options.onResult?.(r);
    return results;
  }
  const settled = await mapLimit(
    objects,
    options.concurrency ?? 4,
    async (object): Promise<ItemResult> => {
      const decision = decide(object, items.get(object.key), { onlyOutdated: options.onlyOutdated, extractorVersion });
      let result: ItemResult;
      if (decision.action === "skip") {
        result = { key: object.key, status: "skipped", reason: decision.reason };
      } else {
        try {
          const change = backfillChange(deps.bucket, object, decision);
          const { outcome } = await deps.extractor.handleChange(change);
          result = { key: object.key, status: statusFor(outcome), reason: decision.reason, outcome };
        } catch (err) {
          const cause = (err as { cause?: unknown }).cause ?? err;
          result = {
            key: object.key,
            status: "failed",
            reason: decision.reason,
            error: describeError(err),
            transient: isTransient(cause),
          };
        }
      }
      options.onResult?.(result);
      return result;
    },
    options.signal,
  );
  return settled.filter((r): r is ItemResult => r !== undefined);
}
