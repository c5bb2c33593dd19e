/**
 * Lambda entry for the backfill's Step Functions Distributed Map item processor
 * (step-functions.ts). It runs the extractor's own code with the pinned ffprobe layer, so it
 * takes the extractor's settings: TABLE_NAME, METADATA_BUCKET, FFPROBE_PATH, FFPROBE_SHA256,
 * PROBE_TIMEOUT_MS, plus INGEST_BUCKET (the default bucket when BatchInput has none). Its
 * role needs what the extractor's has (s3:GetObject on the ingest bucket, s3:PutObject on the
 * metadata bucket, dynamodb:GetItem/PutItem) plus dynamodb:BatchGetItem on the table.
 * Size it like the extractor, times the batch concurrency (BatchInput.concurrency, default 4).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { DEFAULT_PROBE_TIMEOUT_MS, ENV, METRICS_NAMESPACE, requireEnv } from "../../lib/runtime-env";
import { createExtractor } from "../extractor/extractor";
import { checkFfprobeIdentity } from "../extractor/ffprobe-identity";
import { checkSandboxAvailable } from "../extractor/ffprobe-sandbox";
import { MetadataStore } from "../extractor/store";
import { type BackfillBatchEvent, type BackfillBatchHandler, createBackfillBatchHandler } from "./step-functions";

const logger = new Logger({ serviceName: process.env[ENV.serviceName] ?? "backfill" });
const metrics = new Metrics({ namespace: process.env[ENV.metricsNamespace] ?? METRICS_NAMESPACE });

let initialized: Promise<BackfillBatchHandler> | undefined;

async function init(): Promise<BackfillBatchHandler> {
  const ffprobePath = requireEnv(ENV.ffprobePath);
  await Promise.all([checkFfprobeIdentity(ffprobePath, requireEnv(ENV.ffprobeSha256)), checkSandboxAvailable()]);
  const s3 = new S3Client({});
  const dynamodb = new DynamoDBClient({});
  const tableName = requireEnv(ENV.tableName);
  const metadataBucket = requireEnv(ENV.metadataBucket);
  const extractor = createExtractor({
    s3,
    dynamodb,
    tableName,
    metadataBucket,
    ffprobePath,
    probeTimeoutMs: Number(process.env[ENV.probeTimeoutMs] ?? DEFAULT_PROBE_TIMEOUT_MS),
    logger,
    metrics,
  });
  return createBackfillBatchHandler({
    extractor,
    store: new MetadataStore(dynamodb, tableName, s3, metadataBucket),
    bucket: process.env[ENV.ingestBucket],
    afterBatch: () => {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    },
  });
}

/** The batch handler once initialized (the ffprobe check passed); the bench times this. */
export function ready(): Promise<BackfillBatchHandler> {
  initialized ??= init().catch((err) => {
    initialized = undefined;
    throw err;
  });
  return initialized;
}

export async function handler(event: BackfillBatchEvent) {
  return (await ready())(event);
}
