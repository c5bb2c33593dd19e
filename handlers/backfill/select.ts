/**
 * Which objects a backfill re-processes: a pure decision per object, from the object's
 * listing (key, size, ETag) and the table's item for the key. Shared by the lab's
 * `npm run lab -- backfill`, the Step Functions Distributed Map batch handler
 * (step-functions.ts) and the tests.
 *
 *   no item, or a tombstone        -> process ("missing")     unless onlyOutdated
 *   document by an older extractor -> process ("outdated")
 *   document for another ETag      -> process ("stale")       unless onlyOutdated
 *   same ETag, current extractor   -> skip ("up-to-date")
 *   document by a NEWER extractor  -> skip ("newer-extractor": never downgrade)
 *
 * Extractor versions are compared as semantic versions, not as strings ("1.10.0" > "1.9.0").
 */
import type { ItemSummary, ItemVersion } from "../extractor/store";

/** One object of a bucket listing, whichever API produced it. */
export interface ObjectListing {
  key: string;
  size: number;
  /** Without quotes. */
  etag: string;
  /** ISO-8601. */
  lastModified?: string;
}

export type ProcessReason = "missing" | "outdated" | "stale";
export type SkipReason = "up-to-date" | "newer-extractor" | "not-outdated";

export type Decision =
  | {
      action: "process";
      reason: ProcessReason;
      /** The item the write must still find (null: none): the compare-and-swap of MetadataStore.putBackfillDocument. */
      expected: ItemVersion | null;
    }
  | { action: "skip"; reason: SkipReason };

export interface SelectOptions {
  /** Only re-process existing documents from an older extractor (skip missing and stale ones). */
  onlyOutdated?: boolean;
  /** The running extractor's version (lib/schema.ts EXTRACTOR_VERSION). */
  extractorVersion: string;
}

function parseVersion(v: string): { main: number[]; pre: string[] } | undefined {
  const m = /^v?(\d+(?:\.\d+)*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v.trim());
  if (!m) return undefined;
  return { main: m[1].split(".").map(Number), pre: m[2] ? m[2].split(".") : [] };
}

/**
 * Semantic-version order of two extractor versions: negative when a is older than b.
 * Missing parts count as 0 ("1.2" = "1.2.0"); a pre-release sorts before its release
 * ("1.1.0-rc.1" < "1.1.0"); anything unparsable (or absent) is older than any version.
 */
export function compareExtractorVersions(a: string | undefined, b: string | undefined): number {
  const pa = a === undefined ? undefined : parseVersion(a);
  const pb = b === undefined ? undefined : parseVersion(b);
  if (!pa || !pb) return pa ? 1 : pb ? -1 : 0;
  for (let i = 0; i < Math.max(pa.main.length, pb.main.length); i++) {
    const d = (pa.main[i] ?? 0) - (pb.main[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (pa.pre.length === 0 || pb.pre.length === 0) return pa.pre.length === 0 ? (pb.pre.length === 0 ? 0 : 1) : -1;
  for (let i = 0; i < Math.max(pa.pre.length, pb.pre.length); i++) {
    const x = pa.pre[i];
    const y = pb.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny && Number(x) !== Number(y)) return Math.sign(Number(x) - Number(y));
    if (nx !== ny) return nx ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function versionOf(item: ItemSummary): ItemVersion {
  const v: ItemVersion = { sequencer: item.sequencer };
  if (item.etag !== undefined) v.etag = item.etag;
  if (item.extractorVersion !== undefined) v.extractorVersion = item.extractorVersion;
  if (item.deleted) v.deleted = true;
  return v;
}

/** What the backfill does with one listed object, given the table's item for its key (undefined: none). */
export function decide(object: ObjectListing, item: ItemSummary | undefined, options: SelectOptions): Decision {
  if (item === undefined || item.deleted) {
    if (options.onlyOutdated) return { action: "skip", reason: "not-outdated" };
    return { action: "process", reason: "missing", expected: item ? versionOf(item) : null };
  }
  const order = compareExtractorVersions(item.extractorVersion, options.extractorVersion);
  if (order < 0) return { action: "process", reason: "outdated", expected: versionOf(item) };
  if (order > 0) return { action: "skip", reason: "newer-extractor" };
  if (item.etag !== object.etag) {
    if (options.onlyOutdated) return { action: "skip", reason: "not-outdated" };
    return { action: "process", reason: "stale", expected: versionOf(item) };
  }
  return { action: "skip", reason: "up-to-date" };
}

/** An ETag as listings give it ("\"abc\"") without its quotes. */
export function unquoteEtag(etag: string | undefined): string {
  return (etag ?? "").replace(/"/g, "");
}

/** Normalizes LastModified from ListObjectsV2 (a Date), an ItemReader item (epoch seconds) or JSON (ISO text). */
export function lastModifiedIso(value: Date | string | number | undefined): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  if (typeof value === "number") {
    // Step Functions' ItemReader gives epoch seconds; tolerate milliseconds too.
    const ms = value < 1e12 ? value * 1000 : value;
    return new Date(ms).toISOString();
  }
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
