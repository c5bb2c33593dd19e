/**
 * The lab's stand-in for Lambda execution environments: each batch the worker runs at once is
 * handled by an environment of its own, as Lambda does when the SQS event source mapping runs
 * several batches concurrently: "For each concurrent request, Lambda provisions a separate
 * instance of your execution environment" (Lambda developer guide, "Understanding Lambda function
 * scaling", https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html), and an
 * environment busy with one request cannot take another. An environment is created on first
 * need and reused once its batch is done (a warm start).
 *
 * What an environment holds matters for throughput: the extractor's probe slots
 * (lib/probe-limits.ts, 2 at the lab's 1024 MB) are per process in the cloud. One extractor
 * shared by all of the lab's concurrent batches (as before, issue 14) capped the whole lab at
 * 2 probes at once, whatever its concurrency: with the proxy round trips of a probe on one
 * busy event loop, the cores idled while messages waited for a slot.
 */
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";

export interface EnvironmentPool<E> {
  /** Runs `work` in an idle environment (a new one when none is idle), which is idle again afterwards. */
  run<T>(work: (environment: E) => Promise<T>): Promise<T>;
  /** Every environment created so far, oldest first. */
  readonly all: readonly E[];
}

export function environmentPool<E>(create: (index: number) => E): EnvironmentPool<E> {
  const all: E[] = [];
  const idle: E[] = [];
  return {
    all,
    async run(work) {
      let environment = idle.pop();
      if (environment === undefined) {
        environment = create(all.length);
        all.push(environment);
      }
      try {
        return await work(environment);
      } finally {
        idle.push(environment);
      }
    },
  };
}

/** An SQS handler that gives each concurrent batch its own environment's handler. */
export function perEnvironmentHandler<E extends { handleBatch(event: SQSEvent): Promise<SQSBatchResponse> }>(
  pool: EnvironmentPool<E>,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return (event) => pool.run((environment) => environment.handleBatch(event));
}
