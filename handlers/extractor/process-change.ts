/**
 * What the extractor does for one object change. Plain function, no Lambda types:
 * the SQS handler, the local lab and the tests all call it.
 */

import { createHash } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Outcome } from "../../lib/extractor-outcome";
import { FFPROBE_PIN } from "../../lib/ffprobe-pin";
import { EXTRACTOR_VERSION, type MetadataDocument } from "../../lib/schema";
import { buildDocument, type DocumentContext, unprocessableDocument } from "./document";
import { failureReason } from "./failure-reason";
import { judgeTimeout } from "./probe-deadline";
import { probeInPlace } from "./probe-in-place";
import { ObjectChangedError } from "./range-proxy";
import type { ObjectChange } from "./s3-event";
import type { Slots } from "./slots";
import { type MetadataStore, sameItemVersion } from "./store";

/** The version string stored in documents: the pinned build, which the handler verified at start. */
export const PINNED_FFPROBE_VERSION = FFPROBE_PIN.versionLine.replace(/^ffprobe version /, "");

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
  /** The longest deadline any delivery of this change gets (probe-deadline.ts); default probeTimeoutMs. */
  maxProbeTimeoutMs?: number;
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

/** The key's current object (HEAD without a version id), or undefined when there is none. */
interface CurrentObject {
  size: number;
  etag?: string;
  versionId?: string;
}

/**
 * HEADs the current object. In a versioned bucket, a key whose current version is a delete
 * marker answers 404 too, exactly as an absent key (the role's s3:ListBucket makes a missing
 * key 404, not 403).
 */
async function currentObject(s3: S3Client, bucket: string, key: string): Promise<CurrentObject | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return {
      size: head.ContentLength ?? 0,
      etag: head.ETag?.replace(/"/g, "") || undefined,
      versionId: head.VersionId && head.VersionId !== "null" ? head.VersionId : undefined,
    };
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}

/** Does the object exist? (For a backfill removal: an orphaned document is only removed if it does not.) */
async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  return (await currentObject(s3, bucket, key)) !== undefined;
}

/**
 * A removal-like event (ObjectRemoved:*, LifecycleExpiration:*), decided from the key's
 * current state rather than from the event name (S3 user guide, "Event notification types
 * and destinations"): in a versioned bucket, ObjectRemoved:Delete and LifecycleExpiration:Delete
 * also report a noncurrent version deleted for good, and removing a delete marker (an undelete)
 * makes an older version current with no ObjectCreated event at all.
 * - No current object: a tombstone, ordered by the event's sequencer as before.
 * - A current object the table already describes (same ETag, live document): nothing to do.
 * - A current object the table does not describe (a tombstone, another ETag, no item): it is
 *   probed as if created, under this event's sequencer, which is newer than the document's.
 */
async function processRemoval(change: ObjectChange, deps: ProcessDeps): Promise<ChangeResult> {
  const now = deps.now ?? (() => new Date());
  const current = await currentObject(deps.s3, change.bucket, change.key);
  if (current === undefined) {
    const written = await deps.store.putTombstone(change, now());
    return { outcome: written === "written" ? "removed" : "not-newer" };
  }
  const item = await deps.store.currentVersion(change.key);
  if (item !== undefined && item.sequencer >= change.sequencer) return { outcome: "not-newer" };
  if (item !== undefined && !item.deleted && item.etag !== undefined && item.etag === current.etag) {
    return { outcome: "still-present" };
  }
  deps.logger?.info("removal event for an object that is still there: probing its current version", {
    bucket: change.bucket,
    key: change.key,
    eventName: change.eventName,
    versionId: current.versionId,
  });
  return processChange({ ...change, action: "created", ...current }, deps);
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
    return processRemoval(change, deps);
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
    // A probe killed at its deadline is judged by the CPU time it got: a busy machine is retried
    // with a longer deadline, only the object's own slowness is stored (probe-deadline.ts).
    let timeoutReason: string | undefined;
    if (result.timedOut) {
      const judged = judgeTimeout(result, {
        timeoutMs: deps.probeTimeoutMs,
        maxTimeoutMs: deps.maxProbeTimeoutMs ?? deps.probeTimeoutMs,
      });
      if (judged.verdict === "retry") throw judged.error;
      timeoutReason = judged.reason;
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
      document = unprocessableDocument(runCtx, timeoutReason ?? failureReason(result, deps.probeTimeoutMs));
    }
  }

  const written = change.backfill
    ? await deps.store.putBackfillDocument(document, change.backfill.expected)
    : await deps.store.putDocument(document);
  if (written === "not-newer") return { outcome: "not-newer", probe };
  return { outcome: document.status, document, probe };
}
