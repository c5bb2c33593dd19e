/**
 * The zip reader behind ffmpeg-layer-pinned (policies/layer-content.ts, yauzl) on hostile
 * archives: truncated, a directory that lies about an entry's size, a name stored twice, names
 * that leave the archive. Each one must end refused (or at least not pass as the pinned build),
 * never read as "the pinned ffprobe" and never as "unreadable, so unchecked".
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { expect } from "chai";
import * as yazl from "yazl";
import { FFPROBE_PIN, layerDescription } from "../../lib/ffprobe-pin";
import { ffmpegLayerPinned } from "../../policies/ffmpeg-layer";
import { archiveEntryNames, sha256OfZipEntry, zipEntryNames } from "../../policies/layer-content";
import { fileArchive, res, runStack } from "./harness";

const LAYER = "aws:lambda/layerVersion:LayerVersion";
const FUNCTION = "aws:lambda/function:Function";
const PINNED_BINARY = require.resolve("@ffprobe-installer/linux-x64/ffprobe");
const MTIME = new Date(2000, 0, 1);
const sha256 = (b: Buffer) => require("node:crypto").createHash("sha256").update(b).digest("hex") as string;

type Entry = { name: string; data?: Buffer; file?: string; compress?: boolean; dir?: boolean };

/** Writes a zip with yazl (a regular archive; tests then damage it on purpose). */
async function writeZip(file: string, entries: Entry[]): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const e of entries) {
    const options = { mode: 0o100755, mtime: MTIME, compress: e.compress ?? true };
    if (e.dir) zip.addEmptyDirectory(e.name, { mode: 0o40755, mtime: MTIME });
    else if (e.file) zip.addFile(e.file, e.name, options);
    else zip.addBuffer(e.data ?? Buffer.alloc(0), e.name, options);
  }
  zip.end();
  await pipeline(zip.outputStream, fs.createWriteStream(file));
  return file;
}

/** Replaces every occurrence of `from` by `to` (same length) in a file: a name in both headers. */
function patchBytes(file: string, from: string, to: string): void {
  expect(from.length).to.equal(to.length);
  const bytes = fs.readFileSync(file);
  let at = bytes.indexOf(from);
  expect(at, `${from} in ${file}`).to.be.at.least(0);
  while (at >= 0) {
    bytes.write(to, at, "latin1");
    at = bytes.indexOf(from, at + from.length);
  }
  fs.writeFileSync(file, bytes);
}

/** Sets the uncompressed size the central directory records for the first entry. */
function lieAboutSize(file: string, size: number): void {
  const bytes = fs.readFileSync(file);
  const central = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  expect(central).to.be.at.least(0);
  bytes.writeUInt32LE(size, central + 24);
  fs.writeFileSync(file, bytes);
}

function claimingLayer(zip: string, name = "mp-dev-ffprobe") {
  return res(LAYER, name, {
    layerName: `${name}-x86-64`,
    arn: `arn:aws:lambda:us-east-1:123456789012:layer:${name}-x86-64:1`,
    compatibleArchitectures: ["x86_64"],
    description: layerDescription("x86_64"),
    code: fileArchive(zip),
  });
}

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "policy-zip-"));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("policies: layer-content zip reader (yauzl)", () => {
  it("lists names in directory order and hashes stored and deflated entries", async () => {
    const zip = await writeZip(path.join(tmp, "plain.zip"), [
      { name: "bin/", dir: true },
      { name: "bin/ffprobe", data: Buffer.from("deflated ".repeat(100)) },
      { name: "lib/x.so", data: Buffer.from("stored"), compress: false },
    ]);
    expect(await zipEntryNames(zip)).to.deep.equal(["bin/", "bin/ffprobe", "lib/x.so"]);
    expect(await sha256OfZipEntry(zip, "bin/ffprobe")).to.equal(sha256(Buffer.from("deflated ".repeat(100))));
    expect(await sha256OfZipEntry(zip, "lib/x.so")).to.equal(sha256(Buffer.from("stored")));
    expect(await sha256OfZipEntry(zip, "bin/missing")).to.equal(undefined);
  });

  it("reads nothing from a truncated zip, a non-zip, or a missing file", async () => {
    const zip = await writeZip(path.join(tmp, "whole.zip"), [{ name: "bin/ffprobe", data: Buffer.from("x") }]);
    const cut = path.join(tmp, "cut.zip");
    const bytes = fs.readFileSync(zip);
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    expect(await zipEntryNames(cut)).to.equal(undefined);
    expect(await sha256OfZipEntry(cut, "bin/ffprobe")).to.equal(undefined);
    const text = path.join(tmp, "not-a.zip");
    fs.writeFileSync(text, "PK but not a zip");
    expect(await zipEntryNames(text)).to.equal(undefined);
    expect(await zipEntryNames(path.join(tmp, "absent.zip"))).to.equal(undefined);
  });

  it("does not hash an entry whose data is not the size the central directory records", async () => {
    const zip = await writeZip(path.join(tmp, "lies.zip"), [
      { name: "bin/ffprobe", data: Buffer.from("real content ".repeat(50)) },
    ]);
    lieAboutSize(zip, 7);
    expect(await sha256OfZipEntry(zip, "bin/ffprobe")).to.equal(undefined);
  });

  it("gives no digest for a name stored twice with different contents, and the one digest when they agree", async () => {
    const twice = await writeZip(path.join(tmp, "twice.zip"), [
      { name: "bin/ffprobe", data: Buffer.from("first") },
      { name: "bin/ffprobe", data: Buffer.from("second") },
    ]);
    expect(await zipEntryNames(twice)).to.deep.equal(["bin/ffprobe", "bin/ffprobe"]);
    expect(await sha256OfZipEntry(twice, "bin/ffprobe")).to.equal(undefined);
    const same = await writeZip(path.join(tmp, "same.zip"), [
      { name: "bin/ffprobe", data: Buffer.from("same") },
      { name: "bin/ffprobe", data: Buffer.from("same") },
    ]);
    expect(await sha256OfZipEntry(same, "bin/ffprobe")).to.equal(sha256(Buffer.from("same")));
  });

  it("lists a name that leaves the archive (`../`, absolute) instead of calling the whole zip unreadable", async () => {
    const zip = await writeZip(path.join(tmp, "escape.zip"), [
      { name: "xx/bin/ffprobe", data: Buffer.from("x") },
      { name: "Xbin/ffmpeg", data: Buffer.from("y") },
    ]);
    patchBytes(zip, "xx/bin/ffprobe", "../bin/ffprobe");
    patchBytes(zip, "Xbin/ffmpeg", "/bin/ffmpeg");
    expect(await zipEntryNames(zip)).to.deep.equal(["../bin/ffprobe", "/bin/ffmpeg"]);
    expect(await archiveEntryNames(fileArchiveObject(zip))).to.deep.equal(["../bin/ffprobe", "/bin/ffmpeg"]);
  });
});

