/**
 * The backfill as a Step Functions Distributed Map item processor (batched): the Map state
 * reads the ingest bucket with the S3 ItemReader (`arn:aws:states:::s3:listObjectsV2`),
 * an ItemBatcher groups the listed objects, and each child execution invokes this handler
 * with
 *
 *   { "Items": [ { "Key": "a.mp4", "Size": 1010, "Etag": "\"0570…\"", "LastModified": 1668699881,
 *                  "StorageClass": "STANDARD" }, … ],
 *     "BatchInput": { "bucket": "<ingest bucket>", "onlyOutdated": false } }
 *
 * (the ItemReader's item shape: Etag quoted, LastModified in epoch seconds; BatchInput is
 * what the state machine's ItemBatcher.BatchInput passes, here the backfill's input). It
 * returns one result per item plus a summary, for the Map's ResultWriter.
 *
 * Failures: items that could not be processed (throttling, 5xx...) do not stop the others;
 * when any failed, the handler throws BackfillItemsFailedError AFTER processing the whole
 * batch, so the state machine's Retry (ErrorEquals ["BackfillItemsFailed"]) runs the batch
 * again: everything already done is then "up-to-date" (skipped) and only the failed items
 * are processed. Set BatchInput.tolerateItemFailures to return the results instead.
 */
import { EXTRACTOR_VERSION } from "../../lib/schema";
import {
  addResult,
  type BackfillDeps,
  type BackfillSummary,
  backfillPage,
  emptySummary,
  type ItemResult,
} from "./backfill";
import { lastModifiedIso, type ObjectListing, unquoteEtag } from "./select";

/** One object as the S3 ItemReader (listObjectsV2) hands it to the Map. */
export interface ItemReaderObject {
  Key: string;
  Size: number;
  /** Quoted, as S3 lists it. */
  Etag: string;
  /** Epoch seconds (ISO text and milliseconds are accepted too). */
  LastModified?: number | string;
  StorageClass?: string;
}

export interface BackfillBatchInput {
  /** The ingest bucket (default: the function's INGEST_BUCKET). */
  bucket?: string;
  /** Only re-process documents of an older extractor version. */
  onlyOutdated?: boolean;
  /** Objects probed at the same time in this invocation (default 4). */
  concurrency?: number;
  /** Return failed items in the results instead of throwing BackfillItemsFailedError. */
  tolerateItemFailures?: boolean;
}

export interface BackfillBatchEvent {
  Items: ItemReaderObject[];
  BatchInput?: BackfillBatchInput;
}

export interface BackfillBatchResult {
  extractorVersion: string;
  summary: BackfillSummary;
  results: ItemResult[];
}

/** Thrown (after the whole batch ran) when some items failed; its name is what a Retry matches. */
export class BackfillItemsFailedError extends Error {
  constructor(readonly result: BackfillBatchResult) {
    const failed = result.results.filter((r) => r.status === "failed");
    super(
      `${failed.length} of ${result.results.length} item(s) failed: ` +
        failed
          .slice(0, 10)
          .map((r) => `${r.key}: ${r.error}`)
          .join("; "),
    );
    this.name = "BackfillItemsFailed";
  }
}

/** The ItemReader's item as an ObjectListing. */
export function fromItemReader(item: ItemReaderObject): ObjectListing {
  if (!item || typeof item.Key !== "string") throw new TypeError(`not an S3 ItemReader item: ${JSON.stringify(item)}`);
  return {
    key: item.Key,
    size: Number(item.Size ?? 0),
    etag: unquoteEtag(item.Etag),
    lastModified: lastModifiedIso(item.LastModified),
  };
}

export type BackfillBatchHandler = (event: BackfillBatchEvent) => Promise<BackfillBatchResult>;

export function createBackfillBatchHandler(
  deps: Omit<BackfillDeps, "bucket"> & { bucket?: string; afterBatch?: () => void },
): BackfillBatchHandler {
  return async (event) => {
    const input = event.BatchInput ?? {};
    const bucket = input.bucket ?? deps.bucket;
    if (!bucket) throw new Error("no bucket: set BatchInput.bucket or the function's INGEST_BUCKET");
    if (!Array.isArray(event.Items)) throw new TypeError("the event has no Items array (is ItemBatcher configured?)");
    try {
      const results = await backfillPage({ ...deps, bucket }, event.Items.map(fromItemReader), {
        onlyOutdated: input.onlyOutdated === true,
        concurrency: input.concurrency,
      });
      const summary = results.reduce(addResult, emptySummary());
      const result: BackfillBatchResult = { extractorVersion: EXTRACTOR_VERSION, summary, results };
      if (summary.failed > 0 && !input.tolerateItemFailures) throw new BackfillItemsFailedError(result);
      return result;
    } finally {
      deps.afterBatch?.();
    }
  };
}
