/**
 * Retries of transient AWS errors inside one invocation, before a record is handed back to
 * the queue. A throttled or failed DynamoDB write after a probe that took seconds is worth
 * waiting for here: returning a batch item failure repeats the whole probe on the next
 * delivery, and enough throttled deliveries in a row dead-letter a perfectly good object
 * (the soak's `ProvisionedThroughputExceededException` after 5 deliveries). The SDK's own
 * retries (3 attempts, a few hundred ms) do not outlast a throttling burst.
 *
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"), bounded by the invocation's deadline: an attempt is not started when its wait
 * would end past it, so the function still returns its partial batch response in time.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { sleep as defaultSleep } from "../../lib/sleep";
import { isTransient } from "./errors";

export interface RetryPolicy {
  /** First backoff ceiling, doubled per attempt. */
  baseMs: number;
  /** Largest single wait. */
  capMs: number;
  /** Attempts in all (the first included). */
  maxAttempts: number;
  /** Give up this long after the first attempt, or at the invocation's deadline if that comes first. */
  budgetMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 100, capMs: 4_000, maxAttempts: 10, budgetMs: 20_000 };

/** Time kept for answering the batch (and the in-flight records) when the deadline comes from Lambda. */
export const DEADLINE_MARGIN_MS = 5_000;

/** The deadline (epoch ms) of the invocation being handled, set by handleBatch. */
export const invocationDeadline = new AsyncLocalStorage<number>();

/** The deadline for a Lambda context's remaining time, keeping DEADLINE_MARGIN_MS (or a tenth, if less). */
export function deadlineFrom(remainingMs: number, now = Date.now()): number {
  return now + remainingMs - Math.min(DEADLINE_MARGIN_MS, remainingMs / 10);
}

export async function retryTransient<T>(
  op: () => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  deps: { now?: () => number; sleep?: (ms: number) => Promise<void>; random?: () => number } = {},
): Promise<T> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const deadline = Math.min(invocationDeadline.getStore() ?? Number.POSITIVE_INFINITY, now() + policy.budgetMs);
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!isTransient(err) || attempt >= policy.maxAttempts) throw err;
      const wait = Math.floor(random() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt));
      if (now() + wait >= deadline) throw err;
      await sleep(wait);
    }
  }
}
