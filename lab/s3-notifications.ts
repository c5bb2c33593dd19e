/**
 * S3 event notifications for the lab, shaped exactly as S3 sends them to SQS.
 *
 * s3rver's own events are not usable: keys are not URL-encoded, the sequencer is
 * Date.now() in hex (equal within a millisecond, not ordered across restarts), a
 * multipart completion is reported as "Post", a copy lacks the ETag, and DeleteObjects
 * (what `aws s3 rm --recursive` sends) emits nothing. Instead, the mutating methods of
 * s3rver's FilesystemStore are wrapped: every successful write, copy, multipart
 * completion and delete - whichever request caused it - produces one notification,
 * after the store operation finished, carrying the size and MD5 the store computed.
 * The request that caused it (PUT vs POST form upload, caller IP) is read from an
 * AsyncLocalStorage the lab's HTTP server sets around s3rver's request handler.
 *
 * Delivery is awaited before the S3 response is sent, so an acknowledged upload always
 * has its event durably queued.
 *
 * A change that happened but whose event was not queued yet when the process died (SIGKILL
 * between the store write and the queue append) is not lost either: with `journal`, each
 * mutation first appends an intent line (bucket, key) and, once its event is queued, a done
 * line. On the next start, replayJournal announces every intent left open from the store's
 * current state (object present: ObjectCreated with its size and MD5; absent:
 * ObjectRemoved), as S3 would still deliver the event of a committed change. The writes are
 * plain appends (page cache): they survive the process, not the machine.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash, randomBytes } from "node:crypto";
import * as fsSync from "node:fs";
import { createReadStream } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import type { S3EventRecord } from "aws-lambda";
import { encodeS3EventKey } from "../handlers/extractor/s3-event";
import { LAB_REGION } from "./clients";
import type { SequencerClock } from "./sequencer";

/** What the lab knows about the HTTP request being served. */
export interface S3RequestContext {
  method: string;
  sourceIp: string;
  requestId: string;
}

/** Set by the lab's S3 HTTP server around each request (see lab/s3.ts). */
export const s3RequestContext = new AsyncLocalStorage<S3RequestContext>();

/** The S3 operations that produce events, named as in the event name's suffix. */
export type S3Operation = "Put" | "Post" | "Copy" | "CompleteMultipartUpload" | "Delete";

export function eventNameFor(operation: S3Operation): string {
  return operation === "Delete" ? "ObjectRemoved:Delete" : `ObjectCreated:${operation}`;
}

/** One completed change to one object. */
export interface ObjectMutation {
  operation: S3Operation;
  bucket: string;
  key: string;
  /** Bytes, for creations. */
  size?: number;
  /** Hex MD5 without quotes, for creations. */
  etag?: string;
}

export interface NotificationOptions {
  /** Buckets whose changes are announced (the ingest bucket). Others, such as the metadata bucket, stay silent. */
  buckets: readonly string[];
  sequencer: SequencerClock;
  /** Queues one message body; resolves once it is durably stored. */
  deliver(body: string): Promise<void>;
  region?: string;
  /** Name of the notification configuration, as set on the bucket. */
  configurationId?: string;
  now?: () => Date;
  /** Intent journal (see the file header); none: a crash can lose the event of the change in progress. */
  journal?: string;
}

/** Principal ids the lab puts where S3 names the caller and the bucket owner. */
const LAB_PRINCIPAL = "AWS:AIDALABS3RVERLOCAL";
const LAB_OWNER = "A3LABS3RVEROWNER";
export const DEFAULT_CONFIGURATION_ID = "extractor";

function requestIds(ctx?: S3RequestContext) {
  return {
    requestId: ctx?.requestId ?? randomBytes(8).toString("hex").toUpperCase(),
    hostId: randomBytes(48).toString("base64"),
  };
}

