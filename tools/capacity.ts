/**
 * npm run capacity -- --uploads-per-day N [--json] [--probe-ms MS] [--memory-mb MB] [--peak-factor F]
 *
 * The capacity model of docs/capacity.md as a calculator: for N uploads a day, what the
 * pipeline costs per month (extractor Lambda, S3 requests, SQS, DynamoDB, CloudWatch Logs)
 * and which limit bites first at the peak rate, with the configuration that scale needs.
 * Per-file figures default to what `npm run bench` measured (docs/capacity.md says which);
 * prices are us-east-1 list prices without free tiers. A model on paper, not a measurement
 * of AWS: nothing here was deployed.
 */
import { CONFIG_DEFAULTS } from "../lib/config-schema";
import { METADATA_TABLE } from "../lib/schema";
import { type Cli, runCli, UsageError } from "./cli";

/** Per-file figures, as measured by `npm run bench` (see docs/capacity.md). */
export const PER_FILE = {
  /** Billed extractor time per object, ms: probe in place plus S3/DynamoDB writes (bench: 1 GB MP4 in place ~0.2-2 s on a loaded 2-core box). */
  probeMs: 1_000,
  /** Ranged GETs of the object per probe (bench: 8 for the 1 GB moov-at-end MP4, more for fragmented MP4). */
  s3GetsPerProbe: 10,
  /** Other S3 requests: HEAD before probing, PUT of the gzip'd raw ffprobe JSON. */
  s3HeadsPerProbe: 1,
  s3PutsPerProbe: 1,
  /** Stored document, bytes (documents are capped at 64 KiB; a typical video's is 1-2 KB). */
  documentBytes: 2_048,
  /** Raw ffprobe JSON, gzip'd, bytes. */
  rawJsonGzBytes: 4_096,
  /** Logs and EMF per object (bench: the extractor's first invocation), plus Lambda's START/END/REPORT lines per batch. */
  logBytes: 2_000,
  platformLogBytesPerInvocation: 350,
} as const;

/** us-east-1 list prices (USD), without free tiers. */
export const PRICES = {
  lambdaGbSecond: 0.0000166667,
  lambdaRequest: 0.2 / 1e6,
  s3Get: 0.0004 / 1000,
  s3Put: 0.005 / 1000,
  s3StorageGbMonth: 0.023,
  sqsRequest: 0.4 / 1e6,
  /** DynamoDB on-demand, per write / read request unit. */
  dynamoWru: 0.625 / 1e6,
  dynamoRru: 0.125 / 1e6,
  dynamoStorageGbMonth: 0.25,
  logsIngestGb: 0.5,
  logsStorageGbMonth: 0.03,
} as const;

/** Limits the model checks, with their source (docs/capacity.md cites each). */
export const LIMITS = {
  /** Default account concurrency per region (a quota that can be raised). */
  accountConcurrency: 1_000,
  /** Per function: 1,000 more execution environments every 10 s (Lambda scaling behavior). */
  scalingPer10s: 1_000,
  /** An SQS event source mapping: up to 1,000 concurrent batches; +300 instances a minute (services-sqs-scaling). */
  sqsMappingMaxConcurrency: 1_000,
  sqsScaleUpPerMinute: 300,
  /** DynamoDB: per partition, 1,000 WCU/s and 3,000 RCU/s; the list index has ONE partition key value. */
  partitionWcu: 1_000,
  /** DynamoDB on-demand default table throughput quota (WRU/s). */
  tableWru: 40_000,
  /** S3: per partitioned prefix, 5,500 GET/HEAD and 3,500 PUT per second. */
  prefixGets: 5_500,
  prefixPuts: 3_500,
} as const;

export interface CapacityOptions {
  uploadsPerDay: number;
  probeMs?: number;
  memoryMb?: number;
  /** Peak rate over the daily average. */
  peakFactor?: number;
  batchSize?: number;
  logRetentionDays?: number;
}

export interface CapacityModel {
  uploadsPerDay: number;
  averagePerSecond: number;
  peakPerSecond: number;
  memoryMb: number;
  probeMs: number;
  /** Concurrent extractors at the average and at the peak rate (rate x duration). */
  concurrency: { average: number; peak: number };
  monthlyUsd: Record<string, number> & { total: number };
  /** Each limit: use at the peak rate / the limit. Above 1 it bites. */
  limits: { name: string; use: number; limit: number; ratio: number; fix: string }[];
  /** The limits at or above 70 % of their ceiling, worst first. */
  bitesFirst: string[];
  config: string[];
}

