/**
 * Whole-table statistics (GET /stats), defined once: what one document contributes to the
 * running totals (flat counters), and how totals become the answer of GET /stats. The stats
 * aggregator (handlers/stats) keeps the totals as documents change; the dashboard draws the
 * same buckets. Browser-safe: no Node APIs.
 *
 * A document's contribution is a pure function of its stored item, so the aggregator can
 * move a document from one state to another by adding (new - old) and stay exact however
 * often a change is replayed (see handlers/stats/aggregator.ts).
 */
import type { MetadataDocument } from "./schema";

/** Flat counters: name -> number (names like "status:ok", "codec:h264", "pt:100"). */
export type Counters = Record<string, number>;

export const RESOLUTION_BUCKETS = [
  { label: "≤360p", max: 360 },
  { label: "480p", max: 576 },
  { label: "720p", max: 720 },
  { label: "1080p", max: 1080 },
  { label: "1440p", max: 1440 },
  { label: "4K+", max: Number.POSITIVE_INFINITY },
] as const;

export const DURATION_BUCKETS = [
  { label: "<10s", max: 10 },
  { label: "10s–1m", max: 60 },
  { label: "1–5m", max: 300 },
  { label: "5–20m", max: 1200 },
  { label: "20–60m", max: 3600 },
  { label: "≥1h", max: Number.POSITIVE_INFINITY },
] as const;

/** Upper bounds (ms) of the processing-time histogram; percentiles are read from it. */
export const PROCESSING_MS_BOUNDS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 60_000] as const;

const STATUSES = ["ok", "unprocessable"] as const;
const KINDS = ["video", "audio", "image", "other"] as const;

type Item = Partial<MetadataDocument> & { deleted?: boolean };

/** The main video stream (not cover art); an image's only picture counts. */
function primaryVideo(doc: Item) {
  const streams = doc.streams ?? [];
  return (
    streams.find((s) => s.kind === "video" && !s.attachedPic) ??
    (doc.kind === "image" ? streams.find((s) => s.kind === "video") : undefined)
  );
}

/** Codecs a file uses (each once): video, audio and subtitle streams, not cover art. */
export function codecsOf(doc: Item): string[] {
  return [
    ...new Set(
      (doc.streams ?? [])
        .filter((s) => (s.kind === "video" || s.kind === "audio" || s.kind === "subtitle") && s.codec && !s.attachedPic)
        .map((s) => s.codec as string),
    ),
  ];
}

/** A video's resolution bucket, by the short side of its main video stream (portrait 1080×1920 is 1080p). */
export function resolutionBucketOf(doc: Item): string | undefined {
  if (doc.status !== "ok" || doc.kind !== "video") return undefined;
  const v = primaryVideo(doc);
  if (!v?.width || !v.height) return undefined;
  const short = Math.min(v.width, v.height);
  return RESOLUTION_BUCKETS.find((b) => short <= b.max)?.label;
}

/** An audio or video file's duration bucket. */
export function durationBucketOf(doc: Item): string | undefined {
  if (doc.status !== "ok" || (doc.kind !== "video" && doc.kind !== "audio")) return undefined;
  const d = doc.container?.durationSec;
  if (d === undefined || !Number.isFinite(d)) return undefined;
  return DURATION_BUCKETS.find((b) => d < b.max)?.label;
}

/** The processing-time bucket of `ms`: its upper bound, or "inf". */
export function processingBucketOf(ms: number): string {
  const bound = PROCESSING_MS_BOUNDS.find((b) => ms <= b);
  return bound === undefined ? "inf" : String(bound);
}

/** Is this stored item a live document (not a tombstone, not absent)? */
export function isLiveDocument(item: Item | undefined): item is Item {
  return !!item && item.deleted !== true && (item.status === "ok" || item.status === "unprocessable");
}

/** What one stored item adds to the totals; nothing for a tombstone or an absent item. */
export function contributionOf(item: Item | undefined): Counters {
  if (!isLiveDocument(item)) return {};
  const c: Counters = { files: 1, [`status:${item.status}`]: 1, [`kind:${item.kind ?? "other"}`]: 1 };
  if (Number.isFinite(item.size)) c.bytes = item.size as number;
  if (item.status === "ok") {
    const d = item.container?.durationSec;
    if (d !== undefined && Number.isFinite(d) && (item.kind === "video" || item.kind === "audio")) {
      c.durationMs = Math.round(d * 1000);
    }
    for (const codec of codecsOf(item)) c[`codec:${codec}`] = 1;
    const res = resolutionBucketOf(item);
    if (res) c[`res:${res}`] = 1;
    const dur = durationBucketOf(item);
    if (dur) c[`dur:${dur}`] = 1;
  }
  if (Number.isFinite(item.probeMs)) {
    c[`pt:${processingBucketOf(item.probeMs as number)}`] = 1;
    c.processingMs = Math.round(item.probeMs as number);
  }
  return c;
}

