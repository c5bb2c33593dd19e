/**
 * What the extractor does for one object change. Plain function, no Lambda types:
 * the SQS handler, the local lab and the tests all call it.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { S3Client } from "@aws-sdk/client-s3";
import { FFPROBE_PIN } from "../../lib/ffprobe-pin";
import type { MetadataDocument } from "../../lib/schema";
import { buildDocument, type DocumentContext, unprocessableDocument } from "./document";
import type { FfprobeRun } from "./ffprobe";
import { probeInPlace } from "./probe-in-place";
import { ObjectChangedError } from "./range-proxy";
import type { ObjectChange } from "./s3-event";
import type { MetadataStore } from "./store";

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
  logger?: Logger;
  now?: () => Date;
}

/** A readable cause for a failed ffprobe run, without loopback URLs. */
export function failureReason(run: FfprobeRun, timeoutMs: number): string {
  if (run.timedOut) return `ffprobe did not finish within ${timeoutMs} ms and was killed`;
  if (run.outputCapped) return "ffprobe output exceeded its size cap; the object was not read";
  const lines = run.stderr
    .split("\n")
    .map((l) => l.replace(/https?:\/\/127\.0\.0\.1:\d+\/object:?\s*/g, "").trim())
    // The range proxy ends each response after one window on purpose; ffprobe says so and reconnects.
    .filter((l) => l && !/Stream ends prematurely|Will reconnect/.test(l));
  const detail = [...new Set([...lines, run.output?.error?.string].filter((s): s is string => !!s))].join("; ");
  const exit = run.signal ? `signal ${run.signal}` : `exit code ${run.exitCode}`;
  return `ffprobe could not read the object (${exit})${detail ? `: ${detail}` : ""}`;
}

export async function processChange(change: ObjectChange, deps: ProcessDeps): Promise<ChangeResult> {
  const now = deps.now ?? (() => new Date());
  if (change.action === "removed") {
    const written = await deps.store.putTombstone(change, now());
    return { outcome: written === "written" ? "removed" : "not-newer" };
  }

  // Skip the probe when a duplicate or an older event arrives: the table already knows better.
  const current = await deps.store.currentSequencer(change.key);
  if (current !== undefined && current >= change.sequencer) return { outcome: "not-newer" };

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
    try {
      result = await probeInPlace({
        s3: deps.s3,
        bucket: change.bucket,
        key: change.key,
        size: change.size,
        etag: change.etag,
        versionId: change.versionId,
        ffprobePath: deps.ffprobePath,
        timeoutMs: deps.probeTimeoutMs,
      });
    } catch (err) {
      if (err instanceof ObjectChangedError) return { outcome: "superseded" };
      throw err;
    }
    const upstream = result.proxy.upstreamError;
    if (upstream instanceof ObjectChangedError) return { outcome: "superseded" };
    // A probe that failed because S3 failed says nothing about the object: retry it.
    if (upstream && (result.exitCode !== 0 || result.timedOut)) throw upstream;

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
        document.raw = await deps.store.putRaw(change.key, change.sequencer, result.stdout);
      }
    } else {
      document = unprocessableDocument(runCtx, failureReason(result, deps.probeTimeoutMs));
    }
  }

  const written = await deps.store.putDocument(document);
  if (written === "not-newer") return { outcome: "not-newer", probe };
  return { outcome: document.status, document, probe };
}
