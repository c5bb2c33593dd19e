/** Number, size, time and media formatting for the page (English, locale-aware numbers). */
import type { MetadataDocument, StreamSummary } from "../../lib/schema";

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

export function formatNumber(n: number): string {
  return numberFormat.format(n);
}

/** Sizes in binary units (KiB, MiB, GiB): one definition, in lib/uploads.ts. */
export { formatBytes } from "../../lib/uploads";

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

/**
 * A total of durations, never clock-like: "45 s", "15 min 01 s", "3 h 05 min", "2 d 4 h"
 * ("15:01" would read as a time of day).
 */
export function formatTotalDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "—";
  const total = Math.round(seconds);
  if (total < 60) return `${total} s`;
  const pad = (n: number) => String(n).padStart(2, "0");
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${pad(m)} min`;
  return `${m} min ${pad(s)} s`;
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

/** ffprobe's demuxer names (format_name) as people call the formats. */
const FORMAT_NAMES: Record<string, string> = {
  matroska: "Matroska",
  mp3: "MP3",
  wav: "WAV",
  flac: "FLAC",
  ogg: "Ogg",
  aac: "AAC",
  mpegts: "MPEG-TS",
  mpeg: "MPEG-PS",
  avi: "AVI",
  asf: "WMV/ASF",
  flv: "FLV",
  gif: "GIF",
  png_pipe: "PNG",
  apng: "APNG",
  jpeg_pipe: "JPEG",
  mjpeg: "JPEG",
  webp_pipe: "WebP",
  bmp_pipe: "BMP",
  tiff_pipe: "TIFF",
  svg_pipe: "SVG",
  image2: "Image",
  aiff: "AIFF",
  w64: "Wave64",
  amr: "AMR",
  ac3: "AC-3",
  eac3: "E-AC-3",
  dts: "DTS",
};

/**
 * The container as people name it: "MP4", "QuickTime", "WebM", "PNG". ffprobe reports
 * families ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"); the file's extension picks the
 * member when the family cannot tell.
 */
export function formatName(doc: MetadataDocument): string {
  const format = doc.container?.format;
  if (!format) return "—";
  const names = format.split(",");
  const ext = doc.key.split(".").pop()?.toLowerCase() ?? "";
  if (names[0] === "mov") {
    const byExt: Record<string, string> = { mov: "QuickTime", m4a: "M4A", m4v: "M4V", "3gp": "3GP", "3g2": "3G2" };
    return byExt[ext] ?? "MP4";
  }
  if (names[0] === "matroska") return ext === "webm" ? "WebM" : "Matroska";
  return FORMAT_NAMES[names[0]] ?? names[0].replace(/_pipe$/, "").toUpperCase();
}

/** The last path segment of an object key. */
export function baseName(key: string): string {
  const i = key.lastIndexOf("/");
  return i === -1 || i === key.length - 1 ? key : key.slice(i + 1);
}
