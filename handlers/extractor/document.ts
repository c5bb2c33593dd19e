/**
 * From ffprobe's JSON to the compact metadata document (lib/schema.ts), bounded in size.
 */
import {
  type ContainerSummary,
  EXTRACTOR_VERSION,
  MAX_DOCUMENT_BYTES,
  MAX_REASON_CHARS,
  MAX_STREAMS,
  type MediaKind,
  type MetadataDocument,
  SCHEMA_VERSION,
  type StreamKind,
  type StreamSummary,
  TAG_LIMITS,
} from "../../lib/schema";
import type { FfprobeFormat, FfprobeOutput, FfprobeStream } from "./ffprobe";

/** Facts about the object and the run that ffprobe's output does not carry. */
export interface DocumentContext {
  bucket: string;
  key: string;
  size: number;
  etag?: string;
  versionId?: string;
  contentType?: string;
  sequencer: string;
  eventTime: string;
  ffprobeVersion: string;
  bytesRead: number;
  probeMs: number;
  processedAt: string;
}

function num(value: string | number | undefined): number | undefined {
  if (value === undefined || value === "" || value === "N/A") return undefined;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function int(value: string | number | undefined): number | undefined {
  const n = num(value);
  return n === undefined ? undefined : Math.round(n);
}

/** "30000/1001" -> 29.97; "0/0" -> undefined. */
export function parseRate(rate: string | undefined): number | undefined {
  if (!rate) return undefined;
  const [n, d] = rate.split("/").map(Number);
  if (!Number.isFinite(n) || !Number.isFinite(d) || d === 0 || n === 0) return undefined;
  return Math.round((n / d) * 1000) / 1000;
}

function streamKind(codecType: string | undefined): StreamKind {
  switch (codecType) {
    case "video":
    case "audio":
    case "subtitle":
    case "data":
    case "attachment":
      return codecType;
    default:
      return "unknown";
  }
}

/** Display rotation: the display matrix side data (current builds) or the legacy `rotate` tag. */
function rotation(stream: FfprobeStream): number | undefined {
  const fromMatrix = stream.side_data_list?.find((s) => typeof s.rotation === "number")?.rotation;
  const raw = fromMatrix ?? num(stream.tags?.rotate);
  if (raw === undefined) return undefined;
  const normalized = ((Math.round(raw) % 360) + 360) % 360;
  return normalized === 0 ? undefined : normalized;
}

function language(stream: FfprobeStream): string | undefined {
  const lang = stream.tags?.language;
  return lang && lang !== "und" ? lang : undefined;
}

export function summarizeStream(stream: FfprobeStream): StreamSummary {
  const kind = streamKind(stream.codec_type);
  const summary: StreamSummary = {
    index: stream.index,
    kind,
    codec: stream.codec_name,
    profile: stream.profile && stream.profile !== "unknown" ? stream.profile : undefined,
    language: language(stream),
    bitRate: int(stream.bit_rate),
    durationSec: num(stream.duration),
  };
  if (kind === "video") {
    summary.width = stream.width;
    summary.height = stream.height;
    summary.frameRate = parseRate(stream.avg_frame_rate) ?? parseRate(stream.r_frame_rate);
    summary.pixelFormat = stream.pix_fmt;
    summary.rotation = rotation(stream);
    if (stream.disposition?.attached_pic === 1) summary.attachedPic = true;
  }
  if (kind === "audio") {
    summary.sampleRate = int(stream.sample_rate);
    summary.channels = stream.channels;
    summary.channelLayout = stream.channel_layout;
  }
  return dropUndefined(summary);
}

/** Formats whose "video" is a still picture (or a short animation we treat as a picture). */
const IMAGE_FORMATS = /(^|,)(image2|[a-z0-9]+_pipe|gif|webp|apng)(,|$)/;

export function mediaKind(format: FfprobeFormat | undefined, streams: StreamSummary[]): MediaKind {
  const pictures = streams.filter((s) => s.kind === "video" && !s.attachedPic);
  const audio = streams.some((s) => s.kind === "audio");
  if (pictures.length > 0 && IMAGE_FORMATS.test(format?.format_name ?? "") && !audio) return "image";
  if (pictures.length > 0) return "video";
  if (audio) return "audio";
  return "other";
}

/** Tags shown first when there are more than the limits allow. */
const PREFERRED_TAGS = [
  "title",
  "artist",
  "album_artist",
  "album",
  "date",
  "creation_time",
  "genre",
  "track",
  "disc",
  "composer",
  "copyright",
  "description",
  "comment",
  "encoder",
  "major_brand",
  "compatible_brands",
  "location",
  "com.apple.quicktime.location.ISO6709",
];

const utf8Bytes = (s: string) => Buffer.byteLength(s, "utf8");

function truncateChars(s: string, max: number): string {
  // A string of at most `max` UTF-16 units has at most `max` characters; longer ones are walked
  // only up to the cut, not split whole (an ID3 frame can be hundreds of kilobytes).
  if (s.length <= max) return s;
  let seen = 0;
  let cut = 0;
  let at = 0;
  for (const ch of s) {
    if (seen === max - 1) cut = at;
    seen += 1;
    if (seen > max) return `${s.slice(0, cut)}…`;
    at += ch.length;
  }
  return s;
}

/** Keeps a bounded selection of container tags (TAG_LIMITS); reports whether anything was cut. */
export function selectTags(tags: Record<string, string> | undefined): {
  tags: Record<string, string>;
  truncated: boolean;
} {
  const out: Record<string, string> = {};
  if (!tags) return { tags: out, truncated: false };
  const byLowerName = new Map(Object.keys(tags).map((k) => [k.toLowerCase(), k]));
  const preferred = PREFERRED_TAGS.map((t) => byLowerName.get(t.toLowerCase())).filter((k): k is string => !!k);
  const ordered = [...new Set([...preferred, ...Object.keys(tags).sort()])];
  let truncated = false;
  let total = 0;
  for (const key of ordered) {
    if (Object.keys(out).length >= TAG_LIMITS.maxTags) {
      truncated = true;
      break;
    }
    const name = truncateChars(key, TAG_LIMITS.maxKeyChars);
    const value = truncateChars(String(tags[key]), TAG_LIMITS.maxValueChars);
    if (name !== key || value !== tags[key]) truncated = true;
    const cost = utf8Bytes(name) + utf8Bytes(value);
    if (total + cost > TAG_LIMITS.maxTotalBytes) {
      truncated = true;
      continue;
    }
    total += cost;
    out[name] = value;
  }
  return { tags: out, truncated };
}

function container(format: FfprobeFormat): ContainerSummary {
  return dropUndefined({
    format: format.format_name ?? "unknown",
    formatLongName: format.format_long_name,
    durationSec: num(format.duration),
    bitRate: int(format.bit_rate),
    startTimeSec: num(format.start_time),
    probeScore: format.probe_score,
  });
}

function base(ctx: DocumentContext): Omit<MetadataDocument, "status" | "kind" | "streams" | "tags"> {
  return dropUndefined({
    schemaVersion: SCHEMA_VERSION,
    bucket: ctx.bucket,
    key: ctx.key,
    size: ctx.size,
    etag: ctx.etag,
    versionId: ctx.versionId,
    contentType: ctx.contentType,
    ffprobeVersion: ctx.ffprobeVersion,
    extractorVersion: EXTRACTOR_VERSION,
    processedAt: ctx.processedAt,
    bytesRead: ctx.bytesRead,
    probeMs: ctx.probeMs,
    sequencer: ctx.sequencer,
    eventTime: ctx.eventTime,
  });
}

/** A document for an object ffprobe could not read; `reason` says why in words. */
export function unprocessableDocument(ctx: DocumentContext, reason: string): MetadataDocument {
  return {
    ...base(ctx),
    status: "unprocessable",
    reason: truncateChars(reason, MAX_REASON_CHARS),
    kind: "other",
    streams: [],
    tags: {},
  };
}

/**
 * The document for a successful probe. Output that describes no media (no streams) is
 * unprocessable. The result is always within MAX_DOCUMENT_BYTES.
 */
export function buildDocument(ctx: DocumentContext, output: FfprobeOutput): MetadataDocument {
  const format = output.format;
  const allStreams = (output.streams ?? []).map(summarizeStream);
  if (!format || allStreams.length === 0) {
    return unprocessableDocument(ctx, "ffprobe found no audio, video or image streams: not a media file");
  }
  const { tags, truncated } = selectTags(format.tags);
  const doc: MetadataDocument = {
    ...base(ctx),
    status: "ok",
    kind: mediaKind(format, allStreams),
    container: container(format),
    streams: allStreams.slice(0, MAX_STREAMS),
    tags,
  };
  if (allStreams.length > MAX_STREAMS) doc.streamsTruncated = true;
  if (truncated) doc.tagsTruncated = true;
  return boundDocument(doc);
}

export function documentBytes(doc: MetadataDocument): number {
  return utf8Bytes(JSON.stringify(doc));
}

/** Last resort against pathological input: drop tags, then streams, until the document fits. */
export function boundDocument(doc: MetadataDocument): MetadataDocument {
  if (documentBytes(doc) <= MAX_DOCUMENT_BYTES) return doc;
  const bounded: MetadataDocument = { ...doc, tags: {}, tagsTruncated: true };
  while (documentBytes(bounded) > MAX_DOCUMENT_BYTES && bounded.streams.length > 0) {
    bounded.streams = bounded.streams.slice(0, Math.floor(bounded.streams.length / 2));
    bounded.streamsTruncated = true;
  }
  return bounded;
}

function dropUndefined<T extends object>(obj: T): T {
  for (const k of Object.keys(obj) as (keyof T)[]) if (obj[k] === undefined) delete obj[k];
  return obj;
}
