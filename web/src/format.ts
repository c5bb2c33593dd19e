/** Number, size, time and media formatting for the page (English, locale-aware numbers). */
import type { MetadataDocument, StreamSummary } from "../../lib/schema";

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

export function formatNumber(n: number): string {
  return numberFormat.format(n);
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "—";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 59.5) return `${Math.round(seconds)} s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

export function formatBitRate(bps: number | undefined): string {
  if (bps === undefined || !Number.isFinite(bps)) return "—";
  if (bps >= 1_000_000) return `${(bps / 1_000_000).toFixed(1)} Mb/s`;
  return `${Math.round(bps / 1000)} kb/s`;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "—";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function formatDateTime(iso: string | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

export function formatTime(ms: number): string {
  return timeOnly.format(new Date(ms));
}

/** "3 min ago", "yesterday"... for recent times; the date otherwise. */
export function formatRelative(iso: string | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const diff = Math.round((t - now) / 1000);
  const abs = Math.abs(diff);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  if (abs < 60) return rtf.format(diff, "second");
  if (abs < 3600) return rtf.format(Math.round(diff / 60), "minute");
  if (abs < 86_400) return rtf.format(Math.round(diff / 3600), "hour");
  if (abs < 7 * 86_400) return rtf.format(Math.round(diff / 86_400), "day");
  return formatDateTime(iso);
}

export function formatFrameRate(fps: number | undefined): string {
  if (fps === undefined || !Number.isFinite(fps) || fps <= 0) return "—";
  return `${Number.isInteger(fps) ? fps : fps.toFixed(2)} fps`;
}

export function formatChannels(channels: number | undefined, layout: string | undefined): string {
  if (layout) return layout;
  if (channels === undefined) return "—";
  if (channels === 1) return "mono";
  if (channels === 2) return "stereo";
  return `${channels} ch`;
}

export function formatSampleRate(hz: number | undefined): string {
  if (hz === undefined || !Number.isFinite(hz)) return "—";
  return `${(hz / 1000).toFixed(hz % 1000 === 0 ? 0 : 1)} kHz`;
}

/** The main video stream (not cover art), if any; an image's only picture counts. */
export function primaryVideo(doc: MetadataDocument): StreamSummary | undefined {
  return (
    doc.streams.find((s) => s.kind === "video" && !s.attachedPic) ??
    (doc.kind === "image" ? doc.streams.find((s) => s.kind === "video") : undefined)
  );
}

export function resolutionOf(doc: MetadataDocument): string | undefined {
  const v = primaryVideo(doc);
  return v?.width && v.height ? `${v.width}×${v.height}` : undefined;
}

/** Codecs of the document's streams, video first, without repeats: "h264 · aac". */
export function codecSummary(doc: MetadataDocument): string {
  const order: Record<string, number> = { video: 0, audio: 1, subtitle: 2 };
  const codecs = doc.streams
    .filter((s) => !s.attachedPic || doc.kind === "image")
    .sort((a, b) => (order[a.kind] ?? 9) - (order[b.kind] ?? 9))
    .map((s) => s.codec)
    .filter((c): c is string => Boolean(c));
  return [...new Set(codecs)].join(" · ") || "—";
}

/** Short container name: the first of ffprobe's comma-separated format names. */
export function formatName(doc: MetadataDocument): string {
  return doc.container?.format?.split(",")[0] ?? "—";
}

/** The last path segment of an object key. */
export function baseName(key: string): string {
  const i = key.lastIndexOf("/");
  return i === -1 || i === key.length - 1 ? key : key.slice(i + 1);
}
