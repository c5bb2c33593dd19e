/**
 * The extractor's start-up check that /opt/bin/ffprobe is the pinned build, in about a
 * millisecond instead of hashing all 79 MB on every cold start (0.3 s of CPU and the whole
 * file read from the layer's disk).
 *
 * Why cheap facts are enough (the threat argument is in docs/security.md, "ffprobe
 * identity"): the full SHA-256 is checked where the layer is BUILT (build/
 * ffprobe-layer.ts refuses any other binary) and the policy pack checks the layer a
 * function uses carries the pinned digest. A published layer version is immutable, and
 * /opt is read-only at run time. What is left for the function to catch is a wrong
 * configuration: another layer or layer version, the other architecture's build, a
 * truncated or half-written file, FFPROBE_PATH pointing at something else. Each of those
 * changes the size, the ELF header or the sampled blocks checked here.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { FFPROBE_PIN, type LambdaArchitecture, type PinnedFfprobeBinary } from "../../lib/ffprobe-pin";

/** Blocks hashed: evenly spaced from the first to the last byte, SAMPLE_BLOCKS x SAMPLE_BLOCK_BYTES = 64 KiB. */
export const SAMPLE_BLOCKS = 16;
export const SAMPLE_BLOCK_BYTES = 4096;

/** ELF e_machine of each architecture (x86-64: EM_X86_64 = 62, arm64: EM_AARCH64 = 183). */
const ELF_MACHINE: Record<LambdaArchitecture, number> = { x86_64: 62, arm64: 183 };

/** Where the sampled blocks start in a file of `size` bytes (the first at 0, the last ending at the end). */
export function sampleOffsets(size: number): number[] {
  if (size <= SAMPLE_BLOCKS * SAMPLE_BLOCK_BYTES) return [0];
  const last = size - SAMPLE_BLOCK_BYTES;
  return Array.from({ length: SAMPLE_BLOCKS }, (_, i) => Math.floor((last * i) / (SAMPLE_BLOCKS - 1)));
}

/**
 * SHA-256 over the file's size (8 bytes, big-endian) then its sampled blocks, hex.
 * A file no larger than the sample is hashed whole.
 */
export function sampledSha256(fd: number, size: number): string {
  const hash = createHash("sha256");
  const sizeBytes = Buffer.alloc(8);
  sizeBytes.writeBigUInt64BE(BigInt(size));
  hash.update(sizeBytes);
  const blockBytes = size <= SAMPLE_BLOCKS * SAMPLE_BLOCK_BYTES ? size : SAMPLE_BLOCK_BYTES;
  const buffer = Buffer.alloc(blockBytes);
  for (const offset of sampleOffsets(size)) {
    const bytesRead = fs.readSync(fd, buffer, 0, blockBytes, offset);
    hash.update(buffer.subarray(0, bytesRead));
  }
  return hash.digest("hex");
}

/** The pinned build whose full digest is `sha256`, and its architecture. */
export function pinnedBinary(
  sha256: string,
): { architecture: LambdaArchitecture; pin: PinnedFfprobeBinary } | undefined {
  for (const [architecture, pin] of Object.entries(FFPROBE_PIN.binaries) as [
    LambdaArchitecture,
    PinnedFfprobeBinary,
  ][]) {
    if (pin.sha256 === sha256) return { architecture, pin };
  }
  return undefined;
}

/** The Lambda architecture this process runs on. */
export function processArchitecture(arch: string = process.arch): LambdaArchitecture | undefined {
  return arch === "x64" ? "x86_64" : arch === "arm64" ? "arm64" : undefined;
}

export interface IdentityCheck {
  architecture: LambdaArchitecture;
  bytes: number;
  /** Bytes read to check (ELF header and sampled blocks). */
  bytesChecked: number;
  ms: number;
}

/**
 * Checks that `file` is the pinned build whose full SHA-256 is `expectedSha256` (the
 * function's FFPROBE_SHA256): a pinned digest, the build for this process's architecture,
 * a regular executable file of the pinned size, a 64-bit ELF for that machine, and the
 * pinned digest of its sampled blocks. Throws naming what differs; never reads the whole file.
 * Synchronous reads: 17 small preads cost less than as many thread-pool round trips, and
 * nothing else runs while a function initializes.
 */
export async function checkFfprobeIdentity(
  file: string,
  expectedSha256: string,
  arch: string = process.arch,
): Promise<IdentityCheck> {
  const started = performance.now();
  const pinned = pinnedBinary(expectedSha256);
  if (!pinned) throw new Error(`FFPROBE_SHA256 ${expectedSha256} is not the digest of a pinned ffprobe build`);
  const { architecture, pin } = pinned;
  const running = processArchitecture(arch);
  if (running !== architecture) {
    throw new Error(
      `the pinned ffprobe ${expectedSha256.slice(0, 12)} is the ${architecture} build; this function runs on ${arch}`,
    );
  }
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (err) {
    throw new Error(`cannot open ffprobe at ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const info = fs.fstatSync(fd);
    if (!info.isFile()) throw new Error(`ffprobe at ${file} is not a regular file`);
    if ((info.mode & 0o111) === 0)
      throw new Error(`ffprobe at ${file} is not executable (mode ${(info.mode & 0o777).toString(8)})`);
    if (info.size !== pin.bytes) {
      throw new Error(`ffprobe at ${file} has ${info.size} bytes; the pinned ${architecture} build has ${pin.bytes}`);
    }
    const elf = Buffer.alloc(20);
    fs.readSync(fd, elf, 0, elf.length, 0);
    const isElf64 = elf.readUInt32BE(0) === 0x7f454c46 && elf[4] === 2 && elf[5] === 1;
    if (!isElf64 || elf.readUInt16LE(18) !== ELF_MACHINE[architecture]) {
      throw new Error(`ffprobe at ${file} is not a 64-bit little-endian ELF for ${architecture}`);
    }
    const sampled = sampledSha256(fd, info.size);
    if (sampled !== pin.sampleSha256) {
      throw new Error(
        `ffprobe at ${file} differs from the pinned ${architecture} build (sampled sha256 ${sampled}, pinned ${pin.sampleSha256})`,
      );
    }
    return {
      architecture,
      bytes: info.size,
      bytesChecked: elf.length + sampleOffsets(info.size).length * Math.min(SAMPLE_BLOCK_BYTES, info.size),
      ms: performance.now() - started,
    };
  } finally {
    fs.closeSync(fd);
  }
}
