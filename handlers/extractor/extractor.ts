/**
 * The extractor as a plain object: SQS batch in, partial batch response out.
 * The Lambda entry (index.ts) and the local lab both build it with createExtractor.
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { probeSlotsHere } from "../../lib/probe-limits";
import { DEFAULT_PROBE_TIMEOUT_MS, METRICS_NAMESPACE } from "../../lib/runtime-env";
import type { ExtractorOptions } from "./contract";
import { describeError, isTransient } from "./errors";
import { type ChangeResult, processChange } from "./process-change";
import { MalformedEventError, type ObjectChange, parseS3Notification } from "./s3-event";
import { createSlots } from "./slots";
import { MetadataStore } from "./store";

export interface Extractor {
  handleBatch(event: SQSEvent): Promise<SQSBatchResponse>;
  /** One change, outside any queue (backfill, tests). */
  handleChange(change: ObjectChange): Promise<ChangeResult>;
}

export function createExtractor(options: ExtractorOptions): Extractor {
  const logger = options.logger ?? new Logger({ serviceName: "extractor" });
  const metrics = options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "extractor" });
  const store = new MetadataStore(options.dynamodb, options.tableName, options.s3, options.metadataBucket);
  const deps = {
    s3: options.s3,
    store,
    ffprobePath: options.ffprobePath,
    probeTimeoutMs: options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
    // A batch's records are processed in parallel; only this many of them probe at once.
    probeSlot: createSlots(options.probeSlots ?? probeSlotsHere()),
    logger,
  };

  function record(change: ObjectChange, result: ChangeResult): void {
    const outcome = metrics.singleMetric();
    outcome.addDimension("Outcome", result.outcome);
    outcome.addMetric("Objects", MetricUnit.Count, 1);
    if (result.probe) {
      metrics.addMetric("ProbeTime", MetricUnit.Milliseconds, result.probe.probeMs);
      metrics.addMetric("BytesRead", MetricUnit.Bytes, result.probe.bytesRead);
      const exit = metrics.singleMetric();
      exit.addDimension("FfprobeExit", result.probe.timedOut ? "killed" : String(result.probe.exitCode));
      exit.addMetric("FfprobeRuns", MetricUnit.Count, 1);
    }
    logger.info("object processed", {
      bucket: change.bucket,
      key: change.key,
      eventName: change.eventName,
      sequencer: change.sequencer,
      outcome: result.outcome,
      reason: result.document?.reason,
      ...result.probe,
    });
  }

  async function handleChange(change: ObjectChange): Promise<ChangeResult> {
    try {
      const result = await processChange(change, deps);
      record(change, result);
      return result;
    } catch (err) {
      const transient = isTransient(err);
      logger.error(transient ? "transient failure, will retry" : "failure, will retry then dead-letter", {
        bucket: change.bucket,
        key: change.key,
        eventName: change.eventName,
        sequencer: change.sequencer,
        error: describeError(err),
      });
      metrics.addMetric(transient ? "TransientFailures" : "Failures", MetricUnit.Count, 1);
      throw new Error(`s3://${change.bucket}/${change.key}: ${describeError(err)}`, { cause: err });
    }
  }

  async function handleRecord(sqsRecord: SQSRecord): Promise<void> {
    let changes: ObjectChange[];
    try {
      changes = parseS3Notification(sqsRecord.body);
    } catch (err) {
      // A malformed message cannot become a document (no trustworthy key): let it reach the DLQ.
      logger.error("malformed S3 notification", { messageId: sqsRecord.messageId, error: describeError(err) });
      metrics.addMetric("MalformedMessages", MetricUnit.Count, 1);
      throw err instanceof MalformedEventError ? err : new MalformedEventError(describeError(err), { cause: err });
    }
    // A message normally holds one record; handle several in order.
    for (const change of changes) await handleChange(change);
  }

  return {
    handleChange,
    async handleBatch(event: SQSEvent): Promise<SQSBatchResponse> {
      const processor = new BatchProcessor(EventType.SQS);
      try {
        return await processPartialResponse(event, handleRecord, processor, { throwOnFullBatchFailure: false });
      } finally {
        if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      }
    },
  };
}
