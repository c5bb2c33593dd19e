/**
 * The lab's S3: s3rver on loopback, objects kept under a folder, every object change in
 * the watched buckets announced as an AWS-shaped event notification (lab/s3-notifications.ts).
 *
 * s3rver's request handler runs inside our own HTTP server so each request's method and
 * caller are available (AsyncLocalStorage) to the notification adapter.
 */
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import S3rver from "s3rver";
import { closeServer, listen } from "./http-server";
import { MAX_KEY_BYTES } from "./s3-keys";
import { handleListObjectsV2, type ListingStore, listObjectsV2Bucket } from "./s3-list";
import {
  attachNotifications,
  type FilesystemStoreLike,
  type NotificationOptions,
  replayJournal,
  s3RequestContext,
} from "./s3-notifications";
import { type BucketStateStore, cacheBucketState } from "./s3-store-cache";
import { applyKeyPaths, type PathStore } from "./s3-store-paths";
import { applySyncReads, type ReadStore } from "./s3-store-reads";

export interface LabS3Options {
  /** Folder holding buckets and objects. */
  directory: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  notifications: NotificationOptions;
}

export interface LabS3 {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** The object key of a path-style request URL, undefined when there is none or it does not decode. */
function pathKey(url: string): string | undefined {
  const pathname = url.split("?")[0] ?? "";
  const m = /^\/[^/]+\/(.+)$/s.exec(pathname);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * s3rver's router has no route for a key with an empty segment (`a//b`, `/x`): such a URL
 * names the key as one escaped segment, which the router decodes back to the whole key.
 * (s3rver does not check SigV4 signatures, so the rewritten path is not a mismatch.)
 */
function routableUrl(url: string, key: string): string {
  if (!key.startsWith("/") && !key.includes("//")) return url;
  const [pathname, ...query] = url.split("?");
  const bucket = /^\/[^/]+/.exec(pathname ?? "")?.[0] ?? "";
  return [`${bucket}/${encodeURIComponent(key)}`, ...query].join("?");
}

/**
 * Removes s3rver's per-request logger (koa-logger, its first middleware). With `silent` it
 * still formats two colored lines per request for a transport that drops them: about 5% of
 * the lab's CPU under load. Errors still reach s3rver's own (silent) logger.
 */
function dropRequestLogger(app: { middleware: { name: string }[] }): void {
  const kept = app.middleware.filter((fn) => fn.name !== "logger");
  if (kept.length !== app.middleware.length - 1) {
    throw new Error("s3rver's request logger was not found: check lab/s3.ts against this s3rver version");
  }
  app.middleware.splice(0, app.middleware.length, ...kept);
}

/** The bucket of a HeadBucket request (`HEAD /<bucket>`, no query), else undefined. */
function headBucketName(req: http.IncomingMessage): string | undefined {
  if (req.method !== "HEAD") return undefined;
  const m = /^\/([^/?]+)\/?$/.exec(req.url ?? "");
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined; // s3rver answers it
  }
}

export async function startLabS3(options: LabS3Options): Promise<LabS3> {
  const s3rver = new S3rver({ directory: options.directory, silent: true, address: options.host, port: options.port });
  const internals = s3rver as unknown as { store: FilesystemStoreLike; middleware: { name: string }[] };
  dropRequestLogger(internals);
  // Keys are opaque strings: one file each, never outside the folder (lab/s3-keys.ts).
  applyKeyPaths(internals.store as unknown as PathStore);
  applySyncReads(internals.store as unknown as ReadStore);
  cacheBucketState(internals.store as unknown as BucketStateStore);
  // Changes a killed run committed without queuing their events: announce them first.
  await replayJournal(internals.store, options.notifications);
  const detach = attachNotifications(internals.store, options.notifications);
  const handle = s3rver.callback();

  const server = http.createServer((req, res) => {
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    // Refused before s3rver reads the request (the store refuses it too, for other routes).
    const key = pathKey(req.url ?? "/");
    if (key !== undefined && Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) {
      const body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>KeyTooLongError</Code><Message>Your key is too long</Message></Error>';
      res.writeHead(400, {
        "Content-Type": "application/xml",
        "Content-Length": Buffer.byteLength(body),
        "x-amz-request-id": requestId,
      });
      res.end(body);
      return;
    }
    // s3rver answers HeadBucket by listing every object of the bucket (with each one's
    // metadata) and dropping the list: the lab's provisioning HEADs each bucket at every start,
    // about half a second of CPU for a few thousand objects. Answered here from the bucket alone.
    const headBucket = headBucketName(req);
    if (headBucket !== undefined) {
      (internals.store as unknown as BucketStateStore).getBucket(headBucket).then(
        (bucket) => {
          res.writeHead(bucket ? 200 : 404, { "x-amz-request-id": requestId });
          res.end();
        },
        (err: { status?: number }) => {
          res.writeHead(err.status ?? 500, { "x-amz-request-id": requestId });
          res.end();
        },
      );
      return;
    }
    // s3rver's ListObjectsV2 cannot paginate on OpenSSL 3 (see s3-list.ts): answered here.
    const listBucket = listObjectsV2Bucket(req);
    if (listBucket !== undefined) {
      handleListObjectsV2(internals.store as unknown as ListingStore, listBucket, req, res, requestId).catch(() => {
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/xml" });
        res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code></Error>');
      });
      return;
    }
    if (key !== undefined) req.url = routableUrl(req.url ?? "/", key);
    s3RequestContext.run(
      { method: req.method ?? "GET", sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, "") ?? "", requestId },
      () => handle(req, res),
    );
  });
  const port = await listen(server, options.port, options.host);

  return {
    endpoint: `http://${options.host}:${port}`,
    port,
    async close() {
      await closeServer(server);
      detach();
    },
  };
}
