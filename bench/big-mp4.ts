/**
 * The bench's large input: an MP4 of more than 1 GiB with its moov atom at the END
 * (ffmpeg's default layout, the worst case for reading in place).
 *
 * Made fast and once: a 10 s 1280x720 clip is encoded (x264 ultrafast, ~40 Mbit/s: noise on
 * a test pattern, so the bitrate is real; a keyframe every 2 s and an 8 Mbit VBV buffer, so
 * frame sizes are steady like a camera's, not a huge first frame), then stream-copied in a
 * loop (`-stream_loop N -c copy`) until the file passes 1 GiB, without re-encoding.
 * Both files are cached under .cache/bench/ by a hash of their recipe; each is written
 * under a temp name and renamed, so an interrupted run never leaves a half file.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { runFfmpeg } from "../media/media";
import { type Mp4Box, moovPosition, readTopLevelBoxes } from "../media/mp4-boxes";
import { BENCH_CACHE, type BenchContext } from "./section";

export const BIG_MP4_MIN_BYTES = 1024 ** 3;

const CLIP_ARGS = [
  ...["-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=10,noise=alls=12:allf=t"],
  ...["-f", "lavfi", "-i", "sine=f=440:r=48000:d=10"],
  ...["-map", "0:v", "-map", "1:a"],
  ...["-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-pix_fmt", "yuv420p"],
  ...["-b:v", "40M", "-maxrate", "40M", "-bufsize", "8M"],
  ...["-c:a", "aac", "-b:a", "128k", "-ac", "2"],
];

export interface BigMp4 {
  file: string;
  bytes: number;
  boxes: Mp4Box[];
  /** Offset of the moov box (near the end of the file). */
  moovOffset: number;
  moovBytes: number;
  /** Milliseconds spent generating in this run (0 when cached). */
  generatedMs: number;
}

function hash(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 12);
}

async function size(file: string): Promise<number | undefined> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return undefined;
  }
}

async function ffmpegTo(file: string, args: string[], format = "mp4"): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await runFfmpeg(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", ...args, "-f", format, tmp], {
      timeoutMs: 10 * 60_000,
    });
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** The 10 s clip every big input is looped from (encoded once, cached); its recipe's hash. */
export async function ensureClip(ctx: BenchContext): Promise<{ clip: string; clipKey: string; bytes: number }> {
  await fs.mkdir(BENCH_CACHE, { recursive: true });
  const clipKey = hash({ v: 1, CLIP_ARGS });
  const clip = path.join(BENCH_CACHE, `clip-${clipKey}.mp4`);
  if ((await size(clip)) === undefined) {
    ctx.log("encoding a 10 s 1280x720 ~40 Mbit/s clip (once; cached under .cache/bench)...");
    await ffmpegTo(clip, CLIP_ARGS);
  }
  return { clip, clipKey, bytes: (await size(clip)) ?? 0 };
}

/** Loops the clip with -c copy into `file` (via a temp name) in `format`, until it passes 1 GiB. */
export async function loopClip(
  clip: string,
  clipBytes: number,
  file: string,
  format: string,
  extra: string[] = [],
): Promise<void> {
  // The copies share one index, so N copies are a little smaller than N clips: one spare loop.
  const loops = Math.ceil(BIG_MP4_MIN_BYTES / clipBytes);
  await ffmpegTo(file, ["-stream_loop", String(loops), "-i", clip, "-map", "0", "-c", "copy", ...extra], format);
}

export function recipeHash(value: unknown): string {
  return hash(value);
}

export async function ensureBigMp4(ctx: BenchContext): Promise<BigMp4> {
  const { clip, clipKey } = await ensureClip(ctx);
  const big = path.join(BENCH_CACHE, `big-moov-end-${hash({ v: 1, clipKey, BIG_MP4_MIN_BYTES })}.mp4`);
  const started = performance.now();
  let generated = false;

  if ((await size(big)) === undefined) {
    generated = true;
    const clipBytes = (await size(clip)) ?? 0;
    // The copies share one moov, so N copies are a little smaller than N clips: one spare loop.
    const loops = Math.ceil(BIG_MP4_MIN_BYTES / clipBytes);
    ctx.log(`looping the ${(clipBytes / 1e6).toFixed(1)} MB clip ${loops + 1} times with -c copy...`);
    await ffmpegTo(big, ["-stream_loop", String(loops), "-i", clip, "-map", "0", "-c", "copy"]);
  }

  const bytes = (await size(big)) ?? 0;
  const boxes = await readTopLevelBoxes(big);
  const moov = boxes.find((b) => b.type === "moov");
  if (bytes < BIG_MP4_MIN_BYTES || moovPosition(boxes) !== "end" || !moov) {
    throw new Error(
      `${big} is not a >= 1 GiB MP4 with moov at the end (size ${bytes}, boxes ${boxes.map((b) => b.type).join(",")}); delete it to regenerate`,
    );
  }
  return {
    file: big,
    bytes,
    boxes,
    moovOffset: moov.offset,
    moovBytes: moov.size,
    generatedMs: generated ? Math.round(performance.now() - started) : 0,
  };
}
