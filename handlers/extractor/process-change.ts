/**
 * What the extractor does for one object change. Plain function, no Lambda types:
 * the SQS handler, the local lab and the tests all call it.
 */

import { createHash } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { FFPROBE_PIN } from "../../lib/ffprobe-pin";
import { EXTRACTOR_VERSION, type MetadataDocument } from "../../lib/schema";
import { buildDocument, type DocumentContext, unprocessableDocument } from "./document";
import { failureReason } from "./failure-reason";
import { probeInPlace } from "./probe-in-place";
import { ObjectChangedError } from "./range-proxy";
import type { ObjectChange } from "./s3-event";
import type { Slots } from "./slots";
import { type MetadataStore, sameItemVersion } from "./store";

/** The version string stored in documents: the pinned build, which the handler verified at start. */
export const PINNED_FFPROBE_VERSION = FFPROBE_PIN.versionLine.replace(/^ffprobe version /, "");

export type Outcome =
  /** A document with status ok was written. */
  | "ok"
  /** A document with status unprocessable was written. */
  | "unprocessable"
  /** A removal was recorded. */
  | "removed"
  /** The table already reflects this event or a newer one (duplicate or out-of-order delivery). */
  | "not-newer"
  /** The object changed or vanished since the event; the newer event will describe it. */
  | "superseded";

/** S3 reads slower than this (or a quarter of the probe timeout, if less) make a failed probe a retry. */
export const STALLED_READ_MS = 5_000;

/**
 * S3 answered a read so slowly that ffprobe gave up (its 10 s read timeout, or the probe
 * deadline): the failure says nothing about the object, so the message is retried. Named
 * TimeoutError, which errors.ts counts as transient.
 */
export class S3ReadStalledError extends Error {
  constructor(readonly slowestReadMs: number) {
    super(`an S3 read took ${slowestReadMs} ms to answer and ffprobe gave up waiting; retrying`);
    this.name = "TimeoutError";
  }
}

export interface ChangeResult {
  outcome: Outcome;
  document?: MetadataDocument;
  probe?: { exitCode: number | null; timedOut: boolean; bytesRead: number; probeMs: number; requests: number };
}

export interface ProcessDeps {
  s3: S3Client;
  store: MetadataStore;
  ffprobePath: string;
  probeTimeoutMs: number;
  /** Limits how many probes run at once (lib/probe-limits.ts); unlimited when absent. */
  probeSlot?: Slots;
  logger?: Logger;
  now?: () => Date;
}

/**
 * Where the raw ffprobe JSON of this change goes: per (key, sequencer) for events; a backfill
 * keeps the sequencer of the item it replaces, so its raw key also names the object version
 * and extractor version (a retry lands on the same key, and the old document's raw JSON is
 * never overwritten by a write that may still lose its compare-and-swap).
 */
function rawId(change: ObjectChange): string {
  if (!change.backfill) return change.sequencer;
  const tag = createHash("sha256")
    .update(`${change.etag ?? ""}|${EXTRACTOR_VERSION}`)
    .digest("hex")
    .slice(0, 16);
  return `${change.sequencer}-backfill-${tag}`;
}

/** Does the object exist? (For a backfill removal: an orphaned document is only removed if it does not.) */
async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

export async function processChange(change: ObjectChange, deps: ProcessDeps): Promise<ChangeResult> {
  const now = deps.now ?? (() => new Date());
  if (change.action === "removed") {
    if (change.backfill) {
      // Reconcile removing an orphaned document: only while the object is still absent and
      // the document is still the one selected (a new object's event then replaces the tombstone).
      const expected = change.backfill.expected;
      if (expected === null || expected.deleted) return { outcome: "not-newer" };
      if (await objectExists(deps.s3, change.bucket, change.key)) return { outcome: "superseded" };
      const written = await deps.store.putBackfillTombstone(change, now(), expected);
      return { outcome: written === "written" ? "removed" : "not-newer" };
    }
    const written = await deps.store.putTombstone(change, now());
    return { outcome: written === "written" ? "removed" : "not-newer" };
  }

  if (change.backfill) {
    // Skip the probe when the item changed since the backfill selected the object: whatever
    // wrote it (a newer event, another backfill) knows at least as much.
    const current = await deps.store.currentVersion(change.key);
    if (!sameItemVersion(current, change.backfill.expected)) return { outcome: "not-newer" };
  } else {
    // Skip the probe when a duplicate or an older event arrives: the table already knows better.
    const current = await deps.store.currentSequencer(change.key);
    if (current !== undefined && current >= change.sequencer) return { outcome: "not-newer" };
  }

  const ctx: DocumentContext = {
    bucket: change.bucket,
    key: change.key,
    size: change.size,
    etag: change.etag,
    versionId: change.versionId,
    sequencer: change.sequencer,
    eventTime: change.eventTime,
    ffprobeVersion: PINNED_FFPROBE_VERSION,
    bytesRead: 0,
    probeMs: 0,
    processedAt: "",
  };

  let document: MetadataDocument;
  let probe: ChangeResult["probe"];
  if (change.size === 0) {
    document = unprocessableDocument({ ...ctx, processedAt: now().toISOString() }, "the object is empty (0 bytes)");
  } else {
    let result: Awaited<ReturnType<typeof probeInPlace>>;
    const slot: Slots = deps.probeSlot ?? ((work) => work());
    try {
      result = await slot(() =>
        probeInPlace({
          s3: deps.s3,
          bucket: change.bucket,
          key: change.key,
          size: change.size,
          etag: change.etag,
          versionId: change.versionId,
          ffprobePath: deps.ffprobePath,
          timeoutMs: deps.probeTimeoutMs,
        }),
      );
    } catch (err) {
      if (err instanceof ObjectChangedError) return { outcome: "superseded" };
      throw err;
    }
    const upstream = result.proxy.upstreamError;
    if (upstream instanceof ObjectChangedError) return { outcome: "superseded" };
    // A probe during which S3 failed says nothing reliable about the object (ffprobe is
    // stopped at the failure; had it finished first, it finished on partial reads): retry it.
    if (upstream) throw upstream;
    // Nor does one that failed while S3 was stalling (nothing failed, it was just too slow).
    const stalledMs = Math.min(STALLED_READ_MS, deps.probeTimeoutMs / 4);
    if ((result.exitCode !== 0 || result.timedOut) && result.proxy.slowestReadMs >= stalledMs) {
      throw new S3ReadStalledError(result.proxy.slowestReadMs);
    }

    probe = {
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      bytesRead: result.bytesRead,
      probeMs: result.probeMs,
      requests: result.requests,
    };
    const runCtx = {
      ...ctx,
      contentType: result.contentType,
      bytesRead: result.bytesRead,
      probeMs: result.probeMs,
      processedAt: now().toISOString(),
    };
    if (result.exitCode === 0 && result.output && !result.timedOut) {
      document = buildDocument(runCtx, result.output);
      if (document.status === "ok" && result.stdout) {
        document.raw = await deps.store.putRaw(change.key, rawId(change), result.stdout);
      }
    } else {
      document = unprocessableDocument(runCtx, failureReason(result, deps.probeTimeoutMs));
    }
  }

  const written = change.backfill
    ? await deps.store.putBackfillDocument(document, change.backfill.expected)
    : await deps.store.putDocument(document);
  if (written === "not-newer") return { outcome: "not-newer", probe };
  return { outcome: document.status, document, probe };
}
