/**
 * Chart data computed from a list of documents (the dashboard's charts use GET /stats, which
 * the aggregator computes with the same buckets, lib/stats.ts; these serve lists of loaded rows). Pure functions (no DOM), so
 * the numbers are easy to test.
 */
import type { MetadataDocument } from "../../lib/schema";
import { DURATION_BUCKETS, RESOLUTION_BUCKETS } from "../../lib/stats";
import { primaryVideo } from "./format";

export interface Datum {
  label: string;
  value: number;
}

export interface TimePoint {
  /** Epoch milliseconds. */
  t: number;
  value: number;
  key: string;
}

const ok = (docs: readonly MetadataDocument[]) => docs.filter((d) => d.status === "ok");

/** Files using each codec (a file counts once per codec), most used first; the tail folded into "other". */
export function codecMix(docs: readonly MetadataDocument[], top = 6): Datum[] {
  const counts = new Map<string, number>();
  for (const doc of ok(docs)) {
    const codecs = new Set(
      doc.streams
        .filter((s) => (s.kind === "video" || s.kind === "audio" || s.kind === "subtitle") && s.codec && !s.attachedPic)
        .map((s) => s.codec as string),
    );
    for (const c of codecs) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const sorted = [...counts]
    .map(([label, value]) => ({ label, value }))
    .sort((a, b) => b.value - a.value || (a.label < b.label ? -1 : 1));
  if (sorted.length <= top + 1) return sorted;
  const rest = sorted.slice(top).reduce((n, d) => n + d.value, 0);
  return [...sorted.slice(0, top), { label: "other", value: rest }];
}

export { DURATION_BUCKETS, RESOLUTION_BUCKETS } from "../../lib/stats";

/** Video files by the short side of their main video stream (portrait 1080×1920 is 1080p). */
export function resolutionDistribution(docs: readonly MetadataDocument[]): Datum[] {
  const counts = RESOLUTION_BUCKETS.map((b) => ({ label: b.label, value: 0 }));
  for (const doc of ok(docs)) {
    if (doc.kind !== "video") continue;
    const v = primaryVideo(doc);
    if (!v?.width || !v.height) continue;
    const short = Math.min(v.width, v.height);
    const i = RESOLUTION_BUCKETS.findIndex((b) => short <= b.max);
    counts[i].value++;
  }
  return counts;
}

/** Audio and video files by container duration. */
export function durationDistribution(docs: readonly MetadataDocument[]): Datum[] {
  const counts = DURATION_BUCKETS.map((b) => ({ label: b.label, value: 0 }));
  for (const doc of ok(docs)) {
    if (doc.kind !== "video" && doc.kind !== "audio") continue;
    const d = doc.container?.durationSec;
    if (d === undefined || !Number.isFinite(d)) continue;
    const i = DURATION_BUCKETS.findIndex((b) => d < b.max);
    counts[i].value++;
  }
  return counts;
}

/** Probe time of every document (ok or not) against the time it was processed, oldest first. */
export function processingTimeline(docs: readonly MetadataDocument[]): TimePoint[] {
  return docs
    .map((d) => ({ t: Date.parse(d.processedAt), value: d.probeMs, key: d.key }))
    .filter((p) => Number.isFinite(p.t) && Number.isFinite(p.value))
    .sort((a, b) => a.t - b.t);
}

/** A "nice" step (1, 2 or 5 × 10^n) for about `count` intervals up to `max`, and the axis top it gives. */
export function niceScale(max: number, count = 4): { step: number; top: number } {
  if (!(max > 0)) return { step: 1, top: count };
  const raw = max / count;
  const exp = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * exp >= raw) ?? 10) * exp;
  return { step, top: Math.ceil(max / step) * step };
}
