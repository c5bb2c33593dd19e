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
import { handleListObjectsV2, type ListingStore, listObjectsV2Bucket } from "./s3-list";
import {
  attachNotifications,
  type FilesystemStoreLike,
  type NotificationOptions,
  replayJournal,
  s3RequestContext,
} from "./s3-notifications";

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

export async function startLabS3(options: LabS3Options): Promise<LabS3> {
  const s3rver = new S3rver({ directory: options.directory, silent: true, address: options.host, port: options.port });
  const internals = s3rver as unknown as { store: FilesystemStoreLike };
  // Changes a killed run committed without queuing their events: announce them first.
  await replayJournal(internals.store, options.notifications);
  const detach = attachNotifications(internals.store, options.notifications);
  const handle = s3rver.callback();

  const server = http.createServer((req, res) => {
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    // s3rver's ListObjectsV2 cannot paginate on OpenSSL 3 (see s3-list.ts): answered here.
    const listBucket = listObjectsV2Bucket(req);
    if (listBucket !== undefined) {
      handleListObjectsV2(internals.store as unknown as ListingStore, listBucket, req, res, requestId).catch(() => {
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/xml" });
        res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code></Error>');
      });
      return;
    }
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
