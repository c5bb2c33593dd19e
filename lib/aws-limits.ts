/**
 * Values AWS accepts, shared by the stack's configuration (lib/config-schema.ts) and the
 * components that apply them (components/refs.ts re-exports them).
 */

/** CloudWatch Logs retention periods AWS accepts, in days (PutRetentionPolicy `retentionInDays`). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Lambda's reserved concurrency: -1 means "no reservation" (the function shares the account's pool). */
export const UNRESERVED = -1;
