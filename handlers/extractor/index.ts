/**
 * Lambda entry for the extractor (SQS -> this function, ReportBatchItemFailures on).
 * Clients and the ffprobe check live at module scope: once per execution environment.
 * The check is the cheap identity check (ffprobe-identity.ts, about a millisecond), not a
 * hash of the whole binary: docs/security.md, "ffprobe identity", says why that is enough.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { DEFAULT_PROBE_TIMEOUT_MS, ENV, METRICS_NAMESPACE, requireEnv } from "../../lib/runtime-env";
import { createExtractor, type Extractor } from "./extractor";
import { checkFfprobeIdentity } from "./ffprobe-identity";
import { startLauncher } from "./ffprobe-launcher";
import { checkSandboxAvailable } from "./ffprobe-sandbox";

const logger = new Logger({ serviceName: process.env[ENV.serviceName] ?? "extractor" });
const metrics = new Metrics({ namespace: process.env[ENV.metricsNamespace] ?? METRICS_NAMESPACE });

let initialized: Promise<Extractor> | undefined;

async function init(): Promise<Extractor> {
  const ffprobePath = requireEnv(ENV.ffprobePath);
  // ffprobe's launcher boots beside the checks below, not in the first probe.
  startLauncher();
  // Refuse to run anything but the pinned build: a wrong layer fails every invocation loudly.
  await Promise.all([checkFfprobeIdentity(ffprobePath, requireEnv(ENV.ffprobeSha256)), checkSandboxAvailable()]);
  return createExtractor({
    s3: new S3Client({}),
    dynamodb: new DynamoDBClient({}),
    tableName: requireEnv(ENV.tableName),
    metadataBucket: requireEnv(ENV.metadataBucket),
    ffprobePath,
    probeTimeoutMs: Number(process.env[ENV.probeTimeoutMs] ?? DEFAULT_PROBE_TIMEOUT_MS),
    logger,
    metrics,
  });
}

/** The extractor once initialized (the ffprobe check passed); the bench times this. */
export function ready(): Promise<Extractor> {
  initialized ??= init().catch((err) => {
    initialized = undefined; // try again on the next invocation rather than caching the failure
    throw err;
  });
  return initialized;
}

export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  return (await ready()).handleBatch(event, context);
}
