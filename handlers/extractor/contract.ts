/**
 * The extractor's public surface, used by the Lambda entry (index.ts), the local lab,
 * the probe CLI and the bench.
 */

import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";

export interface ExtractorOptions {
  s3: S3Client;
  dynamodb: DynamoDBClient;
  tableName: string;
  /** Bucket receiving the gzip'd full ffprobe JSON under RAW_METADATA_PREFIX. */
  metadataBucket: string;
  /** Path of the ffprobe binary to run (already verified against the pin). */
  ffprobePath: string;
  /** Kill ffprobe after this many milliseconds. */
  probeTimeoutMs?: number;
  /**
   * Probes run at once by this extractor (each ffprobe may use up to its memory limit).
   * Default: probeSlotsHere() (lib/probe-limits.ts), from the Lambda function's memory.
   */
  probeSlots?: number;
  logger?: Logger;
  metrics?: Metrics;
}
