/**
 * Which failures are worth a retry. Transient ones go back to the queue as SQS batch
 * item failures (retried, then dead-lettered); everything about the object itself
 * becomes an `unprocessable` document instead, so bad input never loops.
 */
const TRANSIENT_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "LimitExceededException",
  "SlowDown",
  "InternalError",
  "InternalServerError",
  "ServiceUnavailable",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "TransactionConflictException",
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
]);

export function isTransient(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (!e || typeof e !== "object") return false;
  if (e.$retryable) return true;
  if (TRANSIENT_NAMES.has(e.name ?? "") || TRANSIENT_NAMES.has(e.code ?? "")) return true;
  const status = e.$metadata?.httpStatusCode;
  return typeof status === "number" && (status >= 500 || status === 429);
}

/** Message of an error and its causes, for logs and failure reasons. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 4; depth++) {
    const e = cur as { name?: string; message?: string; cause?: unknown };
    parts.push(e.message ? `${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message}` : String(cur));
    cur = e.cause;
  }
  return parts.join(" <- ");
}
