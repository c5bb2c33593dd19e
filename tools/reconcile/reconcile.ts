/**
 * The bucket against the table: which objects have no document, which documents describe
 * another version of their object, which describe objects that are gone, which come from an
 * older extractor. One comparison for `npm run reconcile` (lab and cloud, tools/reconcile/main.ts),
 * the soak test (lab/soak/) and the tests.
 *
 *   missing     an object without a live document (no item, or a tombstone)
 *   stale       a live document whose etag is not the object's
 *   orphaned    a live document for a key that has no object (tombstones do not count)
 *   outdated    a live document written by an older extractor version (semantic order)
 *   unprocessable  live documents, for existing objects, with status unprocessable
 *
 * Reads the whole listing (ListObjectsV2 pages) and the whole table (Scan pages) once: the
 * bucket's keys and ETags are held in memory (about 100 bytes an object), the table is
 * streamed against them. A Scan reads every item: on AWS that costs read capacity (about
 * one RCU per 8 KB with eventually consistent reads), so reconcile is an operator's tool,
 * not something to run in a loop.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { listObjectPages } from "../../handlers/backfill/listing";
import { compareExtractorVersions, type ObjectListing } from "../../handlers/backfill/select";
import { backfillSequencer, encodeS3EventKey } from "../../handlers/extractor/s3-event";
import type { ItemSummary } from "../../handlers/extractor/store";
import { EXTRACTOR_VERSION, METADATA_TABLE } from "../../lib/schema";

/** A table item as reconcile reads it. */
export interface TableItem extends ItemSummary {
  key: string;
  reason?: string;
}

export interface ReconcileReport {
  extractorVersion: string;
  prefix?: string;
  /** Objects in the bucket (under the prefix). */
  objects: number;
  /** Live documents in the table (under the prefix). */
  documents: number;
  tombstones: number;
  /** Objects whose live document has their ETag. */
  inAgreement: number;
  /** Of those, documents with status ok / unprocessable. */
  ok: number;
  unprocessable: number;
  missing: { key: string; etag: string; size: number; lastModified?: string; tombstone: boolean }[];
  stale: { key: string; objectEtag: string; documentEtag?: string; size: number; lastModified?: string }[];
  /** With the item's version, so a removal can be a compare-and-swap on it. */
  orphaned: { key: string; etag?: string; sequencer: string; extractorVersion?: string }[];
  outdated: { key: string; extractorVersion?: string }[];
  unprocessableKeys: { key: string; reason?: string }[];
}

/** True when bucket and table disagree (missing, stale or orphaned); outdated documents are not a disagreement. */
export function hasDifferences(r: ReconcileReport): boolean {
  return r.missing.length + r.stale.length + r.orphaned.length > 0;
}

