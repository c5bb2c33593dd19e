/**
 * The lab S3's reads of an object's small files done with synchronous calls. s3rver reads an
 * object with about a dozen asynchronous file calls (stat, metadata.json, .md5, then open,
 * read, close of the range): each goes through libuv's thread pool, and on this machine a
 * hand-off to that pool and back costs about 0.1 ms of CPU, seven times the call itself
 * (a stat and a 200-byte read: 285 us asynchronous, 40 us synchronous). The files are a
 * few hundred bytes (metadata) or the bytes of one ranged GET, already in the page cache;
 * a range larger than SYNC_READ_MAX_BYTES is streamed from a file opened at once.
 *
 * Same answers as s3rver's FilesystemStore.getMetadata and getObject (a missing object
 * throws ENOENT / answers null, a torn metadata.json throws), patched on the store instance.
 */
import * as fs from "node:fs";
import { Readable } from "node:stream";
import { s3RequestContext } from "./s3-notifications";

// biome-ignore lint/suspicious/noExplicitAny: untyped CommonJS internals of s3rver
const S3Object: any = require("s3rver/lib/models/object");

/** The largest range read synchronously, bytes (the range proxy's largest window is 256 KiB). */
export const SYNC_READ_MAX_BYTES = 1024 * 1024;

/** The store members this patches. */
export interface ReadStore {
  getResourcePath(bucket: string, key?: string, resource?: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
  getObject(bucket: string, key: string, options?: { start?: number; end?: number }): Promise<unknown>;
}

function readIfPresent(file: string): Buffer | undefined {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Bytes [start, end] of `file`. */
function readRange(file: string, start: number, end: number): Buffer {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(end + 1 - start);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

export function applySyncReads(store: ReadStore): void {
  const original = { getMetadata: store.getMetadata.bind(store), getObject: store.getObject.bind(store) };

  /**
   * The object's metadata, read synchronously; undefined when it has no .md5 yet (an object
   * s3rver never hashed: its own path computes and writes it). Throws ENOENT for a missing object.
   */
  const readMetadata = (bucket: string, key: string): Record<string, unknown> | undefined => {
    const objectPath = store.getResourcePath(bucket, key, "object");
    const stat = fs.statSync(objectPath);
    const md5 = readIfPresent(`${objectPath}.md5`);
    if (md5 === undefined) return undefined;
    const stored = readIfPresent(store.getResourcePath(bucket, key, "metadata.json"));
    return {
      ...(stored === undefined ? {} : (JSON.parse(stored.toString("utf8")) as Record<string, unknown>)),
      etag: JSON.stringify(md5.toString()),
      "last-modified": stat.mtime.toUTCString(),
      "content-length": stat.size,
    };
  };

  store.getMetadata = async (bucket, key) => readMetadata(bucket, key) ?? original.getMetadata(bucket, key);

  // From the metadata to the bytes (or the open file) without an await: no replacement of the
  // object (a rename, lab/s3-notifications.ts) can come in between.
  store.getObject = async (bucket, key, options) => {
    let metadata: Record<string, unknown> | undefined;
    try {
      metadata = readMetadata(bucket, key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    if (metadata === undefined) return original.getObject(bucket, key, options);
    const lastByte = Math.max(0, Number(metadata["content-length"]) - 1);
    const range = { start: options?.start || 0, end: Math.min(options?.end || Number.POSITIVE_INFINITY, lastByte) };
    const ranged = options !== undefined && (options.start !== undefined || Boolean(options.end));
    const satisfiable = range.start >= 0 && Math.min(range.end, lastByte) >= range.start;
    if (!satisfiable) return original.getObject(bucket, key, options);
    // HEAD: s3rver destroys the content unread, so none is read.
    const head = s3RequestContext.getStore()?.method === "HEAD";
    const file = store.getResourcePath(bucket, key, "object");
    let content: Readable;
    try {
      if (head) content = Readable.from([Buffer.alloc(0)], { objectMode: false });
      else if (range.end + 1 - range.start <= SYNC_READ_MAX_BYTES)
        content = Readable.from([readRange(file, range.start, range.end)], { objectMode: false });
      // A larger range is streamed from the file opened here, so its bytes are those of the
      // version the headers describe. s3rver opened the file later, and could send one version's
      // bytes under the other's ETag and Content-Length.
      else content = fs.createReadStream("", { fd: fs.openSync(file, "r"), start: range.start, end: range.end });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null; // removed since the metadata was read
      throw err;
    }
    const object = new S3Object(bucket, key, content, metadata);
    if (ranged) object.range = range;
    return object;
  };
}
