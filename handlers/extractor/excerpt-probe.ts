/**
 * Probing a large MP4 / MOV without reading its first video frame.
 *
 * ffprobe names a video stream's pixel format and profile after it has read the stream's first
 * packet whole: in an MP4 the first sample, a key frame that can be larger than the whole
 * movie header (535 KB in the bench's 1 GB file, whose `moov` is 196 KB). The facts come from
 * the parameter sets and the first slice header, a few hundred bytes. So, for an H.264 / HEVC
 * track whose first sample is large:
 *
 * 1. the movie header is read once (mp4-first-sample.ts), through the range proxy's cache, so
 *    ffprobe reading it next costs nothing more;
 * 2. ffprobe reads the file with `-probesize 32`: the header and at most one packet;
 * 3. if a video stream then lacks facts, ffprobe reads an excerpt (annexb-excerpt.ts: the
 *    track's parameter sets and the first 16 KiB of its first sample, the slice cut after
 *    4 KiB) as a raw H.264 / HEVC stream, and only the facts the first run lacks are taken
 *    from it (EXCERPT_FACTS);
 * 4. the result is used only when every stream has the facts the document reports
 *    (lacksFacts); otherwise the caller probes the file as before.
 *
 * Every fixture's document is the same either way: tests/integration/excerpt-probe.test.ts
 * probes each MP4 fixture and H.264 / HEVC variants (High 10, 4:2:2, full range) both ways.
 */
import { Readable } from "node:stream";
import { annexBExcerpt } from "./annexb-excerpt";
import type { FfprobeOutput, FfprobeRun, FfprobeStream, RunFfprobeOptions } from "./ffprobe";
import { type FirstVideoSample, findFirstVideoSample } from "./mp4-first-sample";
import { type ByteSource, type RangeProxy, startRangeProxy } from "./range-proxy";

/**
 * How a probe read the file: "whole" as ffprobe decides (up to 5 MB of packets), "header" with
 * `-probesize 32` (the header and one packet), "excerpt" that and the excerpt's run.
 */
export type Reading = "whole" | "header" | "excerpt";

/** A first video sample smaller than this is read by ffprobe as before: one process, a few KB more. */
export const EXCERPT_MIN_SAMPLE_BYTES = 128 * 1024;
/** Bytes read at the start, before the box headers: what ffprobe's first request fetches anyway. */
const HEAD_BYTES = 16 * 1024;
/** Bytes of the first sample read for the excerpt, then more when SEI units come before its first slice. */
const SAMPLE_HEAD_BYTES = [16 * 1024, 64 * 1024];

/** Stream facts taken from the excerpt's run when the first run lacks them: all come from the parameter sets and slice header. */
export const EXCERPT_FACTS = [
  "profile",
  "pix_fmt",
  "level",
  "bits_per_raw_sample",
  "chroma_location",
  "field_order",
  "color_range",
  "color_space",
  "color_transfer",
  "color_primaries",
] as const;

/**
 * Stream facts the first run takes from the sample entry and the whole read from the decoded
 * frame: the excerpt's run must agree with the first run on them.
 */
const DECODED_SIZE = ["width", "height"] as const;

/** Values ffprobe prints for a fact it does not know. */
function unknown(value: unknown): boolean {
  return value === undefined || value === "unknown" || value === -99;
}

/**
 * Codecs whose ffprobe stream always names a profile once a packet or the decoder's
 * configuration was read (AAC's comes from its first packet, not from the `esds` record).
 */
const PROFILED_CODECS = new Set(["h264", "hevc", "aac", "mpeg4", "mpeg2video", "prores", "vp9", "av1", "dnxhd", "dts"]);

/**
 * Audio codecs whose facts after the first run are the decoder's, as in the whole read: AAC's
 * profile comes only from a decoded packet, and MP3's frame size makes ffprobe decode one. Any
 * other codec can keep the container's word: AC-3's `dac3` said mono over stereo frames, and the
 * first run reported mono where the whole read reports stereo (tests/security/excerpt-attacks).
 */
const HEADER_READ_AUDIO = new Set(["aac", "mp3"]);

/**
 * Whether a stream of the first run lacks a fact its document reports (document.ts
 * summarizeStream): then the file is probed as before.
 */
export function lacksFacts(stream: FfprobeStream): boolean {
  if (PROFILED_CODECS.has(stream.codec_name ?? "") && unknown(stream.profile)) return true;
  if (stream.codec_type === "video") return unknown(stream.pix_fmt) || !(Number(stream.width) > 0);
  if (stream.codec_type === "audio") {
    if (!HEADER_READ_AUDIO.has(stream.codec_name ?? "")) return true;
    return (
      !(Number(stream.sample_rate) > 0) ||
      !(Number(stream.channels) > 0) ||
      !stream.channel_layout ||
      unknown(stream.channel_layout)
    );
  }
  return false;
}

/** An in-memory byte source: the excerpt, served to ffprobe by a range proxy of its own. */
export function bufferSource(data: Buffer): ByteSource {
  return {
    size: data.length,
    async read(start, end) {
      return { body: Readable.from([data.subarray(start, end + 1)]) };
    },
  };
}