/** What @pulumi/policy hands a policy for a FileArchive: an object whose `path` is a promise. */
function fileArchiveObject(p: string) {
  return { path: Promise.resolve(p) };
}

describe("policies: ffmpeg-layer-pinned on hostile layer zips", () => {
  it("refuses a truncated layer zip that claims the pin: its content cannot be read here", async () => {
    const zip = await writeZip(path.join(tmp, "claim.zip"), [{ name: "bin/ffprobe", data: Buffer.from("x") }]);
    const bytes = fs.readFileSync(zip);
    const cut = path.join(tmp, "claim-cut.zip");
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const out = await runStack(ffmpegLayerPinned, [claimingLayer(cut)]);
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.messages[0]).to.contain("claims to carry ffprobe but its content cannot be read here");
  });

  it("refuses a layer zip that stores bin/ffprobe twice: the pinned build first, another after it", async function () {
    this.timeout(120_000); // writes the 79 MB pinned binary (stored, not deflated) into a zip and hashes it back
    const zip = await writeZip(path.join(tmp, "pinned-then-other.zip"), [
      { name: "bin/ffprobe", file: PINNED_BINARY, compress: false },
      { name: "bin/ffprobe", data: Buffer.from("\x7fELF another build"), compress: false },
    ]);
    const layer = claimingLayer(zip);
    const fn = res(FUNCTION, "mp-dev-extractor", {
      name: "mp-dev-extractor-1234567",
      handler: "index.handler",
      architectures: ["x86_64"],
      layers: [layer.props?.arn],
      environment: { variables: { FFPROBE_PATH: FFPROBE_PIN.layerBinaryPath } },
    });
    const out = await runStack(ffmpegLayerPinned, [layer, fn]);
    expect(out.levels).to.deep.equal(["mandatory", "mandatory"]);
    expect(out.messages[0]).to.contain("has no readable bin/ffprobe, so it does not carry the pinned ffprobe");
    expect(out.messages[1]).to.contain("runs ffprobe from an FFmpeg layer that is not the verified pinned build");
  });

  it("sees an ffprobe stored under a `../` name in an unclaimed layer a function uses", async () => {
    const zip = await writeZip(path.join(tmp, "sneaky.zip"), [{ name: "xx/bin/ffprobe", data: Buffer.from("x") }]);
    patchBytes(zip, "xx/bin/ffprobe", "../bin/ffprobe");
    const tools = res(LAYER, "tools", {
      layerName: "tools",
      arn: "arn:aws:lambda:us-east-1:123456789012:layer:tools:1",
      code: fileArchive(zip),
    });
    const fn = res(FUNCTION, "thumbs", { name: "thumbs", handler: "main.run", layers: [tools.props?.arn] });
    const out = await runStack(ffmpegLayerPinned, [tools, fn]);
    expect(out.messages).to.deep.equal([
      "FFmpeg layer tools (aws:lambda/layerVersion:LayerVersion) carries ../bin/ffprobe besides bin/ffprobe; only " +
        "the pinned bin/ffprobe may ship.",
      "function thumbs (aws:lambda/function:Function) runs ffprobe from an FFmpeg layer that is not the verified " +
        "pinned build (see that layer's violation).",
    ]);
  });
});
