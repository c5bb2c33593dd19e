/**
 * The lab's extractor in a thread of its own (a worker_threads Worker), beside the stand-ins.
 *
 * In the cloud the extractor runs in Lambda's processes, apart from S3 and DynamoDB. The lab
 * ran all of it on one event loop: s3rver, dynalite, the queue, and the extractor with its SDK
 * clients, range proxies and ffprobe spawns (libuv's spawn blocks its loop until the child has
 * exec'd). That one thread was the lab's bottleneck: on 2 cores it ran at 100% while the second
 * core idled (issue 14: 8.8 documents/s). Here the worker's batches are handled in the thread,
 * with one extractor per concurrent batch (environments.ts), and the stand-ins keep the main
 * thread. The thread reaches S3 and DynamoDB over HTTP as before (the soak's fault proxies in
 * between), and its log lines and metrics come back to the lab's sink unchanged.
 *
 * Protocol: {type: "batch", id, event} in; {type: "result", id, response} or
 * {type: "failed", id, error} and {type: "log", entry} out.
 */
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { LogEntry, LogSink } from "./log";

export interface ExtractorThreadConfig {
  s3Endpoint: string;
  dynamodbEndpoint: string;
  tableName: string;
  metadataBucket: string;
  ffprobePath: string;
  probeTimeoutMs: number;
}

export type ToThread = { type: "batch"; id: number; event: SQSEvent };
export type FromThread =
  | { type: "result"; id: number; response: SQSBatchResponse }
  | { type: "failed"; id: number; error: { name: string; message: string; stack?: string } }
  | { type: "log"; entry: LogEntry }
  | { type: "ready" };

export interface ExtractorThread {
  /** Handles one batch in the thread (the worker's handler). */
  handleBatch(event: SQSEvent): Promise<SQSBatchResponse>;
  /** Ends the thread; batches still waiting fail. */
  close(): Promise<void>;
}

export async function startExtractorThread(config: ExtractorThreadConfig, sink: LogSink): Promise<ExtractorThread> {
  // The thread runs TypeScript through the same loader as this process (execArgv is inherited).
  const worker = new Worker(path.join(__dirname, "extractor-thread-main.ts"), { workerData: config });
  const waiting = new Map<number, { resolve(r: SQSBatchResponse): void; reject(e: Error): void }>();
  let next = 0;
  let ended: Error | undefined;
  const failAll = (err: Error) => {
    ended ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on("message", (m: FromThread) => {
    if (m.type === "log") sink(m.entry);
    else if (m.type === "result" || m.type === "failed") {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.type === "result") w?.resolve(m.response);
      else w?.reject(Object.assign(new Error(m.error.message), { name: m.error.name, stack: m.error.stack }));
    }
  });
  worker.on("error", (err) => failAll(err));
  worker.on("exit", (code) => failAll(new Error(`the extractor thread exited (${code})`)));
  await new Promise<void>((resolve, reject) => {
    const onReady = (m: FromThread) => {
      if (m.type !== "ready") return;
      worker.off("message", onReady);
      worker.off("error", reject);
      resolve();
    };
    worker.on("message", onReady);
    worker.once("error", reject);
  });
  return {
    handleBatch(event) {
      if (ended) return Promise.reject(ended);
      const id = ++next;
      return new Promise<SQSBatchResponse>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ type: "batch", id, event } satisfies ToThread);
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}
