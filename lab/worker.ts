/**
 * The lab's event source mapping: polls a LabQueue and invokes a Lambda-style SQS handler
 * with batches, as Lambda does with ReportBatchItemFailures enabled:
 *
 * - up to batchSize messages per invocation, as SQS records (messageId, receiptHandle,
 *   body, attributes.ApproximateReceiveCount, eventSource "aws:sqs", eventSourceARN, ...);
 * - the response's batchItemFailures name the messages to retry; the others are deleted;
 * - an empty or absent list means all succeeded; a thrown error, or a failure naming an
 *   id that is not in the batch, fails the whole batch;
 * - failed messages become visible again after a short retry delay (exponential in the
 *   receive count) - the lab's stand-in for waiting out the visibility timeout - and
 *   reach the dead-letter queue through the queue's redrive policy.
 *
 * pause() stops taking new batches (messages keep queueing); resume() continues;
 * stop() waits for the batches in progress.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { LAB_REGION } from "./clients";
import type { LabQueue, ReceivedMessage } from "./queue";

export type SqsHandler = (event: SQSEvent) => Promise<SQSBatchResponse | undefined | null>;

export interface RetryBackoff {
  /** Delay after the first failed delivery, ms. */
  baseMs: number;
  /** Upper bound, ms (default: the queue's visibility timeout). */
  maxMs?: number;
}

export interface WorkerOptions {
  queue: LabQueue;
  handler: SqsHandler;
  /** Messages per invocation (Lambda's BatchSize), 1..10. */
  batchSize?: number;
  /** Batches handled at the same time (Lambda's concurrency for the mapping). */
  concurrency?: number;
  /** Long-poll duration per receive, ms. */
  pollWaitMs?: number;
  /** Delay before a failed message is visible again; false keeps the full visibility timeout, as on AWS. */
  retryBackoff?: RetryBackoff | false;
  region?: string;
  /** Called after each batch. */
  onBatch?: (report: BatchReport) => void;
  /** Called when the handler throws or the queue fails. */
  onError?: (err: unknown) => void;
}

export interface BatchReport {
  messageIds: string[];
  /** Ids of the messages that go back to the queue. */
  failed: string[];
  ms: number;
  /** The handler's error when the whole batch failed by throwing. */
  error?: unknown;
}

export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { baseMs: 1_000 };

export class QueueWorker {
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly pollWaitMs: number;
  private started = false;
  private stopping = false;
  private isPaused = false;
  private resumeGate?: { promise: Promise<void>; open: () => void };
  private readonly polls = new Set<AbortController>();
  private loops: Promise<void>[] = [];
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: WorkerOptions) {
    this.batchSize = Math.min(Math.max(options.batchSize ?? 10, 1), 10);
    this.concurrency = Math.max(options.concurrency ?? 1, 1);
    this.pollWaitMs = options.pollWaitMs ?? 1_000;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** Batches being handled right now. */
  get busy(): number {
    return this.inFlight;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (let i = 0; i < this.concurrency; i++) this.loops.push(this.loop());
  }

  /** Stops taking new batches; the ones in progress finish. Messages keep queueing. */
  pause(): void {
    if (this.isPaused) return;
    this.isPaused = true;
    let open = () => {};
    const promise = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.resumeGate = { promise, open };
    for (const poll of this.polls) poll.abort();
  }

  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    this.resumeGate?.open();
    this.resumeGate = undefined;
  }

  /** Resolves when no batch is being handled. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves once the queue has no messages (visible or in flight) and no batch runs; rejects after timeoutMs. */
  async drained(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = this.options.queue.counts();
      if (counts.visible === 0 && counts.inFlight === 0 && this.inFlight === 0) return;
      if (Date.now() > deadline) {
        throw new Error(
          `queue ${this.options.queue.name} not drained after ${timeoutMs} ms (${counts.visible} visible, ${counts.inFlight} in flight)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops polling and waits for the batches in progress. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.resumeGate?.open();
    for (const poll of this.polls) poll.abort();
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (this.isPaused) {
        await this.resumeGate?.promise;
        continue;
      }
      const poll = new AbortController();
      this.polls.add(poll);
      let messages: ReceivedMessage[];
      try {
        messages = await this.options.queue.receive({
          maxMessages: this.batchSize,
          waitTimeMs: this.pollWaitMs,
          signal: poll.signal,
        });
      } catch (err) {
        this.options.onError?.(err);
        if (!this.stopping) await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      } finally {
        this.polls.delete(poll);
      }
      if (messages.length === 0) continue;
      this.inFlight += 1;
      try {
        await this.runBatch(messages);
      } catch (err) {
        this.options.onError?.(err);
      } finally {
        this.inFlight -= 1;
        if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      }
    }
  }

  private async runBatch(messages: ReceivedMessage[]): Promise<void> {
    const started = performance.now();
    const event: SQSEvent = { Records: messages.map((m) => this.toRecord(m)) };
    let failed: Set<string>;
    let error: unknown;
    try {
      failed = failedIds(await this.options.handler(event), messages);
    } catch (err) {
      error = err;
      failed = new Set(messages.map((m) => m.messageId));
      this.options.onError?.(err);
    }
    const queue = this.options.queue;
    await Promise.all(
      messages.map(async (m) => {
        if (!failed.has(m.messageId)) {
          await queue.delete(m.receiptHandle);
          return;
        }
        const backoff = this.options.retryBackoff ?? DEFAULT_RETRY_BACKOFF;
        if (backoff) {
          const delay = Math.min(
            backoff.baseMs * 2 ** (m.receiveCount - 1),
            backoff.maxMs ?? queue.visibilityTimeoutMs,
          );
          queue.changeVisibility(m.receiptHandle, delay);
        }
      }),
    );
    this.options.onBatch?.({
      messageIds: messages.map((m) => m.messageId),
      failed: messages.filter((m) => failed.has(m.messageId)).map((m) => m.messageId),
      ms: Math.round(performance.now() - started),
      ...(error === undefined ? {} : { error }),
    });
  }

  private toRecord(m: ReceivedMessage): SQSRecord {
    const region = this.options.region ?? LAB_REGION;
    return {
      messageId: m.messageId,
      receiptHandle: m.receiptHandle,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentTimestamp),
        SenderId: "AIDALABS3NOTIFICATIONS",
        ApproximateFirstReceiveTimestamp: String(m.firstReceiveTimestamp ?? Date.now()),
      },
      messageAttributes: {},
      md5OfBody: m.md5OfBody,
      eventSource: "aws:sqs",
      eventSourceARN: this.options.queue.arn,
      awsRegion: region,
    };
  }
}

/** The messages to retry, per Lambda's partial batch response rules. */
export function failedIds(
  response: SQSBatchResponse | undefined | null,
  messages: readonly { messageId: string }[],
): Set<string> {
  const all = new Set(messages.map((m) => m.messageId));
  const failures = response?.batchItemFailures;
  if (!failures || failures.length === 0) return new Set();
  const failed = new Set<string>();
  for (const f of failures) {
    // An unknown, empty or missing identifier makes Lambda treat the whole batch as failed.
    if (!f || typeof f.itemIdentifier !== "string" || !all.has(f.itemIdentifier)) return all;
    failed.add(f.itemIdentifier);
  }
  return failed;
}
