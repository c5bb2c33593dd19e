/**
 * Environment variables the Lambda entry points read, named once: the Pulumi components
 * set them on the functions. (The local lab passes the same settings to createExtractor /
 * createApi directly, so several labs can run in one process.)
 */
export const ENV = {
  /** DynamoDB table holding the metadata documents. */
  tableName: "TABLE_NAME",
  /** Bucket receiving the gzip'd full ffprobe JSON. */
  metadataBucket: "METADATA_BUCKET",
  /** Path of the ffprobe binary (the layer puts it at /opt/bin/ffprobe). */
  ffprobePath: "FFPROBE_PATH",
  /** Expected SHA-256 of that binary; checked once per cold start. */
  ffprobeSha256: "FFPROBE_SHA256",
  /** Wall-clock limit for one ffprobe run, in milliseconds. */
  probeTimeoutMs: "PROBE_TIMEOUT_MS",
  /** Powertools service name and metrics namespace. */
  serviceName: "POWERTOOLS_SERVICE_NAME",
  metricsNamespace: "POWERTOOLS_METRICS_NAMESPACE",
  /** The ingest bucket (read API; presigned uploads). */
  ingestBucket: "INGEST_BUCKET",
  /**
   * Read API, local runs only (lab, tests): the secret VALUE that list cursors are signed
   * with, at least 32 characters.
   */
  cursorSecret: "CURSOR_SECRET",
  /**
   * Read API in the cloud: the name of the SSM SecureString parameter holding that secret,
   * read (with decryption) once per container. Takes precedence over CURSOR_SECRET, which
   * the cloud stack never sets (a secret in a plain environment variable shows in the console).
   */
  cursorSecretParameter: "CURSOR_SECRET_PARAMETER",
  /** Extractor, backfill, read API: the number of list-index shards (lib/list-index.ts), from config `listShards`. */
  listShards: "LIST_SHARDS",
  /** Read API and stats aggregator: the table holding the running totals of GET /stats. */
  statsTableName: "STATS_TABLE_NAME",
  /** Read API: largest browser upload accepted, in bytes (default and ceiling: 5 GiB, one S3 PUT). */
  uploadMaxBytes: "UPLOAD_MAX_BYTES",
  /** Kill switch: the functions it pauses (names or ARNs) and the extractor's SQS event source mapping. */
  extractorFunctionName: "EXTRACTOR_FUNCTION_NAME",
  apiFunctionName: "API_FUNCTION_NAME",
  extractorEventSourceMappingUuid: "EXTRACTOR_EVENT_SOURCE_MAPPING_UUID",
  /** Kill switch: the backfill function, paused too (optional). */
  backfillFunctionName: "BACKFILL_FUNCTION_NAME",
  /** Kill switch: the budget its scheduled check reads (DescribeBudget), and the budget's account. */
  budgetName: "BUDGET_NAME",
  budgetAccountId: "BUDGET_ACCOUNT_ID",
  /** Kill switch: pause at or above this percent of the budgeted amount (default 100). */
  killSwitchThresholdPercent: "KILL_SWITCH_THRESHOLD_PERCENT",
  /** Kill switch: "true" to pause on FORECASTED alerts too (default: ACTUAL only). */
  killSwitchPauseOnForecast: "KILL_SWITCH_PAUSE_ON_FORECAST",
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** Reads a required variable, naming it in the error when it is missing. */
export function requireEnv(name: EnvName, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is required`);
  return value;
}

export const METRICS_NAMESPACE = "MediaPipeline";
export const DEFAULT_PROBE_TIMEOUT_MS = 20_000;
