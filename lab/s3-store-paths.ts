/**
 * Gives s3rver's FilesystemStore the lab's key <-> path mapping (lab/s3-keys.ts): bucket and
 * object paths that cannot leave the lab's folder, one file per key, and a listing in S3's
 * order (UTF-8 bytes) decoded with the same mapping. Patched on the store instance, before
 * the notification adapter wraps it.
 */
import type { Dirent } from "node:fs";
import * as fsSync from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { checkBucketName, checkKey, insideFolder, keyToPath, pathToKey, S3KeyError } from "./s3-keys";

// s3rver's own classes: its error (rendered as S3's XML with the right status) and object model.
// biome-ignore lint/suspicious/noExplicitAny: untyped CommonJS internals of s3rver
const S3Error: any = require("s3rver/lib/models/error");
// biome-ignore lint/suspicious/noExplicitAny: untyped CommonJS internals of s3rver
const S3Object: any = require("s3rver/lib/models/object");

const OBJECT_SUFFIX = "._S3rver_object";

/** The store members this patches. */
export interface PathStore {
  rootDirectory: string;
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key?: string, resource?: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
  listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
  deleteObject(bucket: string, key: string): Promise<void>;
  putMetadata(bucket: string, key: string, metadata: Record<string, unknown>, md5?: string): Promise<void>;
}

/**
 * Writes `text` to `file` so that a reader (or a crash) sees the old content or the new, never
 * a torn one. Synchronous calls: the files are a few hundred bytes, and each asynchronous call
 * costs a hand-off to libuv's thread pool worth several times the write (lab/s3-store-reads.ts).
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}-${Math.random().toString(16).slice(2)}.tmp`;
  try {
    fsSync.writeFileSync(tmp, text);
    fsSync.renameSync(tmp, file);
  } catch (err) {
    fsSync.rmSync(tmp, { force: true });
    throw err;
  }
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  startAfter?: string;
  maxKeys?: number;
}

export interface ListResult {
  objects: { key: string; size: number; lastModifiedDate: Date; metadata: Record<string, string> }[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** Where the next page starts (the last key or common prefix of this one). */
  nextStartAfter?: string;
}

function s3Error(err: unknown): unknown {
  return err instanceof S3KeyError ? new S3Error(err.code, err.message) : err;
}

/** S3 lists keys in UTF-8 binary order. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

async function objectPaths(dir: string, out: string[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) await objectPaths(full, out);
    else if (e.name.endsWith(OBJECT_SUFFIX)) out.push(full);
  }
}

/** Every key stored in the bucket's folder, in S3's order. */
export async function storedKeys(bucketPath: string): Promise<string[]> {
  const files: string[] = [];
  await objectPaths(bucketPath, files);
  return files
    .map((f) => pathToKey(path.relative(bucketPath, f).split(path.sep).join("/").slice(0, -OBJECT_SUFFIX.length)))
    .sort(compareKeys);
}

export function applyKeyPaths(store: PathStore): void {
  const root = store.rootDirectory;
  store.getBucketPath = (bucket: string) => {
    try {
      checkBucketName(bucket);
      return insideFolder(root, path.join(root, bucket));
    } catch (err) {
      throw s3Error(err);
    }
  };
  store.getResourcePath = (bucket: string, key = "", resource?: string) => {
    try {
      checkKey(key);
      const bucketPath = store.getBucketPath(bucket);
      const parts = keyToPath(key).split("/");
      const last = parts.pop() ?? "";
      return insideFolder(bucketPath, path.join(bucketPath, ...parts, `${last}._S3rver_${resource}`));
    } catch (err) {
      throw s3Error(err);
    }
  };
  // s3rver removes emptied folders from the raw key's segments (`a/../b`: the bucket's own
  // folder; `../../x`: folders outside it): walk up from the object's real folder instead.
  store.deleteObject = async (bucket: string, key: string) => {
    const file = store.getResourcePath(bucket, key, "object");
    await Promise.all(
      [file, `${file}.md5`, store.getResourcePath(bucket, key, "metadata.json")].map((f) =>
        fs.unlink(f).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== "ENOENT") throw err;
        }),
      ),
    );
    const bucketPath = store.getBucketPath(bucket);
    for (let dir = path.dirname(file); dir.startsWith(bucketPath + path.sep); dir = path.dirname(dir)) {
      const left = await fs.readdir(dir).catch(() => undefined);
      if (left === undefined || left.length > 0) break;
      await fs.rmdir(dir).catch(() => undefined); // a concurrent write may have just filled it
    }
  };
  // s3rver writes an object's .md5 and metadata.json with fs.writeFile (truncate, then write):
  // a kill in between left a torn metadata.json, and every later read of the object - and every
  // listing that includes it, HEAD bucket too (s3rver answers it by listing the bucket) - failed
  // with a 500 (the soak's "the soak lab failed to start: Unknown: UnknownError"). Each file is
  // now replaced whole. The fields kept are s3rver's (FilesystemStore.putMetadata).
  store.putMetadata = async (bucket, key, metadata, md5) => {
    const allowed: string[] = S3Object.ALLOWED_METADATA;
    const json = Object.fromEntries(
      Object.entries(metadata).filter(([k]) => allowed.includes(k) || k.startsWith("x-amz-meta-")),
    );
    if (md5) await writeFileAtomic(store.getResourcePath(bucket, key, "object.md5"), md5);
    await writeFileAtomic(store.getResourcePath(bucket, key, "metadata.json"), JSON.stringify(json, null, 2));
  };
  store.listObjects = async (bucket: string, options: ListOptions): Promise<ListResult> => {
    const { prefix = "", delimiter = "", startAfter = "", maxKeys = Number.POSITIVE_INFINITY } = options;
    const entries: ({ key: string } | { prefix: string })[] = [];
    const seen = new Set<string>();
    let isTruncated = false;
    for (const key of await storedKeys(store.getBucketPath(bucket))) {
      if (!key.startsWith(prefix)) continue;
      const at = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
      const name = at === -1 ? key : key.slice(0, at + delimiter.length);
      const entry = at === -1 ? { key } : { prefix: name };
      if (compareKeys(name, startAfter) <= 0 || seen.has(name)) continue;
      seen.add(name);
      if (entries.length >= maxKeys) {
        isTruncated = true;
        break;
      }
      entries.push(entry);
    }
    const objects: ListResult["objects"] = [];
    for (const e of entries) {
      if (!("key" in e)) continue;
      const metadata = await store.getMetadata(bucket, e.key).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") return undefined; // deleted meanwhile
        throw err;
      });
      if (metadata) objects.push(new S3Object(bucket, e.key, null, metadata));
    }
    const last = entries.at(-1);
    return {
      objects,
      commonPrefixes: entries.flatMap((e) => ("prefix" in e ? [e.prefix] : [])),
      isTruncated,
      ...(last ? { nextStartAfter: "key" in last ? last.key : last.prefix } : {}),
    };
  };
}
