/**
 * Names shared by the cloud stacks and the local lab.
 */
import { createHash } from "node:crypto";

/** Project name as declared in Pulumi.yaml. */
export const PROJECT_NAME = "media-pipeline";

/** Prefix (in the metadata bucket) under which the full ffprobe JSON is stored, gzip'd. */
export const RAW_METADATA_PREFIX = "ffprobe/";

/**
 * Prefix (in the ingest bucket) of browser uploads through presigned URLs: the read API may
 * presign PUTs under it and nowhere else (its IAM policy says so).
 */
export const UPLOAD_PREFIX = "uploads/";

/**
 * Key of the raw ffprobe JSON for one object version. The object key is hashed so the
 * raw key stays under S3's 1,024-byte limit whatever the object key is; the sequencer
 * makes a retry of the same event write the same key (idempotent).
 */
export function rawMetadataKey(objectKey: string, sequencer: string): string {
  const digest = createHash("sha256").update(objectKey, "utf8").digest("hex");
  return `${RAW_METADATA_PREFIX}${digest.slice(0, 2)}/${digest}/${sequencer}.json.gz`;
}

/** Logical resource name for a stack: `mp-<stack>-<part>`. Pulumi appends a random suffix to physical names. */
export function resourceName(stack: string, part: string): string {
  return `mp-${stack}-${part}`;
}

/** Fixed names the local lab uses for the same roles the cloud stack's resources play. */
export const LAB_NAMES = {
  ingestBucket: "media-ingest",
  metadataBucket: "media-metadata",
  table: "media-metadata",
  /** Running totals of GET /stats (handlers/stats/store.ts). */
  statsTable: "media-stats",
} as const;