/** The notification record S3 would send for `mutation` (S3 event message structure, version 2.1). */
export function s3EventRecord(
  mutation: ObjectMutation,
  fields: {
    sequencer: string;
    eventTime: string;
    region?: string;
    configurationId?: string;
    request?: S3RequestContext;
  },
): S3EventRecord {
  const ids = requestIds(fields.request);
  const created = mutation.operation !== "Delete";
  const object: S3EventRecord["s3"]["object"] = {
    key: encodeS3EventKey(mutation.key),
    ...(created ? { size: mutation.size ?? 0, eTag: (mutation.etag ?? "").replace(/"/g, "") } : {}),
    sequencer: fields.sequencer,
  } as S3EventRecord["s3"]["object"];
  return {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: fields.region ?? LAB_REGION,
    eventTime: fields.eventTime,
    eventName: eventNameFor(mutation.operation) as S3EventRecord["eventName"],
    userIdentity: { principalId: LAB_PRINCIPAL },
    requestParameters: { sourceIPAddress: fields.request?.sourceIp ?? "127.0.0.1" },
    responseElements: { "x-amz-request-id": ids.requestId, "x-amz-id-2": ids.hostId },
    s3: {
      s3SchemaVersion: "1.0",
      configurationId: fields.configurationId ?? DEFAULT_CONFIGURATION_ID,
      bucket: {
        name: mutation.bucket,
        ownerIdentity: { principalId: LAB_OWNER },
        arn: `arn:aws:s3:::${mutation.bucket}`,
      },
      object,
    },
  };
}

/** The message S3 sends once when a notification configuration is set; consumers must ignore it. */
export function s3TestEventBody(bucket: string, now = new Date()): string {
  const ids = requestIds();
  return JSON.stringify({
    Service: "Amazon S3",
    Event: "s3:TestEvent",
    Time: now.toISOString(),
    Bucket: bucket,
    RequestId: ids.requestId,
    HostId: ids.hostId,
  });
}

/** The parts of s3rver's FilesystemStore (lib/stores/filesystem.js) the adapter wraps. */
export interface FilesystemStoreLike {
  getResourcePath(bucket: string, key?: string, resource?: string): string;
  existsObject(bucket: string, key: string): Promise<boolean>;
  putObject(object: StoreObject): Promise<{ size: number; md5: string }>;
  /** Writes the object's `.md5` and metadata files (s3rver's FilesystemStore has it). */
  putMetadata?(bucket: string, key: string, metadata: unknown, md5?: string): Promise<void>;
  copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata?: unknown,
  ): Promise<Record<string, string | number>>;
  putObjectMultipart(bucket: string, uploadId: string, parts: unknown): Promise<{ size: number; md5: string }>;
  deleteObject(bucket: string, key: string): Promise<void>;
}

/** The object s3rver hands its store's putObject. */
export interface StoreObject {
  bucket: string;
  key: string;
  content?: Buffer | NodeJS.ReadableStream;
  metadata?: unknown;
}

/**
 * s3rver's putObject writes the object file in place: a GET during a PUT reads a truncated
 * file under the previous version's ETag (and a ranged GET of the then empty file gets
 * Content-Length 1 and no byte: the reader hangs), and a PUT cut short leaves a torn object.
 * S3 replaces an object atomically; so does this: the bytes go to a temp file beside the
 * object (never listed: s3rver lists only `*._S3rver_object`), renamed into place once
 * complete, then the metadata is written as s3rver does.
 */
async function atomicPutObject(
  store: FilesystemStoreLike & Required<Pick<FilesystemStoreLike, "putMetadata">>,
  object: StoreObject,
): Promise<{ size: number; md5: string }> {
  const file = store.getResourcePath(object.bucket, object.key, "object");
  const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  const hash = createHash("md5");
  let size = 0;
  // Each chunk is written as it arrives, with synchronous calls: the chunks are small, and an
  // asynchronous write costs a hand-off to libuv's thread pool worth several times the write
  // (lab/s3-store-reads.ts).
  let fd: number | undefined;
  try {
    fsSync.mkdirSync(path.dirname(file), { recursive: true });
    fd = fsSync.openSync(tmp, "w");
    const content = object.content ?? Buffer.alloc(0);
    const chunks: Iterable<Buffer> | AsyncIterable<Buffer> = Buffer.isBuffer(content)
      ? [content]
      : (content as AsyncIterable<Buffer>);
    for await (const chunk of chunks) {
      hash.update(chunk);
      size += chunk.length;
      for (let written = 0; written < chunk.length; ) {
        written += fsSync.writeSync(fd, chunk, written, chunk.length - written);
      }
    }
    fsSync.closeSync(fd);
    fd = undefined;
    fsSync.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) fsSync.closeSync(fd);
    fsSync.rmSync(tmp, { force: true });
    throw err;
  }
  const md5 = hash.digest("hex");
  await store.putMetadata(object.bucket, object.key, object.metadata ?? {}, md5);
  return { size, md5 };
}

/** Set while a multipart completion runs: its inner putObject is not a separate event. */
const insideMultipart = new AsyncLocalStorage<true>();

/**
 * s3rver's putObject resolves when its hashing transform finished, which can be before the
 * file stream flushed the last bytes to disk; wait for the file to have its full size so a
 * consumer reacting to the event reads the whole object.
 */
async function waitForSize(file: string, size: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await fs.stat(file).then(
      (s) => s.size,
      () => -1,
    );
    if (current === size || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

type JournalLine = { i: string; b: string; k: string } | { d: string };

/** Above this size, a journal with no open intent is truncated. */
const JOURNAL_COMPACT_BYTES = 1024 * 1024;

/** The intent journal of one running adapter (see the file header). */
class IntentJournal {
  private readonly fd: number;
  private readonly prefix = randomBytes(4).toString("hex");
  private counter = 0;
  private open = 0;
  private bytes: number;

  constructor(file: string) {
    fsSync.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fsSync.openSync(file, "a");
    this.bytes = fsSync.fstatSync(this.fd).size;
  }

  /** Records that (bucket, key) is about to change; returns the id to close it with. */
  begin(bucket: string, key: string): string {
    this.counter += 1;
    const id = `${this.prefix}-${this.counter}`;
    this.write({ i: id, b: bucket, k: key });
    this.open += 1;
    return id;
  }

  /** The change's event is queued (or the change failed: no event is due). */
  end(id: string): void {
    this.write({ d: id });
    this.open -= 1;
    if (this.open === 0 && this.bytes > JOURNAL_COMPACT_BYTES) {
      fsSync.ftruncateSync(this.fd, 0);
      this.bytes = 0;
    }
  }

  close(): void {
    fsSync.closeSync(this.fd);
  }

  private write(line: JournalLine): void {
    const text = `${JSON.stringify(line)}\n`;
    fsSync.writeSync(this.fd, text);
    this.bytes += Buffer.byteLength(text);
  }
}

async function md5File(file: string): Promise<{ md5: string; size: number }> {
  const hash = createHash("md5");
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { md5: hash.digest("hex"), size };
}

/**
 * Announces the changes a previous run recorded as intents but did not finish announcing
 * (see the file header), from the store's current state, then empties the journal. Call it
 * before serving requests. Returns how many events were sent.
 */
export async function replayJournal(store: FilesystemStoreLike, options: NotificationOptions): Promise<number> {
  if (!options.journal) return 0;
  let text: string;
  try {
    text = await fs.readFile(options.journal, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw err;
  }
  const pending = new Map<string, { bucket: string; key: string }>();
  for (const line of text.split("\n")) {
    let entry: JournalLine;
    try {
      entry = JSON.parse(line) as JournalLine;
    } catch {
      continue; // blank, or torn by the crash
    }
    if ("d" in entry) pending.delete(entry.d);
    else pending.set(entry.i, { bucket: entry.b, key: entry.k });
  }
  const changes = new Map<string, { bucket: string; key: string }>();
  for (const c of pending.values()) changes.set(`${c.bucket}\u0000${c.key}`, c);
  const announce = announcer(options);
  for (const { bucket, key } of changes.values()) {
    if (await store.existsObject(bucket, key)) {
      // The write may have been torn: describe (and make s3rver serve) what is on disk.
      const file = store.getResourcePath(bucket, key, "object");
      const { md5, size } = await md5File(file);
      await fs.writeFile(`${file}.md5`, md5);
      // A metadata file torn by the crash would fail every read of the object with a 500
      // (and s3rver's HEAD bucket, which lists): what cannot be parsed is reset to none.
      const metadataFile = store.getResourcePath(bucket, key, "metadata.json");
      const metadata = await fs.readFile(metadataFile, "utf8").catch(() => undefined);
      if (metadata !== undefined) {
        try {
          JSON.parse(metadata);
        } catch {
          await fs.writeFile(metadataFile, "{}");
        }
      }
      await announce({ operation: "Put", bucket, key, size, etag: md5 });
    } else {
      await announce({ operation: "Delete", bucket, key });
    }
  }
  await fs.writeFile(options.journal, "");
  return changes.size;
}

function announcer(options: NotificationOptions): (mutation: ObjectMutation) => Promise<void> {
  const watched = new Set(options.buckets);
  const now = options.now ?? (() => new Date());
  return async (mutation) => {
    if (!watched.has(mutation.bucket)) return;
    // Sequencer taken after the store operation completed: later operations get greater ones.
    const record = s3EventRecord(mutation, {
      sequencer: options.sequencer.next(),
      eventTime: now().toISOString(),
      region: options.region,
      configurationId: options.configurationId,
      request: s3RequestContext.getStore(),
    });
    await options.deliver(JSON.stringify({ Records: [record] }));
  };
}

/**
 * Wraps `store` so every object mutation in one of `options.buckets` is announced through
 * `options.deliver`. Returns a function restoring the original methods.
 */
export function attachNotifications(store: FilesystemStoreLike, options: NotificationOptions): () => void {
  const original = {
    putObject: store.putObject,
    copyObject: store.copyObject,
    putObjectMultipart: store.putObjectMultipart,
    deleteObject: store.deleteObject,
  };
  const watched = new Set(options.buckets);
  const announce = announcer(options);
  const journal = options.journal ? new IntentJournal(options.journal) : undefined;

  // s3rver writes an object in place: two PUTs of one key at once interleave their bytes
  // under the MD5 of one of them. S3 replaces an object atomically, so mutations of a key
  // are serialized here (last one wins, whole), as are their events.
  const keyLocks = new Map<string, Promise<unknown>>();
  function serialized<T>(bucket: string, key: string, run: () => Promise<T>): Promise<T> {
    const id = `${bucket}\u0000${key}`;
    const result = (keyLocks.get(id) ?? Promise.resolve()).then(run);
    const tail = result.catch(() => undefined);
    keyLocks.set(id, tail);
    tail.then(() => {
      if (keyLocks.get(id) === tail) keyLocks.delete(id);
    });
    return result;
  }

  /** Runs one mutation of (bucket, key): one at a time per key, between an intent and its done line (watched buckets). */
  async function journaled<T>(bucket: string, key: string | undefined, run: () => Promise<T>): Promise<T> {
    if (key === undefined) return run();
    return serialized(bucket, key, async () => {
      if (!journal || !watched.has(bucket)) return run();
      const id = journal.begin(bucket, key);
      try {
        return await run();
      } finally {
        journal.end(id);
      }
    });
  }

  // atomicPutObject has written and renamed the whole file when it returns; s3rver's own
  // putObject may resolve before its file stream flushed (waitForSize).
  const atomic = store.putMetadata !== undefined;
  const writeObject = (object: StoreObject) =>
    atomic
      ? atomicPutObject(store as Parameters<typeof atomicPutObject>[0], object)
      : original.putObject.call(store, object);

  store.putObject = async function putObject(object) {
    if (insideMultipart.getStore()) return writeObject(object);
    return journaled(object.bucket, object.key, async () => {
      const result = await writeObject(object);
      if (!atomic) await waitForSize(store.getResourcePath(object.bucket, object.key, "object"), result.size);
      const method = s3RequestContext.getStore()?.method;
      await announce({
        operation: method === "POST" ? "Post" : "Put",
        bucket: object.bucket,
        key: object.key,
        size: result.size,
        etag: result.md5,
      });
      return result;
    });
  };

  store.putObjectMultipart = async function putObjectMultipart(bucket, uploadId, parts) {
    // The key lives in the upload's folder, which the original removes when done.
    const uploadDir = path.join(store.getResourcePath(bucket, undefined, "uploads"), uploadId);
    const key = await fs.readFile(path.join(uploadDir, "key"), "utf8").catch(() => undefined);
    return journaled(bucket, key, async () => {
      const result = await insideMultipart.run(true, () =>
        original.putObjectMultipart.call(store, bucket, uploadId, parts),
      );
      if (key === undefined) return result;
      await waitForSize(store.getResourcePath(bucket, key, "object"), result.size);
      // s3rver's ETag for a multipart object is the MD5 of the whole object (S3's would be
      // "<md5 of part md5s>-<parts>"); the event carries what GetObject will return.
      await announce({ operation: "CompleteMultipartUpload", bucket, key, size: result.size, etag: result.md5 });
      return result;
    });
  };

  store.copyObject = async function copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata) {
    return journaled(destBucket, destKey, async () => {
      const metadata = await original.copyObject.call(
        store,
        srcBucket,
        srcKey,
        destBucket,
        destKey,
        replacementMetadata,
      );
      await announce({
        operation: "Copy",
        bucket: destBucket,
        key: destKey,
        size: Number(metadata["content-length"]),
        etag: String(metadata.etag ?? "").replace(/"/g, ""),
      });
      return metadata;
    });
  };

  // s3rver deletes DeleteObjects' keys concurrently and then removes emptied folders;
  // two deletes in one folder can race on that cleanup (ENOENT after the object is
  // gone). Deletes are serialized, and a cleanup ENOENT after a completed delete ignored.
  let deletes: Promise<unknown> = Promise.resolve();
  store.deleteObject = async function deleteObject(bucket, key) {
    await journaled(bucket, key, async () => {
      const run = deletes.then(() =>
        original.deleteObject.call(store, bucket, key).catch(async (err: NodeJS.ErrnoException) => {
          if (err?.code === "ENOENT" && !(await store.existsObject(bucket, key))) return;
          throw err;
        }),
      );
      deletes = run.catch(() => undefined);
      await run;
      await announce({ operation: "Delete", bucket, key });
    });
  };

  return () => {
    Object.assign(store, original);
    journal?.close();
  };
}
