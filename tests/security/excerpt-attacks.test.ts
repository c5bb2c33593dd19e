/**
 * The excerpt probe (handlers/extractor/excerpt-probe.ts) attacked as an uploader, or a failing
 * S3, would: a sample entry that lies about the frame size, parameter sets that change after
 * the first frame, a movie-header read S3 never answers or fails, and an excerpt run killed at
 * the deadline. The document must be the whole read's, the outcome classified as before.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { expect } from "chai";
import { summarizeStream } from "../../handlers/extractor/document";
import { probeWithExcerpt } from "../../handlers/extractor/excerpt-probe";
import { type FfprobeRun, resolveLocalFfprobe } from "../../handlers/extractor/ffprobe";
import { fileSource } from "../../handlers/extractor/file-source";
import { findFirstVideoSample } from "../../handlers/extractor/mp4-first-sample";
import { probeSource } from "../../handlers/extractor/probe-in-place";
import { type ByteSource, startRangeProxy } from "../../handlers/extractor/range-proxy";
import { ffmpegPath, runFfmpeg } from "../../media/media";

const QUIET = ["-hide_banner", "-v", "error", "-y"];
const X264 = ["-c:v", "libx264", "-preset", "ultrafast"];
const AUDIO = ["-f", "lavfi", "-i", "sine=f=440:r=48000:d=1"];
const AAC = ["-c:a", "aac", "-ac", "2"];

/** The document's view of each stream (document.ts summarizeStream). */
function documentStreams(run: { output?: { streams?: unknown[] } }): unknown {
  return (run.output?.streams ?? []).map((s) => summarizeStream(s as Parameters<typeof summarizeStream>[0]));
}

/** Writes `width` x `height` into the first avc1 sample entry of an MP4 (VisualSampleEntry: at 24 and 26 of its payload). */
function withSampleEntrySize(mp4: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(mp4);
  const entry = out.indexOf("avc1", out.indexOf("stsd")) - 4;
  out.writeUInt16BE(width, entry + 8 + 24);
  out.writeUInt16BE(height, entry + 8 + 26);
  return out;
}

/** A file source whose reads from `from` on never answer until aborted (S3 stalling). */
function stallingFrom(source: ByteSource, from: number): ByteSource & { stalled: number } {
  const stalling = {
    size: source.size,
    stalled: 0,
    read(start: number, end: number, signal: AbortSignal) {
      if (start < from) return source.read(start, end, signal);
      stalling.stalled += 1;
      return new Promise<never>((_, reject) => {
        signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
      });
    },
  };
  return stalling;
}

