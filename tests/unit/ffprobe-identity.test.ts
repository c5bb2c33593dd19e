/**
 * The extractor's start-up ffprobe check (handlers/extractor/ffprobe-identity.ts): it must
 * accept the pinned binary and refuse every misconfiguration it exists for, while reading
 * only the ELF header and 64 KiB of samples.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { resolveLocalFfprobe } from "../../handlers/extractor/ffprobe";
import {
  checkFfprobeIdentity,
  SAMPLE_BLOCK_BYTES,
  sampledSha256,
  sampleOffsets,
} from "../../handlers/extractor/ffprobe-identity";
import { FFPROBE_PIN } from "../../lib/ffprobe-pin";

const X86 = FFPROBE_PIN.binaries.x86_64;

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected a rejection");
}

describe("ffprobe identity check", function () {
  this.timeout(60_000);
  let ffprobe: string;
  let dir: string;
  /** A writable, executable copy of the pinned binary, changed by `edit`. */
  const copy = async (name: string, edit?: (bytes: Buffer) => Buffer, mode = 0o755) => {
    const file = path.join(dir, name);
    const bytes = await fs.readFile(ffprobe);
    await fs.writeFile(file, edit ? edit(bytes) : bytes, { mode });
    await fs.chmod(file, mode);
    return file;
  };

  before(async () => {
    ffprobe = await resolveLocalFfprobe();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-identity-"));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it("the pin's size and sampled digest describe the same file as its full SHA-256", async () => {
    const bytes = await fs.readFile(ffprobe);
    expect(createHash("sha256").update(bytes).digest("hex")).to.equal(X86.sha256);
    expect(bytes.length).to.equal(X86.bytes);
    const handle = await fs.open(ffprobe, "r");
    try {
      expect(sampledSha256(handle.fd, bytes.length)).to.equal(X86.sampleSha256);
    } finally {
      await handle.close();
    }
  });

  it("accepts the pinned binary, reading 64 KiB and the ELF header of its 79 MB", async () => {
    const r = await checkFfprobeIdentity(ffprobe, X86.sha256, "x64");
    expect(r.architecture).to.equal("x86_64");
    expect(r.bytes).to.equal(X86.bytes);
    expect(r.bytesChecked).to.be.at.most(64 * 1024 + 64);
  });

  it("samples the first and the last block", () => {
    const offsets = sampleOffsets(X86.bytes);
    expect(offsets).to.have.length(16);
    expect(offsets[0]).to.equal(0);
    expect(offsets.at(-1)).to.equal(X86.bytes - SAMPLE_BLOCK_BYTES);
  });

  it("refuses a digest that is not pinned (FFPROBE_SHA256 set to something else)", async () => {
    expect(await rejection(checkFfprobeIdentity(ffprobe, "0".repeat(64), "x64"))).to.match(
      /not the digest of a pinned/,
    );
  });

  it("refuses the other architecture's build", async () => {
    expect(await rejection(checkFfprobeIdentity(ffprobe, X86.sha256, "arm64"))).to.match(
      /x86_64 build; this function runs on arm64/,
    );
    expect(await rejection(checkFfprobeIdentity(ffprobe, FFPROBE_PIN.binaries.arm64.sha256, "x64"))).to.match(
      /arm64 build; this function runs on x64/,
    );
  });

  it("refuses a missing file, a folder and a file without an execute bit", async () => {
    expect(await rejection(checkFfprobeIdentity(path.join(dir, "nope"), X86.sha256, "x64"))).to.match(
      /cannot open.*ENOENT/,
    );
    expect(await rejection(checkFfprobeIdentity(dir, X86.sha256, "x64"))).to.match(/not a regular file/);
    const plain = await copy("not-executable", undefined, 0o644);
    expect(await rejection(checkFfprobeIdentity(plain, X86.sha256, "x64"))).to.match(/not executable/);
  });

  it("refuses a truncated or extended file (a half-written layer)", async () => {
    const truncated = await copy("truncated", (b) => b.subarray(0, b.length - 1));
    expect(await rejection(checkFfprobeIdentity(truncated, X86.sha256, "x64"))).to.match(/has 78926143 bytes/);
    const longer = await copy("longer", (b) => Buffer.concat([b, Buffer.from([0])]));
    expect(await rejection(checkFfprobeIdentity(longer, X86.sha256, "x64"))).to.match(/has 78926145 bytes/);
  });

  it("refuses a file of the same size that is not an x86-64 ELF", async () => {
    const other = await copy("arm-header", (b) => {
      const c = Buffer.from(b);
      c.writeUInt16LE(183, 18); // e_machine: AArch64
      return c;
    });
    expect(await rejection(checkFfprobeIdentity(other, X86.sha256, "x64"))).to.match(
      /not a 64-bit little-endian ELF for x86_64/,
    );
  });

  it("refuses a file of the same size and header whose sampled blocks differ (another build)", async () => {
    for (const at of [SAMPLE_BLOCK_BYTES - 1, X86.bytes - 1]) {
      const file = await copy(`changed-${at}`, (b) => {
        const c = Buffer.from(b);
        c[at] ^= 0xff; // the last byte of the first block; the last byte of the file
        return c;
      });
      expect(await rejection(checkFfprobeIdentity(file, X86.sha256, "x64")), String(at)).to.match(
        /differs from the pinned/,
      );
      await fs.rm(file);
    }
  });

  it("does not see a same-size edit between the samples: what the build-time digest is for (docs/security.md)", async () => {
    const offsets = sampleOffsets(X86.bytes);
    const between = offsets[1] + SAMPLE_BLOCK_BYTES + 10;
    const file = await copy("patched", (b) => {
      const c = Buffer.from(b);
      c[between] ^= 0xff;
      return c;
    });
    const r = await checkFfprobeIdentity(file, X86.sha256, "x64");
    expect(r.bytes).to.equal(X86.bytes);
  });
});
