/**
 * S3 event notifications as S3 sends them: parsing, key decoding and sequencer ordering.
 *
 * Facts designed around (see ../shared/REFERENCES.md): keys arrive URL-encoded with "+"
 * for a space; delivery is at least once and may be out of order; `sequencer` orders
 * events of the same key only (right-pad the shorter with zeros, compare
 * lexicographically); configuring a notification first sends an `s3:TestEvent`.
 */
import { createHash } from "node:crypto";
import type { S3Event, S3EventRecord } from "aws-lambda";
import type { ItemVersion } from "./store";

/** One change to one object, decoded. */
export interface ObjectChange {
  /**
   * "removed" covers every removal-like event (ObjectRemoved:*, LifecycleExpiration:*): it
   * only says "look again"; processChange decides from the object's current state.
   */
  action: "created" | "removed";
  /** Full S3 event name, e.g. "ObjectCreated:CompleteMultipartUpload", "LifecycleExpiration:Delete". */
  eventName: string;
  eventTime: string;
  bucket: string;
  /** The object key, decoded. */
  key: string;
  size: number;
  /** ETag without quotes, when the event carries one. */
  etag?: string;
  versionId?: string;
  /** Normalized sequencer (see normalizeSequencer). */
  sequencer: string;
  /**
   * Only on changes the backfill makes up (handlers/backfill), never parsed from an event:
   * the table item the backfill selected the object against (null: the key had no item).
   * The extractor then writes only if that item is still unchanged (a compare-and-swap,
   * MetadataStore.putBackfillDocument) instead of ordering by sequencer.
   */
  backfill?: { expected: ItemVersion | null };
}

/** A message body that is not an S3 event notification we can act on. */
export class MalformedEventError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MalformedEventError";
  }
}

/** Decodes an event key exactly as S3 encodes it: "+" is a space, then percent-decoding (UTF-8). */
export function decodeS3EventKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, " "));
  } catch (cause) {
    throw new MalformedEventError(`object key ${JSON.stringify(encoded)} is not valid S3 event encoding`, { cause });
  }
}

/**
 * Encodes a key the way S3 writes it into event notifications (form encoding: a space
 * becomes "+", "/" and unreserved characters stay, everything else is percent-encoded UTF-8).
 * The local lab uses this to produce AWS-shaped events.
 */
export function encodeS3EventKey(key: string): string {
  return Array.from(new TextEncoder().encode(key), (byte) => {
    const ch = String.fromCharCode(byte);
    if (byte === 0x20) return "+";
    if (/[A-Za-z0-9\-_.~*/]/.test(ch)) return ch;
    return `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
}

/** Width sequencers are right-padded to, so stored values compare with plain string order (also in DynamoDB conditions). */
export const SEQUENCER_WIDTH = 64;

/** Upper-cases and right-pads a sequencer with zeros to SEQUENCER_WIDTH. */
export function normalizeSequencer(sequencer: string): string {
  const upper = sequencer.trim().toUpperCase();
  if (!/^[0-9A-F]+$/.test(upper) || upper.length > SEQUENCER_WIDTH) {
    throw new MalformedEventError(
      `sequencer ${JSON.stringify(sequencer)} is not a hex string of at most ${SEQUENCER_WIDTH} digits`,
    );
  }
  return upper.padEnd(SEQUENCER_WIDTH, "0");
}

/** Leading zeros of a backfill sequencer (see backfillSequencer). */
const BACKFILL_SEQUENCER_ZEROS = 32;

/**
 * The sequencer of a document the backfill writes for a key that has no item at all (no S3
 * event reached the table): 32 zeros, then 32 hex digits derived from the object's ETag.
 * S3 sequencers carry their significant digits first (16-20 hex digits, not all zero; the
 * lab's are 18), so once normalized, every real event of the key sorts after this value:
 * the event-driven path (`sequencer < :seq`) replaces a backfill document as soon as any
 * event of the key arrives, and never the other way round. The ETag part keeps the raw JSON
 * key (naming.ts rawMetadataKey) distinct per object version.
 */
export function backfillSequencer(etag: string | undefined): string {
  const digest = createHash("sha256")
    .update(etag ?? "", "utf8")
    .digest("hex")
    .toUpperCase();
  return "0".repeat(BACKFILL_SEQUENCER_ZEROS) + digest.slice(0, SEQUENCER_WIDTH - BACKFILL_SEQUENCER_ZEROS);
}

/** True for a sequencer made by backfillSequencer (no S3 event ever reached the table for that version). */
export function isBackfillSequencer(sequencer: string): boolean {
  return sequencer.length === SEQUENCER_WIDTH && sequencer.startsWith("0".repeat(BACKFILL_SEQUENCER_ZEROS));
}

/** Orders two sequencers of the same key as S3 documents it: negative when a is older than b. */
export function compareSequencers(a: string, b: string): number {
  const na = normalizeSequencer(a);
  const nb = normalizeSequencer(b);
  return na < nb ? -1 : na > nb ? 1 : 0;
}

function isTestEvent(body: unknown): boolean {
  return typeof body === "object" && body !== null && (body as { Event?: unknown }).Event === "s3:TestEvent";
}

/**
 * Removal-like event types. A lifecycle expiration is not an ObjectRemoved event
 * (s3:LifecycleExpiration:Delete / :DeleteMarkerCreated, S3 user guide "Configuring S3
 * Lifecycle event notifications"), and in a versioned bucket ObjectRemoved:Delete also
 * reports a noncurrent version deleted for good or a delete marker removed (S3 user guide,
 * "Event notification types and destinations"): none of them proves the object is gone.
 */
const REMOVAL_PREFIXES = ["ObjectRemoved:", "LifecycleExpiration:"] as const;

function toChange(record: S3EventRecord): ObjectChange | undefined {
  const name = (record.eventName ?? "") as string;
  const action = name.startsWith("ObjectCreated:")
    ? "created"
    : REMOVAL_PREFIXES.some((p) => name.startsWith(p))
      ? "removed"
      : undefined;
  if (!action) return undefined; // other event types (restore, replication, ...) are not ours
  const object = record.s3?.object;
  const bucket = record.s3?.bucket?.name;
  if (!object || typeof object.key !== "string" || !bucket) {
    throw new MalformedEventError(`${name} record lacks s3.bucket.name or s3.object.key`);
  }
  const key = decodeS3EventKey(object.key);
  if (typeof object.sequencer !== "string") {
    throw new MalformedEventError(`${name} record for key ${JSON.stringify(key)} lacks a sequencer`);
  }
  return {
    action,
    eventName: name,
    eventTime: record.eventTime,
    bucket,
    key,
    size: typeof object.size === "number" ? object.size : 0,
    etag: object.eTag ? object.eTag.replace(/"/g, "") : undefined,
    versionId: object.versionId || undefined,
    sequencer: normalizeSequencer(object.sequencer),
  };
}

/**
 * Parses one SQS message body holding an S3 event notification.
 * Returns [] for `s3:TestEvent` and for event types this pipeline does not handle.
 */
export function parseS3Notification(body: string): ObjectChange[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (cause) {
    throw new MalformedEventError("message body is not JSON", { cause });
  }
  if (isTestEvent(parsed)) return [];
  const records = (parsed as Partial<S3Event>)?.Records;
  if (!Array.isArray(records)) throw new MalformedEventError("message body has no Records array");
  return records.flatMap((record) => {
    const change = toChange(record);
    return change ? [change] : [];
  });
}
