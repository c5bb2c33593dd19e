/**
 * The metadata document and the table that holds it: one versioned definition that
 * the extractor, the read API, the Pulumi MetadataTable component, the local lab,
 * the policy pack and the tests all import.
 *
 * Bump SCHEMA_VERSION when a field changes meaning; bump EXTRACTOR_VERSION when the
 * extractor would produce a different document for the same object (a backfill
 * re-processes documents with an older extractorVersion).
 */

export const SCHEMA_VERSION = 1;
export const EXTRACTOR_VERSION = "1.0.0";

/** `ok`: ffprobe recognised the object. `unprocessable`: it is not media we can read; `reason` says why. */
export type DocumentStatus = "ok" | "unprocessable";

/** What the object is, decided from the probe (never from the file name). */
export type MediaKind = "video" | "audio" | "image" | "other";

export type StreamKind = "video" | "audio" | "subtitle" | "data" | "attachment" | "unknown";

export interface ContainerSummary {
  /** ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  format: string;
  formatLongName?: string;
  durationSec?: number;
  bitRate?: number;
  startTimeSec?: number;
  /** ffprobe's probe_score (100 = certain). */
  probeScore?: number;
}

export interface StreamSummary {
  index: number;
  kind: StreamKind;
  codec?: string;
  profile?: string;
  width?: number;
  height?: number;
  /** Average frame rate in frames per second, rounded to 3 decimals. */
  frameRate?: number;
  pixelFormat?: string;
  /** Display rotation in degrees (from the display matrix side data or the rotate tag). */
  rotation?: number;
  sampleRate?: number;
  channels?: number;
  channelLayout?: string;
  language?: string;
  bitRate?: number;
  durationSec?: number;
  /** Cover art in an audio file (disposition.attached_pic). */
  attachedPic?: boolean;
}

/** Where the full, gzip'd ffprobe JSON for this document lives. */
export interface RawMetadataRef {
  bucket: string;
  key: string;
  bytes: number;
}

export interface MetadataDocument {
  schemaVersion: number;
  bucket: string;
  key: string;
  size: number;
  etag?: string;
  versionId?: string;
  contentType?: string;
  status: DocumentStatus;
  /** Human-readable cause when status is `unprocessable`. */
  reason?: string;
  kind: MediaKind;
  container?: ContainerSummary;
  streams: StreamSummary[];
  /** True when streams beyond MAX_STREAMS were left out. */
  streamsTruncated?: boolean;
  /** A bounded selection of container tags (see TAG_LIMITS). */
  tags: Record<string, string>;
  /** True when tags were dropped or shortened to stay within TAG_LIMITS. */
  tagsTruncated?: boolean;
  ffprobeVersion: string;
  extractorVersion: string;
  /** ISO-8601 time the document was written. */
  processedAt: string;
  /** Bytes of the object read from S3 to produce this document. */
  bytesRead: number;
  probeMs: number;
  raw?: RawMetadataRef;
  /** S3 event sequencer this document reflects, normalized (see handlers/extractor/s3-event.ts). */
  sequencer: string;
  /** Time of the S3 event this document reflects. */
  eventTime: string;
}

/** Bounds that keep every document far below DynamoDB's 400 KB item limit. */
export const TAG_LIMITS = {
  maxTags: 32,
  maxKeyChars: 64,
  maxValueChars: 512,
  /** Total UTF-8 bytes of all kept keys and values. */
  maxTotalBytes: 8 * 1024,
} as const;
export const MAX_STREAMS = 64;
/** Hard ceiling on a stored document's size (JSON bytes), a fraction of DynamoDB's 400 KB. */
export const MAX_DOCUMENT_BYTES = 64 * 1024;
export const DYNAMODB_ITEM_LIMIT_BYTES = 400 * 1024;
export const MAX_REASON_CHARS = 1024;

/**
 * The DynamoDB table. Attribute names here are the only place they are spelled.
 *
 * - `objectKey` is the partition key: one item per S3 object key.
 * - `byProcessedAt` is a sparse global secondary index listing live documents newest
 *   first without a scan: only live documents carry `listPartition`.
 * - A removal leaves a tombstone (no `listPartition`, `deleted: true`) carrying the
 *   sequencer, so an older create delivered late cannot resurrect the document; the
 *   tombstone expires through TTL on `expiresAt`.
 */
export const METADATA_TABLE = {
  partitionKey: { name: "objectKey", type: "S" },
  ttlAttribute: "expiresAt",
  listIndex: {
    name: "byProcessedAt",
    partitionKey: { name: "listPartition", type: "S" },
    sortKey: { name: "processedAt", type: "S" },
    projection: "ALL",
  },
  /**
   * `listPartition` of shard 0, the only value before the index was sharded. Writers and
   * readers go through lib/list-index.ts (listingAttributes, listPartitionValues).
   */
  listPartitionValue: "files",
  /** How long a tombstone is kept: far longer than S3's out-of-order delivery window. */
  tombstoneTtlSeconds: 7 * 24 * 3600,
} as const;

/** Attribute definitions in the shape both the DynamoDB API and `aws.dynamodb.Table` take. */
export function tableAttributeDefinitions(): { name: string; type: "S" }[] {
  return [METADATA_TABLE.partitionKey, METADATA_TABLE.listIndex.partitionKey, METADATA_TABLE.listIndex.sortKey].map(
    (a) => ({ name: a.name, type: a.type }),
  );
}

/** A stored item: the document plus table bookkeeping. */
export interface MetadataItem extends MetadataDocument {
  objectKey: string;
  listPartition?: string;
  /** Lower-cased file name GET /files?q= searches (lib/list-index.ts); live documents only. */
  searchName?: string;
  deleted?: boolean;
  expiresAt?: number;
}
