/**
 * The bench's S3: s3rver in this process on 127.0.0.1, its data under .cache/bench/s3 so
 * the 1 GB object is uploaded once and found again by later runs.
 */
import { createReadStream } from "node:fs";
import * as fs from "node:fs/promises";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { makeLabS3Client } from "../lab/clients";
import { BENCH_CACHE, type BenchContext } from "./section";

export const BENCH_BUCKET = "bench";

/** One request s3rver answered, as seen on its side of the socket. */
export interface S3Request {
  method: string;
  /** The Range header, if any. */
  range?: string;
  status: number;
  /** Bytes s3rver wrote to the socket for it (headers included). */
  bytesSent: number;
  /** False when the client went away before the whole response was sent (an aborted read). */
  complete: boolean;
}

export interface BenchS3 {
  endpoint: string;
  s3: S3Client;
  /** Requests answered since the last call (an independent count of what S3 served). */
  takeRequests(): S3Request[];
  close(): Promise<void>;
}

export async function startBenchS3(): Promise<BenchS3> {
  const directory = path.join(BENCH_CACHE, "s3");
  await fs.mkdir(directory, { recursive: true });
  const s3rver = new S3rver({ silent: true, directory, configureBuckets: [{ name: BENCH_BUCKET, configs: [] }] });
  await s3rver.configureBuckets();
  const handle = s3rver.callback();
  let requests: S3Request[] = [];
  // s3rver's handler inside our own server, so every request and the bytes sent for it are seen.
  const server = http.createServer((req, res) => {
    const socket = req.socket;
    const before = socket.bytesWritten;
    const record: S3Request = {
      method: req.method ?? "",
      range: req.headers.range,
      status: 0,
      bytesSent: 0,
      complete: false,
    };
    requests.push(record);
    res.once("finish", () => {
      record.complete = true;
    });
    res.once("close", () => {
      record.status = res.statusCode;
      record.bytesSent = socket.bytesWritten - before;
    });
    handle(req, res);
  });
  server.requestTimeout = 0; // the one-time upload of the big file may take a while
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const s3 = makeLabS3Client(endpoint);
  return {
    endpoint,
    s3,
    takeRequests() {
      const taken = requests;
      requests = [];
      return taken;
    },
    async close() {
      s3.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface UploadedObject {
  key: string;
  size: number;
  /** Without quotes, as an S3 event carries it. */
  etag: string;
  /** False when an identical object (same size and source name) was already there. */
  uploaded: boolean;
  uploadMs: number;
}

/** Puts `file` at `key` unless the object already exists with the same size and source name. */
export async function ensureObject(
  ctx: BenchContext,
  s3: S3Client,
  key: string,
  file: string,
): Promise<UploadedObject> {
  const size = (await fs.stat(file)).size;
  const source = path.basename(file);
  const head = async () => s3.send(new HeadObjectCommand({ Bucket: BENCH_BUCKET, Key: key })).catch(() => undefined);
  const existing = await head();
  if (existing?.ContentLength === size && existing.Metadata?.source === source) {
    return { key, size, etag: (existing.ETag ?? "").replace(/"/g, ""), uploaded: false, uploadMs: 0 };
  }
  ctx.log(`uploading ${(size / 1e9).toFixed(2)} GB to s3://${BENCH_BUCKET}/${key} (once)...`);
  const started = performance.now();
  await s3.send(
    new PutObjectCommand({
      Bucket: BENCH_BUCKET,
      Key: key,
      Body: createReadStream(file),
      ContentLength: size,
      ContentType: "video/mp4",
      Metadata: { source },
    }),
  );
  const uploadMs = Math.round(performance.now() - started);
  const after = await head();
  if (after?.ContentLength !== size)
    throw new Error(`upload of ${key} stored ${after?.ContentLength} bytes, not ${size}`);
  return { key, size, etag: (after.ETag ?? "").replace(/"/g, ""), uploaded: true, uploadMs };
}