/** new - old, without zero entries. */
export function deltaOf(oldItem: Item | undefined, newItem: Item | undefined): Counters {
  const delta: Counters = { ...contributionOf(newItem) };
  for (const [name, v] of Object.entries(contributionOf(oldItem))) delta[name] = (delta[name] ?? 0) - v;
  for (const name of Object.keys(delta)) if (delta[name] === 0) delete delta[name];
  return delta;
}

/** a + b, in place into a. */
export function addCounters(a: Counters, b: Counters): Counters {
  for (const [name, v] of Object.entries(b)) a[name] = (a[name] ?? 0) + v;
  return a;
}

export interface Datum {
  label: string;
  value: number;
}

/** GET /stats: totals over every live document in the table. */
export interface TableStats {
  files: number;
  byStatus: Record<(typeof STATUSES)[number], number>;
  byKind: Record<(typeof KINDS)[number], number>;
  totalBytes: number;
  /** Sum of the container durations of processed audio and video files, in seconds. */
  totalDurationSec: number;
  /** Files using each codec (a file counts once per codec), most used first. */
  codecs: Datum[];
  /** Processed videos by resolution bucket (RESOLUTION_BUCKETS order). */
  resolutions: Datum[];
  /** Processed audio and video by duration bucket (DURATION_BUCKETS order). */
  durations: Datum[];
  /** ffprobe time per file: percentiles read from a histogram (upper bounds of PROCESSING_MS_BOUNDS). */
  processingMs: {
    count: number;
    meanMs?: number;
    p50Ms?: number;
    p90Ms?: number;
    p99Ms?: number;
    histogram: Datum[];
  };
  /** When the totals last changed (ISO-8601), if ever. */
  updatedAt?: string;
}

/** The upper bound of the bucket holding the q-quantile (0 < q <= 1); Infinity past the last bound. */
export function percentileOf(histogram: readonly Datum[], q: number): number | undefined {
  const total = histogram.reduce((n, d) => n + d.value, 0);
  if (total <= 0) return undefined;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const d of histogram) {
    seen += d.value;
    if (seen >= rank) return d.label === "inf" ? Number.POSITIVE_INFINITY : Number(d.label);
  }
  return undefined;
}

/** The answer of GET /stats from the running totals. */
export function statsFromCounters(c: Counters, updatedAt?: string): TableStats {
  const n = (name: string) => Math.max(0, c[name] ?? 0);
  const codecs = Object.keys(c)
    .filter((k) => k.startsWith("codec:") && n(k) > 0)
    .map((k) => ({ label: k.slice("codec:".length), value: n(k) }))
    .sort((a, b) => b.value - a.value || (a.label < b.label ? -1 : 1));
  const histogram = [...PROCESSING_MS_BOUNDS.map(String), "inf"].map((label) => ({ label, value: n(`pt:${label}`) }));
  const count = histogram.reduce((s, d) => s + d.value, 0);
  const finite = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? undefined : v);
  return {
    files: n("files"),
    byStatus: Object.fromEntries(STATUSES.map((s) => [s, n(`status:${s}`)])) as TableStats["byStatus"],
    byKind: Object.fromEntries(KINDS.map((k) => [k, n(`kind:${k}`)])) as TableStats["byKind"],
    totalBytes: n("bytes"),
    totalDurationSec: n("durationMs") / 1000,
    codecs,
    resolutions: RESOLUTION_BUCKETS.map((b) => ({ label: b.label, value: n(`res:${b.label}`) })),
    durations: DURATION_BUCKETS.map((b) => ({ label: b.label, value: n(`dur:${b.label}`) })),
    processingMs: {
      count,
      ...(count > 0 ? { meanMs: Math.round(n("processingMs") / count) } : {}),
      ...(count > 0
        ? {
            p50Ms: finite(percentileOf(histogram, 0.5)),
            p90Ms: finite(percentileOf(histogram, 0.9)),
            p99Ms: finite(percentileOf(histogram, 0.99)),
          }
        : {}),
      histogram,
    },
    ...(updatedAt ? { updatedAt } : {}),
  };
}
