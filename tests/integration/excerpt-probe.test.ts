/**
 * The excerpt probe (handlers/extractor/excerpt-probe.ts) against the whole read: the same
 * ffprobe facts, stream by stream and field by field, for every fixture and for H.264 / HEVC
 * variants in MP4 and MOV (High, Main, Baseline, 10-bit, 4:2:2, 4:4:4, full range, rotated,
 * MP3 and ALAC audio, two audio tracks), with the excerpt forced on (no size threshold).
 *
 * The variants are made like the bench's clip (x264 without lookahead), so their first audio
 * packet comes before the first video frame in the file: the layout the excerpt serves.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { EXCERPT_MIN_SAMPLE_BYTES } from "../../handlers/extractor/excerpt-probe";
import { resolveLocalFfprobe } from "../../handlers/extractor/ffprobe";
import { fileSource } from "../../handlers/extractor/file-source";
import { findFirstVideoSample } from "../../handlers/extractor/mp4-first-sample";
import { type ProbeInPlaceResult, probeSource } from "../../handlers/extractor/probe-in-place";
import { ensureAllMedia, ffmpegPath, MEDIA_NAMES, runFfmpeg } from "../../media/media";

const INPUTS = ["-f", "lavfi", "-i", "testsrc2=s=192x108:r=30:d=1", "-f", "lavfi", "-i", "sine=f=440:r=48000:d=1"];
const X264 = ["-c:v", "libx264", "-preset", "ultrafast"];
const X265 = ["-c:v", "libx265", "-x265-params", "log-level=error:rc-lookahead=0:bframes=0"];
const AAC = ["-c:a", "aac", "-ac", "2"];

/** Variant name -> ffmpeg output arguments (the inputs above first), and how it must be read. */
const VARIANTS: Record<string, { args: string[]; reading: ProbeInPlaceResult["reading"] }> = {
  "h264-high.mp4": {
    args: ["-c:v", "libx264", "-tune", "zerolatency", "-profile:v", "high", ...AAC],
    reading: "excerpt",
  },
  "h264-main.mp4": {
    args: ["-c:v", "libx264", "-tune", "zerolatency", "-profile:v", "main", ...AAC],
    reading: "excerpt",
  },
  "h264-baseline.mp4": { args: [...X264, "-profile:v", "baseline", ...AAC], reading: "excerpt" },
  "h264-high10.mp4": { args: [...X264, "-pix_fmt", "yuv420p10le", ...AAC], reading: "excerpt" },
  "h264-422.mp4": { args: [...X264, "-pix_fmt", "yuv422p", ...AAC], reading: "excerpt" },
  "h264-444.mp4": { args: [...X264, "-pix_fmt", "yuv444p", ...AAC], reading: "excerpt" },
  "h264-full-range.mp4": { args: [...X264, "-pix_fmt", "yuvj420p", ...AAC], reading: "excerpt" },
  "h264-rotated.mp4": { args: [...X264, ...AAC, "-metadata:s:v", "rotate=90"], reading: "excerpt" },
  "h264-mp3.mp4": { args: [...X264, "-c:a", "libmp3lame"], reading: "excerpt" },
  "h264-aac.mov": { args: [...X264, ...AAC, "-f", "mov"], reading: "excerpt" },
  // The decoder reads HEVC's pixel format and profile from hvcC: the first run has them.
  "hevc-hvc1.mp4": { args: [...X265, "-tag:v", "hvc1", ...AAC], reading: "header" },
  "hevc-main10.mp4": { args: [...X265, "-pix_fmt", "yuv420p10le", ...AAC], reading: "header" },
  // One packet cannot describe ALAC or a second audio track: read as before.
  "h264-alac.mov": { args: [...X264, "-c:a", "alac", "-f", "mov"], reading: "whole" },
  "h264-two-audio.mp4": {
    args: ["-map", "0:v", "-map", "1:a", "-map", "1:a", ...X264, "-c:a:0", "aac", "-c:a:1", "libmp3lame"],
    reading: "whole",
  },
};

/** ffprobe's facts about the file: streams and format, without the run's own. */
function factsOf(run: ProbeInPlaceResult): unknown {
  return { streams: run.output?.streams, format: run.output?.format };
}