const DAYS_PER_MONTH = 30.4;
const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

export function capacity(options: CapacityOptions): CapacityModel {
  const n = options.uploadsPerDay;
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--uploads-per-day must be a positive number, got ${n}`);
  const probeMs = options.probeMs ?? PER_FILE.probeMs;
  // The extractor's memory as a stack gets it by default (config extractorMemoryMb).
  const memoryMb = options.memoryMb ?? CONFIG_DEFAULTS.extractorMemoryMb;
  const peakFactor = options.peakFactor ?? 3;
  const batchSize = options.batchSize ?? 5;
  const monthly = n * DAYS_PER_MONTH;
  const averagePerSecond = n / 86_400;
  const peakPerSecond = averagePerSecond * peakFactor;

  const invocations = monthly / batchSize;
  const gbSeconds = monthly * (probeMs / 1000) * (memoryMb / 1024);
  const s3Gets = monthly * (PER_FILE.s3GetsPerProbe + PER_FILE.s3HeadsPerProbe);
  const s3Puts = monthly * PER_FILE.s3PutsPerProbe;
  // SQS: S3's SendMessage, then the poller's receive and delete, one per batch.
  const sqsRequests = monthly * (1 + 2 / batchSize);
  // DynamoDB: one read (the current sequencer), one write to the table and one to the list index (projection ALL).
  const wruPerPut = Math.ceil(PER_FILE.documentBytes / 1024);
  const wru = monthly * wruPerPut * 2;
  const rru = monthly * 1;
  const logGb = (monthly * PER_FILE.logBytes + invocations * PER_FILE.platformLogBytesPerInvocation) / 1e9;
  const retentionMonths = (options.logRetentionDays ?? 30) / DAYS_PER_MONTH;
  const storedDocsGb = (monthly * PER_FILE.documentBytes) / 1e9;
  const rawGb = (monthly * PER_FILE.rawJsonGzBytes) / 1e9;

  const cost = {
    lambda: gbSeconds * PRICES.lambdaGbSecond + invocations * PRICES.lambdaRequest,
    s3Requests: s3Gets * PRICES.s3Get + s3Puts * PRICES.s3Put,
    s3RawJsonStorage: rawGb * PRICES.s3StorageGbMonth,
    sqs: sqsRequests * PRICES.sqsRequest,
    dynamodb: wru * PRICES.dynamoWru + rru * PRICES.dynamoRru + storedDocsGb * PRICES.dynamoStorageGbMonth,
    logs: logGb * PRICES.logsIngestGb + logGb * retentionMonths * PRICES.logsStorageGbMonth,
  };
  const total = Object.values(cost).reduce((a, b) => a + b, 0);

  const concurrencyPeak = peakPerSecond * (probeMs / 1000);
  const gsiWcuPeak = peakPerSecond * wruPerPut;
  const limits = [
    {
      name: "Lambda account concurrency (default quota)",
      use: concurrencyPeak,
      limit: LIMITS.accountConcurrency,
      fix: "request a higher concurrency quota; cap the mapping with maximumConcurrency below it",
    },
    {
      name: "SQS event source mapping concurrency",
      use: concurrencyPeak / batchSize,
      limit: LIMITS.sqsMappingMaxConcurrency,
      fix: "larger batches (records of a batch are probed concurrently), or a second queue and mapping",
    },
    {
      name: "DynamoDB list index: one partition value (WCU/s)",
      use: gsiWcuPeak,
      limit: LIMITS.partitionWcu,
      fix: `shard ${METADATA_TABLE.listIndex.partitionKey.name} (e.g. "${METADATA_TABLE.listPartitionValue}#0".."#15") and merge pages in the API`,
    },
    {
      name: "DynamoDB table write throughput (on-demand default quota, WRU/s)",
      use: peakPerSecond * wruPerPut * 2,
      limit: LIMITS.tableWru,
      fix: "raise the table's on-demand throughput quota",
    },
    {
      name: "S3 GET/HEAD on one prefix (per second)",
      use: peakPerSecond * (PER_FILE.s3GetsPerProbe + PER_FILE.s3HeadsPerProbe),
      limit: LIMITS.prefixGets,
      fix: "uploads already land under per-user prefixes; S3 partitions hot prefixes (ask support to pre-partition for a launch)",
    },
  ].map((l) => ({ ...l, use: round(l.use), ratio: round(l.use / l.limit, 3) }));
  const bitesFirst = limits
    .filter((l) => l.ratio >= 0.7)
    .sort((a, b) => b.ratio - a.ratio)
    .map((l) => `${l.name}: ${Math.round(l.ratio * 100)}% at the peak`);

  const config: string[] = [];
  const mappingConcurrency = Math.min(1000, Math.max(2, Math.ceil((concurrencyPeak / batchSize) * 1.5)));
  config.push(`extractor: ${memoryMb} MB, batch size ${batchSize}, mapping maximumConcurrency ${mappingConcurrency}`);
  if (concurrencyPeak > 0.7 * LIMITS.accountConcurrency) {
    config.push(`Lambda concurrency quota >= ${Math.ceil((concurrencyPeak * 1.5) / 100) * 100}`);
  }
  if (gsiWcuPeak > 0.7 * LIMITS.partitionWcu) {
    config.push(
      `list index sharded over >= ${2 ** Math.ceil(Math.log2((gsiWcuPeak * 1.5) / LIMITS.partitionWcu))} partition values`,
    );
  }
  if (logGb > 1_000)
    config.push("logs: sample the per-object info line (Powertools log sampling) or drop to WARN; keep EMF");
  if (n >= 1e6) config.push("DynamoDB: on-demand is simplest; provisioned + auto scaling costs less at a steady rate");

  return {
    uploadsPerDay: n,
    averagePerSecond: round(averagePerSecond, 3),
    peakPerSecond: round(peakPerSecond, 3),
    memoryMb,
    probeMs,
    concurrency: { average: round(averagePerSecond * (probeMs / 1000)), peak: round(concurrencyPeak) },
    monthlyUsd: { ...Object.fromEntries(Object.entries(cost).map(([k, v]) => [k, round(v)])), total: round(total) },
    limits,
    bitesFirst,
    config,
  };
}

function usd(v: number): string {
  return `$${v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export function renderCapacity(m: CapacityModel): string {
  const lines = [
    `${m.uploadsPerDay.toLocaleString("en-US")} uploads a day: ${m.averagePerSecond}/s on average, ${m.peakPerSecond}/s at the peak`,
    `extractor at ${m.memoryMb} MB, ${m.probeMs} ms an object: ${m.concurrency.average} concurrent on average, ${m.concurrency.peak} at the peak`,
    "",
    "Per month (USD, us-east-1 list prices, no free tier):",
    ...Object.entries(m.monthlyUsd).map(([k, v]) => `  ${k.padEnd(18)} ${usd(v).padStart(14)}`),
    "",
    "Limits at the peak rate (use / limit):",
    ...m.limits.map((l) => `  ${(l.ratio * 100).toFixed(1).padStart(7)}%  ${l.name} (${l.use} of ${l.limit})`),
    "",
    m.bitesFirst.length ? `Bites first: ${m.bitesFirst.join("; ")}` : "No limit above 70 % at the peak.",
    "Configuration:",
    ...m.config.map((c) => `  - ${c}`),
  ];
  return lines.join("\n");
}

function parse(argv: string[]): CapacityOptions & { json: boolean } {
  const out: CapacityOptions & { json: boolean } = { uploadsPerDay: Number.NaN, json: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = () => Number(inline ?? argv[++i]);
    if (flag === "--json") out.json = true;
    else if (flag === "--uploads-per-day") out.uploadsPerDay = value();
    else if (flag === "--probe-ms") out.probeMs = value();
    else if (flag === "--memory-mb") out.memoryMb = value();
    else if (flag === "--peak-factor") out.peakFactor = value();
    else if (flag === "--batch-size") out.batchSize = value();
    else if (flag.startsWith("-")) throw new UsageError(`unknown option ${flag}`);
    else throw new UsageError(`unexpected argument ${JSON.stringify(argv[i])}`);
  }
  return out;
}

export const cli: Cli = {
  name: "capacity",
  usage: `usage: npm run capacity -- --uploads-per-day N [--json] [--probe-ms MS] [--memory-mb MB] [--peak-factor F] [--batch-size N]

The capacity model of docs/capacity.md: monthly cost and the limit that bites first.`,
  async main(argv) {
    const options = parse(argv);
    if (!Number.isFinite(options.uploadsPerDay)) throw new UsageError("give --uploads-per-day N");
    const model = capacity(options);
    process.stdout.write(`${options.json ? JSON.stringify(model) : renderCapacity(model)}\n`);
    return 0;
  },
};

if (require.main === module) runCli(cli);