/** Compares a listing with the table's items (pure; both may be any iterable). */
export function compareListings(
  objects: Iterable<ObjectListing>,
  items: Iterable<TableItem>,
  options: { extractorVersion?: string; prefix?: string } = {},
): ReconcileReport {
  const extractorVersion = options.extractorVersion ?? EXTRACTOR_VERSION;
  const bucket = new Map<string, ObjectListing>();
  for (const o of objects) bucket.set(o.key, o);
  const report: ReconcileReport = {
    extractorVersion,
    ...(options.prefix ? { prefix: options.prefix } : {}),
    objects: bucket.size,
    documents: 0,
    tombstones: 0,
    inAgreement: 0,
    ok: 0,
    unprocessable: 0,
    missing: [],
    stale: [],
    orphaned: [],
    outdated: [],
    unprocessableKeys: [],
  };
  const live = new Set<string>();
  const tombstoned = new Set<string>();
  for (const item of items) {
    if (options.prefix && !item.key.startsWith(options.prefix)) continue;
    if (item.deleted) {
      report.tombstones += 1;
      tombstoned.add(item.key);
      continue;
    }
    report.documents += 1;
    live.add(item.key);
    if (compareExtractorVersions(item.extractorVersion, extractorVersion) < 0) {
      report.outdated.push({ key: item.key, extractorVersion: item.extractorVersion });
    }
    const object = bucket.get(item.key);
    if (object === undefined) {
      report.orphaned.push({
        key: item.key,
        sequencer: item.sequencer,
        ...(item.etag !== undefined ? { etag: item.etag } : {}),
        ...(item.extractorVersion !== undefined ? { extractorVersion: item.extractorVersion } : {}),
      });
    } else if (item.etag !== object.etag) {
      report.stale.push({
        key: item.key,
        objectEtag: object.etag,
        documentEtag: item.etag,
        size: object.size,
        ...(object.lastModified ? { lastModified: object.lastModified } : {}),
      });
    } else {
      report.inAgreement += 1;
      if (item.status === "unprocessable") {
        report.unprocessable += 1;
        report.unprocessableKeys.push({ key: item.key, reason: item.reason });
      } else {
        report.ok += 1;
      }
    }
  }
  for (const [key, o] of bucket) {
    if (live.has(key)) continue;
    report.missing.push({
      key,
      etag: o.etag,
      size: o.size,
      ...(o.lastModified ? { lastModified: o.lastModified } : {}),
      tombstone: tombstoned.has(key),
    });
  }
  for (const list of [report.missing, report.stale, report.orphaned, report.outdated, report.unprocessableKeys]) {
    list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  return report;
}

const PK = METADATA_TABLE.partitionKey.name;
const SCANNED = [PK, "sequencer", "etag", "extractorVersion", "deleted", "status", "reason"] as const;

/** Every item of the table (under `prefix`), page by page; `segments` > 1 scans in parallel. */
export async function* scanTable(
  dynamodb: DynamoDBClient,
  tableName: string,
  options: { prefix?: string; segments?: number; consistent?: boolean } = {},
): AsyncGenerator<TableItem[]> {
  const doc = DynamoDBDocumentClient.from(dynamodb);
  const segments = Math.max(1, options.segments ?? 1);
  const names = Object.fromEntries(SCANNED.map((a, i) => [`#s${i}`, a]));
  const scanSegment = async function* (segment: number): AsyncGenerator<TableItem[]> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new ScanCommand({
          TableName: tableName,
          ProjectionExpression: SCANNED.map((_, i) => `#s${i}`).join(", "),
          ExpressionAttributeNames: names,
          ...(options.prefix
            ? {
                FilterExpression: "begins_with(#s0, :prefix)",
                ExpressionAttributeValues: { ":prefix": options.prefix },
              }
            : {}),
          ...(segments > 1 ? { Segment: segment, TotalSegments: segments } : {}),
          ConsistentRead: options.consistent ?? false,
          ExclusiveStartKey: start,
        }),
      );
      yield (page.Items ?? []).map(
        (item): TableItem => ({
          key: String(item[PK]),
          sequencer: String(item.sequencer ?? ""),
          ...(typeof item.etag === "string" ? { etag: item.etag } : {}),
          ...(typeof item.extractorVersion === "string" ? { extractorVersion: item.extractorVersion } : {}),
          ...(item.deleted === true ? { deleted: true } : {}),
          ...(item.status === "ok" || item.status === "unprocessable" ? { status: item.status } : {}),
          ...(typeof item.reason === "string" ? { reason: item.reason } : {}),
        }),
      );
      start = page.LastEvaluatedKey;
    } while (start);
  };
  if (segments === 1) {
    yield* scanSegment(0);
    return;
  }
  // Parallel segments: collect each segment's pages concurrently, hand them out as they come.
  const pages: TableItem[][] = [];
  let done = 0;
  let wake: (() => void) | undefined;
  let failure: unknown;
  for (let s = 0; s < segments; s++) {
    (async () => {
      for await (const page of scanSegment(s)) {
        pages.push(page);
        wake?.();
      }
    })()
      .catch((err) => {
        failure ??= err;
      })
      .finally(() => {
        done += 1;
        wake?.();
      });
  }
  for (;;) {
    if (failure) throw failure;
    const page = pages.shift();
    if (page) {
      yield page;
      continue;
    }
    if (done === segments) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
    wake = undefined;
  }
}

