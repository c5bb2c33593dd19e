/**
 * The extractor thread's side (see extractor-thread.ts): one extractor per concurrent batch
 * (environments.ts), log lines and metrics posted back to the lab's sink.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createExtractor } from "../handlers/extractor/extractor";
import { METRICS_NAMESPACE } from "../lib/runtime-env";
import { makeLabDynamoClient, makeLabS3Client } from "./clients";
import { environmentPool } from "./environments";
import type { ExtractorThreadConfig, FromThread, ToThread } from "./extractor-thread";
import { LabLogger, LabMetrics, type LogSink } from "./log";

const port = parentPort;
if (!port) throw new Error("extractor-thread-main.ts runs as a worker thread (lab/extractor-thread.ts)");
const config = workerData as ExtractorThreadConfig;
const post = (m: FromThread) => port.postMessage(m);
const sink: LogSink = (entry) => post({ type: "log", entry });

const s3 = makeLabS3Client(config.s3Endpoint);
const dynamodb = makeLabDynamoClient(config.dynamodbEndpoint);
const environments = environmentPool(() =>
  createExtractor({
    s3,
    dynamodb,
    tableName: config.tableName,
    metadataBucket: config.metadataBucket,
    ffprobePath: config.ffprobePath,
    probeTimeoutMs: config.probeTimeoutMs,
    logger: new LabLogger({ serviceName: "extractor" }, sink),
    metrics: new LabMetrics({ namespace: METRICS_NAMESPACE, serviceName: "extractor" }, sink),
  }),
);

port.on("message", (m: ToThread) => {
  if (m.type !== "batch") return;
  environments
    .run((extractor) => extractor.handleBatch(m.event))
    .then(
      (response) => post({ type: "result", id: m.id, response }),
      (err: Error) =>
        post({
          type: "failed",
          id: m.id,
          error: { name: err?.name ?? "Error", message: String(err?.message ?? err), stack: err?.stack },
        }),
    );
});
post({ type: "ready" });
