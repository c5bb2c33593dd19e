/**
 * Reads the ffprobe binary out of a Lambda layer's `code` archive, so ffmpeg-layer-pinned can
 * hash what will actually be uploaded. The analyzer passes `code` as @pulumi/pulumi asset
 * objects: a FileArchive (a .zip file or a directory), or an AssetArchive mapping paths to
 * FileAssets. Anything else (a remote archive, an S3 object) cannot be read here.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";

const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_LOCAL = 0x04034b50;

/** The raw object behind @pulumi/policy's property proxy (asset fields are promises, which a proxy breaks). */
export function unproxy<T>(value: T): T {
  const v = value as unknown as Record<string, unknown> | null;
  if (v && typeof v === "object" && v.__isSpecialProxy === true) return v.__getSpecialProxyTarget as T;
  return value;
}

/** A zip's bytes and where its central directory starts; undefined when it cannot be read. */
function centralDirectory(zipPath: string): { zip: Buffer; count: number; at: number } | undefined {
  let zip: Buffer;
  try {
    zip = readFileSync(zipPath);
  } catch {
    return undefined;
  }
  const min = Math.max(0, zip.length - 65_557);
  for (let end = zip.length - 22; end >= min; end--) {
    if (zip.readUInt32LE(end) === SIG_END) {
      return { zip, count: zip.readUInt16LE(end + 10), at: zip.readUInt32LE(end + 16) };
    }
  }
  return undefined;
}

/** SHA-256 (hex) of one file inside a zip; undefined when the zip has no such file or cannot be read. */
export function sha256OfZipEntry(zipPath: string, entry: string): string | undefined {
  const dir = centralDirectory(zipPath);
  if (!dir) return undefined;
  const { zip, count } = dir;
  let at = dir.at;
  for (let n = 0; n < count && at + 46 <= zip.length; n++) {
    if (zip.readUInt32LE(at) !== SIG_CENTRAL) return undefined;
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (name !== entry) continue;
    if (compressedSize === 0xffffffff || localOffset === 0xffffffff) return undefined; // zip64: not supported
    if (zip.readUInt32LE(localOffset) !== SIG_LOCAL) return undefined;
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    const content = method === 0 ? data : method === 8 ? inflateRawSync(data) : undefined;
    return content ? createHash("sha256").update(content).digest("hex") : undefined;
  }
  return undefined;
}

function sha256OfFile(file: string): string | undefined {
  try {
    const fd = openSync(file, "r");
    try {
      const hash = createHash("sha256");
      const buffer = Buffer.alloc(1 << 20);
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, null);
        if (n === 0) break;
        hash.update(buffer.subarray(0, n));
      }
      return hash.digest("hex");
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

const cache = new Map<string, string | undefined>();

/** Digest of `entry` in a zip or directory at `path`, cached per file size and mtime. */
function digestAt(path: string, entry: string): string | undefined {
  let key: string;
  try {
    const st = statSync(path);
    key = `${path}\0${entry}\0${st.size}\0${st.mtimeMs}`;
    if (cache.has(key)) return cache.get(key);
    const digest = st.isDirectory() ? sha256OfFile(join(path, entry)) : sha256OfZipEntry(path, entry);
    cache.set(key, digest);
    return digest;
  } catch {
    return undefined;
  }
}

/** SHA-256 of a file, cached per size and mtime (the pinned binary is 79 MB). */
function cachedFileDigest(file: string): string | undefined {
  try {
    const st = statSync(file);
    const key = `${file}\0\0${st.size}\0${st.mtimeMs}`;
    if (!cache.has(key)) cache.set(key, sha256OfFile(file));
    return cache.get(key);
  } catch {
    return undefined;
  }
}

/**
 * SHA-256 of the file at `entry` (e.g. "bin/ffprobe") in a layer's `code`, or undefined when
 * the archive is not local or lacks the file.
 */
export async function archiveEntryDigest(code: unknown, entry: string): Promise<string | undefined> {
  const archive = unproxy(code) as Record<string, unknown> | undefined;
  if (!archive || typeof archive !== "object") return undefined;
  if ("path" in archive) {
    const path = await Promise.resolve(archive.path);
    return typeof path === "string" ? digestAt(path, entry) : undefined;
  }
  if ("assets" in archive) {
    const assets = (await Promise.resolve(archive.assets)) as Record<string, unknown> | undefined;
    if (!assets) return undefined;
    const direct = assets[entry];
    if (direct && typeof direct === "object" && "path" in direct) {
      const path = await Promise.resolve((direct as { path: unknown }).path);
      return typeof path === "string" ? cachedFileDigest(path) : undefined;
    }
    // A nested archive mounted at a prefix of `entry` (e.g. "bin" -> FileArchive of a directory).
    for (const [prefix, nested] of Object.entries(assets)) {
      if (entry.startsWith(`${prefix}/`)) return archiveEntryDigest(nested, entry.slice(prefix.length + 1));
    }
  }
  return undefined;
}

/** Names of the files in a zip (central directory); undefined when it cannot be read. */
export function zipEntryNames(zipPath: string): string[] | undefined {
  const dir = centralDirectory(zipPath);
  if (!dir) return undefined;
  const { zip, count } = dir;
  let at = dir.at;
  const names: string[] = [];
  for (let n = 0; n < count && at + 46 <= zip.length; n++) {
    if (zip.readUInt32LE(at) !== SIG_CENTRAL) return undefined;
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    names.push(zip.toString("utf8", at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

function directoryEntries(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory()) out.push(...directoryEntries(join(dir, e.name), `${rel}/`));
    else out.push(rel);
  }
  return out;
}

/**
 * The file paths inside an archive (`code` of a layer or function): a zip or a directory on this
 * machine, or an AssetArchive (its keys, nested archives expanded). undefined when it cannot be
 * read here (a remote archive, a missing file).
 */
export async function archiveEntryNames(code: unknown): Promise<string[] | undefined> {
  const archive = unproxy(code) as Record<string, unknown> | undefined;
  if (!archive || typeof archive !== "object") return undefined;
  if ("path" in archive) {
    const p = await Promise.resolve(archive.path);
    if (typeof p !== "string") return undefined;
    try {
      return statSync(p).isDirectory() ? directoryEntries(p) : zipEntryNames(p);
    } catch {
      return undefined;
    }
  }
  if ("assets" in archive) {
    const assets = (await Promise.resolve(archive.assets)) as Record<string, unknown> | undefined;
    if (!assets) return undefined;
    const out: string[] = [];
    for (const [key, value] of Object.entries(assets)) {
      const inner = unproxy(value) as Record<string, unknown> | undefined;
      if (inner && typeof inner === "object" && "assets" in inner) {
        const nested = await archiveEntryNames(inner);
        if (!nested) return undefined;
        out.push(...nested.map((n) => `${key}/${n}`));
      } else if (inner && typeof inner === "object" && /Archive/.test(inner.constructor?.name ?? "")) {
        const nested = await archiveEntryNames(inner);
        if (!nested) return undefined;
        out.push(...nested.map((n) => `${key}/${n}`));
      } else {
        out.push(key);
      }
    }
    return out;
  }
  return undefined;
}
