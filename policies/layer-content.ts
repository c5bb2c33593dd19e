/**
 * Reads the ffprobe binary out of a Lambda layer's `code` archive, so ffmpeg-layer-pinned can
 * hash what will actually be uploaded. The analyzer passes `code` as @pulumi/pulumi asset
 * objects: a FileArchive (a .zip file or a directory), or an AssetArchive mapping paths to
 * FileAssets. Anything else (a remote archive, an S3 object) cannot be read here.
 *
 * Zips are read with yauzl (its central directory, then each entry's data checked against the
 * sizes the directory records). yauzl is a dependency of the pack (policies/package.json), since
 * the CLI runs the pack from its own folder.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import * as yauzl from "yauzl";

/** The raw object behind @pulumi/policy's property proxy (asset fields are promises, which a proxy breaks). */
export function unproxy<T>(value: T): T {
  const v = value as unknown as Record<string, unknown> | null;
  if (v && typeof v === "object" && v.__isSpecialProxy === true) return v.__getSpecialProxyTarget as T;
  return value;
}

/**
 * Runs `read` over a zip's central directory (yauzl), one entry with its name at a time;
 * undefined when the zip cannot be read (not a zip, truncated, inconsistent, or `read` failed on
 * an entry whose data is not what the directory says).
 *
 * Names are kept as stored (yauzl's `decodeStrings: false`, then its own decoding without
 * validation): a `../` or absolute name is still listed, so it cannot hide a file by making the
 * whole archive "unreadable" the way a refused name would.
 */
async function readZip<T>(
  zipPath: string,
  read: (zip: yauzl.ZipFile, entries: { name: string; entry: yauzl.Entry }[]) => Promise<T>,
): Promise<T | undefined> {
  let zip: yauzl.ZipFile | undefined;
  try {
    // validateEntrySizes (the default): an entry whose data inflates to another size than the
    // directory records fails its read stream instead of being hashed.
    zip = await yauzl.openPromise(zipPath, { autoClose: false, decodeStrings: false, validateEntrySizes: true });
    const entries: { name: string; entry: yauzl.Entry }[] = [];
    for await (const entry of zip.eachEntry()) {
      const name = yauzl.getFileNameLowLevel(
        entry.generalPurposeBitFlag,
        entry.fileNameRaw,
        entry.extraFields,
        true, // strict: a backslash stays a backslash, as on the Linux that extracts the layer
      );
      entries.push({ name, entry });
    }
    return await read(zip, entries);
  } catch {
    return undefined;
  } finally {
    zip?.close();
  }
}

async function sha256OfStream(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * SHA-256 (hex) of one file inside a zip; undefined when the zip has no such file, cannot be
 * read, or holds the name more than once with different contents (which copy an extractor
 * keeps is the extractor's choice).
 */
export async function sha256OfZipEntry(zipPath: string, entry: string): Promise<string | undefined> {
  return readZip(zipPath, async (zip, entries) => {
    const digests = new Set<string>();
    for (const e of entries.filter((x) => x.name === entry)) {
      digests.add(await sha256OfStream(await zip.openReadStreamPromise(e.entry)));
    }
    return digests.size === 1 ? [...digests][0] : undefined;
  });
}

/** Names of the entries in a zip, in central-directory order (a name stored twice is listed twice); undefined when it cannot be read. */
export async function zipEntryNames(zipPath: string): Promise<string[] | undefined> {
  return readZip(zipPath, async (_zip, entries) => entries.map((e) => e.name));
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
async function digestAt(path: string, entry: string): Promise<string | undefined> {
  let key: string;
  try {
    const st = statSync(path);
    key = `${path}\0${entry}\0${st.size}\0${st.mtimeMs}`;
    if (cache.has(key)) return cache.get(key);
    const digest = st.isDirectory() ? sha256OfFile(join(path, entry)) : await sha256OfZipEntry(path, entry);
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
      return statSync(p).isDirectory() ? directoryEntries(p) : await zipEntryNames(p);
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