describe("excerpt probe (integration: the first video frame read as an excerpt, the same facts)", function () {
  this.timeout(300_000);
  let ffprobePath: string;
  let dir: string;
  const files = new Map<string, string>();

  before(async () => {
    ffprobePath = await resolveLocalFfprobe();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "excerpt-probe-"));
    await ffmpegPath();
    for (const [name, variant] of Object.entries(VARIANTS)) {
      const file = path.join(dir, name);
      const format = variant.args.includes("-f") ? [] : ["-f", "mp4"];
      await runFfmpeg(["-hide_banner", "-v", "error", "-y", ...INPUTS, ...variant.args, ...format, file]);
      files.set(name, file);
    }
    const fixtures = await ensureAllMedia();
    for (const name of MEDIA_NAMES) files.set(`fixture ${name}`, fixtures[name]);
  });

  after(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const probe = async (file: string, excerptMinSampleBytes: number | false) =>
    probeSource(await fileSource(file), { ffprobePath, timeoutMs: 60_000, excerptMinSampleBytes });

  for (const [name, variant] of Object.entries(VARIANTS)) {
    it(`${name}: read as "${variant.reading}", every stream and format field as the whole read gives`, async () => {
      const file = files.get(name) as string;
      const [excerpt, whole] = [await probe(file, 0), await probe(file, false)];
      expect(whole.reading).to.equal("whole");
      expect(whole.exitCode, whole.stderr).to.equal(0);
      expect(excerpt.reading).to.equal(variant.reading);
      expect(factsOf(excerpt)).to.deep.equal(factsOf(whole));
    });
  }

  it("every fixture: the same facts with the excerpt forced on as with the whole read", async () => {
    for (const name of MEDIA_NAMES) {
      const file = files.get(`fixture ${name}`) as string;
      const [excerpt, whole] = [await probe(file, 0), await probe(file, false)];
      expect(factsOf(excerpt), name).to.deep.equal(factsOf(whole));
      expect(excerpt.exitCode, name).to.equal(whole.exitCode);
    }
  });

  it("the stored raw JSON of an excerpt probe holds the excerpt's facts and no proxy address", async () => {
    const run = await probe(files.get("h264-high10.mp4") as string, 0);
    expect(run.reading).to.equal("excerpt");
    const raw = JSON.parse(run.stdout?.toString("utf8") ?? "{}");
    const video = raw.streams.find((s: { codec_type: string }) => s.codec_type === "video");
    expect([video.profile, video.pix_fmt]).to.deep.equal(["High 10", "yuv420p10le"]);
    expect(run.stdout?.toString("utf8")).not.to.match(/127\.0\.0\.1|http:/);
    expect(raw.format.filename).to.equal("object");
  });

  it("a key frame larger than the threshold is not read: by default, the excerpt probe reads a fraction of it and gets every fact", async () => {
    const file = path.join(dir, "big-key-frame.mp4");
    await runFfmpeg([
      ...["-hide_banner", "-v", "error", "-y"],
      ...["-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=0.1,noise=alls=20:allf=t"],
      ...["-f", "lavfi", "-i", "sine=f=440:r=48000:d=0.1"],
      ...[...X264, "-crf", "10", ...AAC, "-f", "mp4", file],
    ]);
    const data = await fs.readFile(file);
    const sample = await findFirstVideoSample(async (start, end) => data.subarray(start, end + 1), data.length);
    expect(sample?.size, "the fixture's first video frame").to.be.above(EXCERPT_MIN_SAMPLE_BYTES);
    const run = await probeSource(await fileSource(file), { ffprobePath, timeoutMs: 60_000 });
    const whole = await probe(file, false);
    expect(run.reading).to.equal("excerpt");
    expect(run.bytesRead).to.be.below(64 * 1024);
    expect(whole.bytesRead).to.be.above(sample?.size ?? 0);
    expect(factsOf(run)).to.deep.equal(factsOf(whole));
  });

  it("a small file is read whole by default: one ffprobe run, no header read first", async () => {
    const run = await probeSource(await fileSource(files.get("h264-high.mp4") as string), {
      ffprobePath,
      timeoutMs: 60_000,
    });
    expect(run.reading).to.equal("whole");
  });
});