/** The first video sample worth an excerpt, or undefined (then the file is probed as before). */
export async function excerptCandidate(
  proxy: RangeProxy,
  size: number,
  minSampleBytes = EXCERPT_MIN_SAMPLE_BYTES,
  signal?: AbortSignal,
): Promise<FirstVideoSample | undefined> {
  // A file under twice the threshold cannot hold a header and a first sample worth an excerpt:
  // it is probed as before, without reading its header first.
  if (size < minSampleBytes * 2) return undefined;
  try {
    await proxy.readBytes(0, Math.min(size, HEAD_BYTES) - 1, signal);
    const sample = await findFirstVideoSample((start, end) => proxy.readBytes(start, end, signal), size);
    // When the video frame comes first, the first run would read it whole: probe as before.
    return sample && sample.size >= minSampleBytes && sample.afterOtherSamples ? sample : undefined;
  } catch {
    // An S3 failure is kept in the proxy's stats (and stops the probe): the caller reports it.
    return undefined;
  }
}

async function readExcerpt(
  proxy: RangeProxy,
  sample: FirstVideoSample,
  signal?: AbortSignal,
): Promise<Buffer | undefined> {
  for (const bytes of SAMPLE_HEAD_BYTES) {
    const head = await proxy.readBytes(sample.offset, sample.offset + Math.min(sample.size, bytes) - 1, signal);
    const excerpt = annexBExcerpt(sample.codec, sample.config, head);
    if (excerpt || bytes >= sample.size) return excerpt;
  }
  return undefined;
}

/** ffprobe's JSON of the first run with the facts it lacks from the excerpt's run, or undefined. */
export function withExcerptFacts(
  first: FfprobeOutput,
  excerpt: FfprobeOutput | undefined,
  sample: Pick<FirstVideoSample, "codec" | "track">,
): FfprobeOutput | undefined {
  const { codec, track } = sample;
  const streams = first.streams ?? [];
  // The excerpt describes one track: the stream at its position with its track_ID, and no other.
  // (ffprobe also reads a track whose handler is not "vide" as video when its entry is avc1,
  // so the first video stream of the codec can be another track's.)
  const target = track.index;
  const stream = streams[target] as (FfprobeStream & { id?: string }) | undefined;
  const id = track.id === undefined ? undefined : `0x${track.id.toString(16)}`;
  const sameId = streams.filter((s) => (s as { id?: string }).id === id);
  if (!stream || id === undefined || stream.id !== id || sameId.length !== 1 || stream.index !== target) {
    return undefined;
  }
  if (stream.codec_type !== "video" || stream.codec_name !== codec) return undefined;
  const facts = excerpt?.streams?.[0];
  if (!facts || facts.codec_name !== codec) return undefined;
  const merged: Record<string, unknown> = { ...streams[target] };
  const known: Record<string, unknown> = { ...facts };
  // The whole read reports the size the decoder found in the frame's parameter sets, not the
  // sample entry's (which a file can state otherwise): when the two differ, probe as before.
  for (const name of DECODED_SIZE) {
    if (!unknown(known[name]) && known[name] !== merged[name]) return undefined;
  }
  for (const name of EXCERPT_FACTS) {
    if (unknown(merged[name]) && !unknown(known[name])) merged[name] = known[name];
  }
  const out = { ...first, streams: streams.map((s, i) => (i === target ? (merged as unknown as FfprobeStream) : s)) };
  return out.streams.some(lacksFacts) ? undefined : out;
}

function usable(run: FfprobeRun): boolean {
  return run.exitCode === 0 && !run.timedOut && run.output !== undefined && run.stdout !== undefined;
}

/**
 * Steps 2 to 4 above. `run` runs ffprobe with the caller's limits and the time left. Returns
 * the run to use (with the excerpt: its output and stdout hold the excerpt's facts, its CPU and
 * time are both runs'), the run that timed out (the caller's deadline rules decide, on the time
 * of every run), or undefined when the file must be probed as before.
 */
export async function probeWithExcerpt(
  proxy: RangeProxy,
  sample: FirstVideoSample,
  run: (input: string, read: RunFfprobeOptions["read"]) => Promise<FfprobeRun>,
  signal?: AbortSignal,
): Promise<{ run: FfprobeRun; reading: Reading } | undefined> {
  const first = await run(proxy.url, { probeSize: 32 });
  if (first.timedOut) return { run: first, reading: "header" };
  if (!usable(first)) return undefined;
  const streams = first.output?.streams ?? [];
  if (!streams.some(lacksFacts)) return { run: first, reading: "header" };
  const excerpt = await readExcerpt(proxy, sample, signal).catch(() => undefined);
  if (!excerpt) return undefined;
  const excerptProxy = await startRangeProxy({ source: bufferSource(excerpt) });
  let second: FfprobeRun;
  try {
    second = await run(excerptProxy.url, { format: sample.codec });
  } finally {
    await excerptProxy.close();
  }
  // The deadline passed: a run after this one would get no time (the caller sums the runs' time).
  // (Its partial output names the excerpt's proxy, which withoutProxyUrl does not know: dropped.)
  if (second.timedOut) return { run: { ...second, output: undefined, stdout: undefined }, reading: "excerpt" };
  // The excerpt's slice is cut short: ffprobe's decoder says so, and exits 0 with the facts.
  const output = first.output && withExcerptFacts(first.output, second.output, sample);
  if (!output) return undefined;
  const combined: FfprobeRun = {
    ...first,
    output,
    stdout: Buffer.from(JSON.stringify(output)),
    cpuMs: (first.cpuMs ?? 0) + (second.cpuMs ?? 0),
    waitMs: (first.waitMs ?? 0) + (second.waitMs ?? 0),
    ms: first.ms + second.ms,
  };
  return { run: combined, reading: "excerpt" };
}