export interface ReconcileTarget {
  s3: S3Client;
  dynamodb: DynamoDBClient;
  bucket: string;
  tableName: string;
  prefix?: string;
  /** Parallel Scan segments (default 1). */
  segments?: number;
  extractorVersion?: string;
}

/** Lists the bucket, scans the table, compares. */
export async function reconcile(target: ReconcileTarget): Promise<ReconcileReport> {
  const objects: ObjectListing[] = [];
  for await (const page of listObjectPages(target.s3, target.bucket, { prefix: target.prefix })) objects.push(...page);
  const items: TableItem[] = [];
  for await (const page of scanTable(target.dynamodb, target.tableName, {
    prefix: target.prefix,
    segments: target.segments,
  })) {
    items.push(...page);
  }
  return compareListings(objects, items, { extractorVersion: target.extractorVersion, prefix: target.prefix });
}

/** The report as text: counts, then up to `limit` keys of each kind. */
export function formatReport(r: ReconcileReport, options: { limit?: number; where?: string } = {}): string {
  const limit = options.limit ?? 20;
  const lines = [
    `reconcile${options.where ? ` ${options.where}` : ""}${r.prefix ? ` (prefix ${JSON.stringify(r.prefix)})` : ""}: ` +
      `${r.objects} object(s), ${r.documents} document(s), ${r.tombstones} tombstone(s); extractor ${r.extractorVersion}`,
    `  in agreement   ${r.inAgreement} (${r.ok} ok, ${r.unprocessable} unprocessable)`,
    `  missing        ${r.missing.length}${r.missing.some((m) => m.tombstone) ? ` (${r.missing.filter((m) => m.tombstone).length} with a tombstone)` : ""}`,
    `  stale          ${r.stale.length}`,
    `  orphaned       ${r.orphaned.length}`,
    `  outdated       ${r.outdated.length}`,
  ];
  const section = (title: string, keys: string[]) => {
    if (keys.length === 0) return;
    lines.push(`${title}:`);
    for (const k of keys.slice(0, limit)) lines.push(`  ${k}`);
    if (keys.length > limit) lines.push(`  ... and ${keys.length - limit} more (--json lists all)`);
  };
  section(
    "missing",
    r.missing.map((m) => `${m.key}${m.tombstone ? " (tombstone)" : ""}`),
  );
  section(
    "stale",
    r.stale.map((s) => `${s.key} (object ${s.objectEtag}, document ${s.documentEtag ?? "none"})`),
  );
  section(
    "orphaned",
    r.orphaned.map((o) => o.key),
  );
  section(
    "outdated",
    r.outdated.map((o) => `${o.key} (${o.extractorVersion ?? "no version"})`),
  );
  return `${lines.join("\n")}\n`;
}

/**
 * An S3-shaped event notification (one record) for an object that has no document at all,
 * for `reconcile --enqueue` on AWS: sent to the extractor's queue, it takes the ordinary
 * event path. Its sequencer is backfillSequencer(etag), below every real one, so the
 * object's own event (should it still arrive) replaces the document, never the reverse.
 * The event name says where it came from; the extractor accepts any ObjectCreated:*.
 */
export function reconcileEventBody(
  bucket: string,
  object: { key: string; etag: string; size: number; lastModified?: string },
  region: string,
): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: region,
        eventTime: object.lastModified ?? new Date().toISOString(),
        eventName: "ObjectCreated:Reconcile",
        userIdentity: { principalId: "media-pipeline:reconcile" },
        requestParameters: { sourceIPAddress: "127.0.0.1" },
        responseElements: { "x-amz-request-id": "RECONCILE", "x-amz-id-2": "RECONCILE" },
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "reconcile",
          bucket: { name: bucket, ownerIdentity: { principalId: "media-pipeline" }, arn: `arn:aws:s3:::${bucket}` },
          object: {
            key: encodeS3EventKey(object.key),
            size: object.size,
            eTag: object.etag,
            sequencer: backfillSequencer(object.etag),
          },
        },
      },
    ],
  });
}
