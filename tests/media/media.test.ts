/**
 * The generated test media (media/media.ts): every file exists with a plausible
 * size, the pinned ffprobe (under its sandbox: format and protocol whitelists, own
 * environment, memory limit) sees in each exactly what `EXPECTED` says, the MP4 layouts are
 * what their names claim, and the top-level MP4 box reader the bench relies on is right.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { resolveLocalFfprobe, runFfprobe } from "../../handlers/extractor/ffprobe";
import { PROBE_DEMUXERS } from "../../handlers/extractor/ffprobe-sandbox";
import {
  EXPECTED,
  ensureAllMedia,
  ensureMedia,
  hangingFfprobe,
  id3v2TagSize,
  MEDIA_NAMES,
  type MediaName,
  mismatches,
} from "../../media/media";
import { isFragmented, moovPosition, readTopLevelBoxes } from "../../media/mp4-boxes";

describe("test media (generated with the npm ffmpeg, cached under .cache/media)", function () {
  this.timeout(120_000);
  let files: Record<MediaName, string>;
  let ffprobePath: string;

  before(async () => {
    [files, ffprobePath] = await Promise.all([ensureAllMedia(), resolveLocalFfprobe()]);
  });

  for (const name of MEDIA_NAMES) {
    const want = EXPECTED[name];
    it(`${name}: exists, plausible size, probes as EXPECTED says`, async () => {
      const file = files[name];
      expect(path.extname(file)).to.equal(`.${want.ext}`);
      const { size } = await fs.stat(file);
      expect(size, `${name} size`).to.be.within(want.bytes[0], want.bytes[1]);
      const run = await runFfprobe({ ffprobePath, input: file, timeoutMs: 20_000 });
      if (want.probe.ok) {
        expect(run.exitCode, run.stderr).to.equal(0);
        expect(mismatches(name, run.output)).to.deep.equal([]);
        // Read by a demuxer the sandbox's format whitelist names (ffprobe-sandbox.ts).
        const aliases = run.output?.format?.format_name?.split(",") ?? [];
        expect(
          aliases.some((a) => (PROBE_DEMUXERS as readonly string[]).includes(a)),
          aliases.join(","),
        ).to.equal(true);
      } else {
        expect(run.exitCode).to.not.equal(0);
        expect(run.output?.streams ?? []).to.deep.equal([]);
        expect(run.stderr).to.match(want.probe.localStderr);
      }
    });
  }

  it("reuses cached files instead of regenerating them", async () => {
    const file = await ensureMedia("mp4-moov-end");
    expect(file).to.equal(files["mp4-moov-end"]);
    const before = (await fs.stat(file)).mtimeMs;
    expect(await ensureMedia("mp4-moov-end")).to.equal(file);
    expect((await fs.stat(file)).mtimeMs).to.equal(before);
  });

  it("puts an ID3v2 tag larger than 400 KB in front of the MP3", async () => {
    expect(await id3v2TagSize(files["mp3-big-id3"])).to.be.greaterThan(400 * 1024);
    expect(await id3v2TagSize(files.wav)).to.equal(0);
  });

  it("lays the MP4s out as named: moov at the end, at the start, fragmented, lost", async () => {
    const layout = async (name: MediaName) => readTopLevelBoxes(files[name]);
    const end = await layout("mp4-moov-end");
    expect(end.map((b) => b.type)).to.include.ordered.members(["ftyp"]);
    expect(moovPosition(end)).to.equal("end");
    expect(moovPosition(await layout("mp4-rotated"))).to.equal("end");
    expect(moovPosition(await layout("mp4-faststart"))).to.equal("start");
    const frag = await layout("mp4-fragmented");
    expect(moovPosition(frag)).to.equal("start");
    expect(isFragmented(frag)).to.equal(true);
    expect(isFragmented(end)).to.equal(false);
    const cut = await layout("mp4-truncated");
    expect(moovPosition(cut)).to.equal("missing");
    expect(cut.at(-1)).to.include({ type: "mdat", truncated: true });
  });

  it("gives a fake ffprobe that ignores SIGTERM and is killed at the deadline", async () => {
    const fake = await hangingFfprobe();
    const started = Date.now();
    const run = await runFfprobe({ ffprobePath: fake, input: files.wav, timeoutMs: 300 });
    expect(run.timedOut).to.equal(true);
    expect(Date.now() - started).to.be.lessThan(5_000);
  });
});

describe("top-level MP4 box reader", () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp4-boxes-"));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  function box(type: string, payload: number): Buffer {
    const b = Buffer.alloc(8 + payload);
    b.writeUInt32BE(8 + payload, 0);
    b.write(type, 4, "latin1");
    return b;
  }

  it("reads 64-bit sizes and a last box that extends to the end of the file", async () => {
    const large = Buffer.alloc(16 + 100);
    large.writeUInt32BE(1, 0);
    large.write("mdat", 4, "latin1");
    large.writeBigUInt64BE(BigInt(large.length), 8);
    const toEnd = box("moov", 50);
    toEnd.writeUInt32BE(0, 0);
    const file = path.join(dir, "large.mp4");
    await fs.writeFile(file, Buffer.concat([box("ftyp", 12), large, toEnd]));
    const boxes = await readTopLevelBoxes(file);
    expect(boxes).to.deep.equal([
      { type: "ftyp", offset: 0, size: 20, headerSize: 8, truncated: false },
      { type: "mdat", offset: 20, size: 116, headerSize: 16, truncated: false },
      { type: "moov", offset: 136, size: 58, headerSize: 8, truncated: false },
    ]);
    expect(moovPosition(boxes)).to.equal("end");
  });

  it("stops at garbage and reports nothing for an empty file", async () => {
    const file = path.join(dir, "garbage.mp4");
    await fs.writeFile(file, Buffer.concat([box("ftyp", 4), Buffer.from([0, 0, 0, 4, 1, 2, 3, 4, 5])]));
    expect((await readTopLevelBoxes(file)).map((b) => b.type)).to.deep.equal(["ftyp"]);
    const empty = path.join(dir, "empty.mp4");
    await fs.writeFile(empty, "");
    expect(await readTopLevelBoxes(empty)).to.deep.equal([]);
    expect(moovPosition([])).to.equal("missing");
  });
});