/** Resolves with `promise`, or rejects after `ms`: the probe must not outlive its deadline by far. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

describe("excerpt probe attacks (security)", function () {
  this.timeout(120_000);
  let ffprobePath: string;
  let dir: string;
  let base: string;

  before(async () => {
    ffprobePath = await resolveLocalFfprobe();
    await ffmpegPath();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "excerpt-attacks-"));
    base = path.join(dir, "base.mp4");
    const video = ["-f", "lavfi", "-i", "testsrc2=s=192x108:r=30:d=1"];
    await runFfmpeg([...QUIET, ...video, ...AUDIO, ...X264, ...AAC, "-f", "mp4", base]);
  });

  after(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const probe = async (file: string, excerptMinSampleBytes: number | false, timeoutMs = 60_000) =>
    probeSource(await fileSource(file), { ffprobePath, timeoutMs, excerptMinSampleBytes });

  it("a sample entry claiming 1920x1080 over a 192x108 stream: the document gives the decoded size, as the whole read does", async () => {
    const file = path.join(dir, "lying-size.mp4");
    await fs.writeFile(file, withSampleEntrySize(await fs.readFile(base), 1920, 1080));
    const [excerpt, whole] = [await probe(file, 0), await probe(file, false)];
    expect(whole.output?.streams?.[0]).to.include({ width: 192, height: 108 });
    expect(documentStreams(excerpt)).to.deep.equal(documentStreams(whole));
  });

  it("parameter sets that change after the first frame (two encodes joined): the document gives the first frame's size, as the whole read does", async () => {
    const [first, second, joined, file] = ["a.h264", "b.h264", "ab.h264", "joined.mp4"].map((n) => path.join(dir, n));
    await runFfmpeg([...QUIET, "-f", "lavfi", "-i", "testsrc2=s=192x108:r=30:d=0.1", ...X264, "-f", "h264", first]);
    await runFfmpeg([
      ...[...QUIET, "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=1"],
      ...[...X264, "-pix_fmt", "yuv444p", "-f", "h264", second],
    ]);
    await fs.writeFile(joined, Buffer.concat([await fs.readFile(first), await fs.readFile(second)]));
    await runFfmpeg([...QUIET, "-r", "30", "-i", joined, ...AUDIO, "-c:v", "copy", ...AAC, "-f", "mp4", file]);
    const [excerpt, whole] = [await probe(file, 0), await probe(file, false)];
    expect(whole.output?.streams?.[0]).to.include({ width: 192, height: 108 });
    expect(documentStreams(excerpt)).to.deep.equal(documentStreams(whole));
  });

  it("a second H.264 track that ffprobe reads as video first (handler 'xxxx', avc1 entry): the excerpt's facts stay with their own track", async () => {
    // Track 1: 4:2:0 Constrained Baseline, starting at 3 s; track 2: the only "vide" handler,
    // 4:4:4 High, at 0 s. Track 1's first chunk offset points before track 2's sample, so
    // the excerpt path runs; ffprobe's first run reads track 2's frame (lowest time) only.
    const made = path.join(dir, "two-video.mp4");
    await runFfmpeg([
      ...[...QUIET, "-itsoffset", "3", "-f", "lavfi", "-i", "testsrc2=s=192x108:r=30:d=1"],
      ...["-f", "lavfi", "-i", "testsrc2=s=192x108:r=30:d=4", "-map", "0:v", "-map", "1:v", "-vsync", "passthrough"],
      ...[...X264, "-pix_fmt:v:0", "yuv420p", "-pix_fmt:v:1", "yuv444p", "-f", "mp4", made],
    ]);
    const data = await fs.readFile(made);
    const trak1 = data.indexOf("trak", data.lastIndexOf("moov"));
    data.write("xxxx", data.indexOf("hdlr", trak1) + 12, "latin1");
    data.writeUInt32BE(32, data.indexOf("stco", trak1) + 12);
    const file = path.join(dir, "two-video-x.mp4");
    await fs.writeFile(file, data);
    const [excerpt, whole] = [await probe(file, 0), await probe(file, false)];
    expect(whole.output?.streams?.[0]).to.include({ pix_fmt: "yuv420p", profile: "Constrained Baseline" });
    expect(documentStreams(excerpt)).to.deep.equal(documentStreams(whole));
  });

  it("an edit list that starts at the second key frame, where the parameter sets change: the document gives that frame's facts, as the whole read does", async () => {
    // Three 4:2:0 Baseline frames, then a 4:4:4 High encode of the same size; the edit list
    // starts at frame 3, so the mov demuxer drops frames 0-2 and ffprobe never reads the first sample.
    const [first, second, joined, made] = ["e1.h264", "e2.h264", "e12.h264", "edit.mp4"].map((n) => path.join(dir, n));
    await runFfmpeg([...QUIET, "-f", "lavfi", "-i", "testsrc2=s=192x108:r=30:d=0.1", ...X264, "-f", "h264", first]);
    await runFfmpeg([
      ...[...QUIET, "-f", "lavfi", "-i", "testsrc2=s=192x108:r=30:d=1"],
      ...[...X264, "-pix_fmt", "yuv444p", "-f", "h264", second],
    ]);
    await fs.writeFile(joined, Buffer.concat([await fs.readFile(first), await fs.readFile(second)]));
    const mux = ["-c:v", "copy", ...AAC, "-use_editlist", "1", "-f", "mp4", made];
    await runFfmpeg([...QUIET, "-r", "30", "-i", joined, ...AUDIO, ...mux]);
    const data = await fs.readFile(made);
    const trak = data.indexOf("trak", data.lastIndexOf("moov"));
    const elst = data.indexOf("elst", trak);
    const timescale = data.readUInt32BE(data.indexOf("mdhd", trak) + 16);
    expect(data.readInt32BE(elst + 16), "media_time").to.equal(0);
    data.writeInt32BE((timescale * 3) / 30, elst + 16);
    const file = path.join(dir, "edit-skips-first-gop.mp4");
    await fs.writeFile(file, data);
    const [excerpt, whole] = [await probe(file, 0), await probe(file, false)];
    expect(whole.output?.streams?.[0]).to.include({ pix_fmt: "yuv444p" });
    expect(documentStreams(excerpt)).to.deep.equal(documentStreams(whole));
  });

  it("an AC-3 track whose dac3 says mono over stereo frames: the document gives stereo, as the whole read does", async () => {
    const made = path.join(dir, "ac3.mp4");
    const video = ["-f", "lavfi", "-i", "testsrc2=s=192x108:r=30:d=1"];
    await runFfmpeg([...QUIET, ...video, ...AUDIO, ...X264, "-c:a", "ac3", "-ac", "2", "-f", "mp4", made]);
    const data = await fs.readFile(made);
    // dac3: fscod (2 bits), bsid (5), bsmod (3), acmod (3): acmod 2 (L R) becomes 1 (mono).
    const at = data.indexOf("dac3", data.lastIndexOf("moov")) + 4;
    const bits = (data[at] << 16) | (data[at + 1] << 8) | data[at + 2];
    expect((bits >> 11) & 7, "acmod of the encoded stereo").to.equal(2);
    const lying = (bits & ~(7 << 11)) | (1 << 11);
    data.set([lying >> 16, (lying >> 8) & 255, lying & 255], at);
    const file = path.join(dir, "ac3-mono-dac3.mp4");
    await fs.writeFile(file, data);
    const [excerpt, whole] = [await probe(file, 0), await probe(file, false)];
    expect(whole.output?.streams?.[1]).to.include({ channels: 2 });
    expect(documentStreams(excerpt)).to.deep.equal(documentStreams(whole));
  });

  it("S3 never answering the movie-header read: the probe ends at its deadline, timed out, with the stall recorded", async () => {
    // The header read (range proxy readBytes) runs before any ffprobe, so no ffprobe timer covers it.
    const source = stallingFrom(await fileSource(base), 16 * 1024);
    const timeoutMs = 1500;
    const run = await within(
      probeSource(source, { ffprobePath, timeoutMs, excerptMinSampleBytes: 0 }),
      30_000,
      "a probe whose header read S3 never answers",
    );
    expect(source.stalled, "the moov read (after the first 16 KiB) stalled").to.be.above(0);
    expect(run.timedOut).to.equal(true);
    // process-change.ts makes this an S3ReadStalledError (transient): slowestReadMs reaches the deadline.
    expect(run.proxy.slowestReadMs).to.be.at.least(timeoutMs * 0.9);
    expect(run.proxy.upstreamError).to.equal(undefined);
  });

  it("S3 failing the movie-header read: the probe ends with the proxy's upstreamError (retried), not a document", async () => {
    const inner = await fileSource(base);
    const failing: ByteSource = {
      size: inner.size,
      read: (start, end, signal) =>
        start < 16 * 1024 ? inner.read(start, end, signal) : Promise.reject(new Error("S3 is down")),
    };
    const run = await probeSource(failing, { ffprobePath, timeoutMs: 60_000, excerptMinSampleBytes: 0 });
    expect((run.proxy.upstreamError as Error | undefined)?.message).to.equal("S3 is down");
    expect(run.exitCode === 0 && !run.timedOut && run.output?.format !== undefined).to.equal(false);
  });

  it("a probe whose runs share the deadline is judged on all of them: the timed-out result carries every run's time", async () => {
    // A stand-in ffprobe: the header run (-probesize) answers after a second with a video stream
    // that lacks its facts; the excerpt run (-f h264) hangs until the deadline kills it.
    const fake = path.join(dir, "ffprobe-slow-excerpt");
    const lacking = JSON.stringify({
      streams: [{ index: 0, id: "0x1", codec_type: "video", codec_name: "h264", width: 192, height: 108 }],
      format: { filename: "x", format_name: "mov,mp4,m4a,3gp,3g2,mj2" },
    });
    await fs.writeFile(
      fake,
      `#!/bin/sh\ncase "$*" in *-probesize*) sleep 1; echo '${lacking}'; exit 0;; esac\nexec sleep 60\n`,
      { mode: 0o755 },
    );
    const run = await probeSource(await fileSource(base), {
      ffprobePath: fake,
      timeoutMs: 3000,
      excerptMinSampleBytes: 0,
    });
    expect(run.timedOut).to.equal(true);
    expect(run.reading).to.equal("excerpt");
    // Before, the last run alone was judged: one given what was left of the deadline (down to 1 ms).
    expect(run.ms, "both runs' time").to.be.at.least(2900);
    expect(run.stdout).to.equal(undefined);
  });

  it("an excerpt run killed at the deadline is the probe's timed-out run, with the first run's time counted", async () => {
    const data = await fs.readFile(base);
    const sample = await findFirstVideoSample(async (s, e) => data.subarray(s, e + 1), data.length);
    if (!sample) throw new Error("the fixture has no first video sample");
    const proxy = await startRangeProxy({
      source: { size: data.length, read: async (s, e) => ({ body: Readable.from([data.subarray(s, e + 1)]) }) },
    });
    const lacking = { streams: [{ index: 0, codec_type: "video", codec_name: "h264", width: 192, height: 108 }] };
    const runs: FfprobeRun[] = [
      {
        output: lacking,
        stdout: Buffer.from(JSON.stringify(lacking)),
        exitCode: 0,
        timedOut: false,
        cpuMs: 800,
        waitMs: 0,
        ms: 9000,
      },
      { exitCode: null, timedOut: true, cpuMs: 900, waitMs: 0, ms: 1000 },
    ] as FfprobeRun[];
    let calls = 0;
    try {
      const result = await probeWithExcerpt(proxy, sample, async () => runs[calls++]);
      expect(calls).to.equal(2);
      // Before, the excerpt's timeout fell back to a third run given what was left: ~1 ms, judged
      // on its own (no CPU, no wait: "blocked on its input", the object's fault).
      expect(result?.run.timedOut, "the timed-out run is the result").to.equal(true);
    } finally {
      await proxy.close();
    }
  });
});
