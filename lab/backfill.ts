/**
 * `npm run lab -- backfill [--dir D] [--prefix P] [--only-outdated] [--concurrency N] [--json]`
 *
 * Re-processes the lab's ingest bucket through the backfill code the cloud uses
 * (handlers/backfill): ListObjectsV2 one page at a time, each page selected against the
 * table (missing / outdated / stale documents) and processed by the extractor's own
 * handleChange, at most `--concurrency` objects at once, with a progress bar on stderr and
 * a summary on stdout.
 *
 * The normal case is a running lab (its <dir>/endpoints.json, with a live pid): the
 * backfill talks to its S3 and DynamoDB and runs the probes in this process. When no lab
 * runs on the folder, the backfill starts one (quietly: the worker also drains whatever is
 * queued meanwhile) and stops it at the end.
 *
 * Exit codes: 0 done (nothing failed), 1 some objects failed (run it again) or the lab could
 * not be reached, 2 usage error.
 */
import * as fs from "node:fs";
import {
  addResult,
  type BackfillSummary,
  backfillPage,
  emptySummary,
  formatSummary,
  type ItemResult,
} from "../handlers/backfill/backfill";
import { listObjectPages } from "../handlers/backfill/listing";
import { createExtractor } from "../handlers/extractor/extractor";
import { resolveLocalFfprobe } from "../handlers/extractor/ffprobe";
import { MetadataStore } from "../handlers/extractor/store";
import { ProgressBar } from "../lib/progress";
import { DEFAULT_PROBE_TIMEOUT_MS, METRICS_NAMESPACE } from "../lib/runtime-env";
import { parseFlags } from "../tools/cli";
import { makeLabDynamoClient, makeLabS3Client } from "./clients";
import { defaultLabDir, type Lab, type LabEndpoints, labPaths, processAlive, startLab } from "./lab";
import { fileSink, LabLogger, LabMetrics } from "./log";

export const BACKFILL_USAGE = `usage: npm run lab -- backfill [options]

Re-processes the lab's ingest bucket: every object whose document is missing, stale or
written by an older extractor version goes through the extractor again; up-to-date ones are
skipped. Runs against the running lab on the folder, or starts (and stops) one if none runs.

options:
  --dir <folder>        lab folder (default: $LAB_DIR or .lab)
  --prefix <prefix>     only keys under this prefix
  --only-outdated       only re-process existing documents of an older extractor version
  --concurrency <n>     objects probed at the same time (default 4)
  --json                print the summary as JSON
`;

/** The endpoints of the lab running on `dir`, or undefined when none runs there. */
export function runningLab(dir: string): LabEndpoints | undefined {
  let endpoints: LabEndpoints;
  try {
    endpoints = JSON.parse(fs.readFileSync(labPaths(dir).endpoints, "utf8")) as LabEndpoints;
  } catch {
    return undefined;
  }
  return Number.isInteger(endpoints.pid) && processAlive(endpoints.pid) ? endpoints : undefined;
}

/** An extractor of this process talking to a running lab, logging into the lab's pipeline log as `serviceName`. */
export async function openLabExtractor(endpoints: LabEndpoints, dir: string, serviceName = "backfill") {
  const log = fileSink(labPaths(dir).log);
  const s3 = makeLabS3Client(endpoints.s3Endpoint);
  const dynamodb = makeLabDynamoClient(endpoints.dynamodbEndpoint);
  const metrics = new LabMetrics({ namespace: METRICS_NAMESPACE, serviceName }, log.sink);
  const extractor = createExtractor({
    s3,
    dynamodb,
    tableName: endpoints.tableName,
    metadataBucket: endpoints.metadataBucket,
    ffprobePath: await resolveLocalFfprobe(),
    probeTimeoutMs: DEFAULT_PROBE_TIMEOUT_MS,
    logger: new LabLogger({ serviceName }, log.sink),
    metrics,
  });
  const store = new MetadataStore(dynamodb, endpoints.tableName, s3, endpoints.metadataBucket);
  return {
    s3,
    dynamodb,
    extractor,
    store,
    metrics,
    close: async () => {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      s3.destroy();
      dynamodb.destroy();
      await log.close();
    },
  };
}

export interface LabBackfillOptions {
  dir?: string;
  prefix?: string;
  onlyOutdated?: boolean;
  concurrency?: number;
  /** Draw a progress bar on this stream (default: none). */
  progress?: NodeJS.WriteStream;
  /** Called after each object. */
  onResult?: (r: ItemResult) => void;
  /** Keys per listing page (default 1000). */
  pageSize?: number;
}

export interface LabBackfillResult {
  summary: BackfillSummary;
  /** True when no lab was running and the backfill started one for the run. */
  startedLab: boolean;
  ms: number;
}

/** Runs a backfill against the lab on `options.dir` (see the file header). */
export async function runLabBackfill(options: LabBackfillOptions = {}): Promise<LabBackfillResult> {
  const started = Date.now();
  const dir = options.dir ?? defaultLabDir();
  let lab: Lab | undefined;
  let endpoints = runningLab(dir);
  if (!endpoints) {
    lab = await startLab({ dir, quiet: true });
    endpoints = lab.endpoints;
  }
  const opened = await openLabExtractor(endpoints, dir).catch(async (err) => {
    await lab?.stop();
    throw err;
  });
  const { s3, extractor, store, metrics, close } = opened;
  try {
    const summary = emptySummary();
    const bar = options.progress ? new ProgressBar("backfill", options.progress) : undefined;
    let listed = 0;
    let listingDone = false;
    const draw = (force = false) =>
      bar?.update(
        {
          done: summary.listed,
          total: listed,
          totalKnown: listingDone,
          detail: `${summary.processed} processed, ${summary.unprocessable} unprocessable, ${summary.skipped} skipped, ${summary.failed} failed`,
        },
        force,
      );
    // One page is listed ahead while the previous one is processed.
    const pages = listObjectPages(s3, endpoints.ingestBucket, { prefix: options.prefix, pageSize: options.pageSize });
    let next = pages.next();
    for (;;) {
      const page = await next;
      if (page.done) break;
      listed += page.value.length;
      next = pages.next();
      next.then(
        (p) => {
          if (p.done) listingDone = true;
        },
        () => undefined,
      );
      await backfillPage({ extractor, store, bucket: endpoints.ingestBucket }, page.value, {
        onlyOutdated: options.onlyOutdated,
        concurrency: options.concurrency,
        onResult: (r) => {
          addResult(summary, r);
          options.onResult?.(r);
          draw();
        },
      });
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
    listingDone = true;
    bar?.finish({
      done: summary.listed,
      total: listed,
      detail: `${summary.processed} processed, ${summary.unprocessable} unprocessable, ${summary.skipped} skipped, ${summary.failed} failed`,
    });
    return { summary, startedLab: lab !== undefined, ms: Date.now() - started };
  } finally {
    await close();
    await lab?.stop();
  }
}

function positiveInt(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw new RangeError(`${flag} needs a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** The `backfill` subcommand of lab/main.ts; returns the exit code. */
export async function backfillCommand(args: string[]): Promise<number> {
  let values: {
    dir?: string;
    prefix?: string;
    "only-outdated"?: boolean;
    concurrency?: string;
    json?: boolean;
  };
  let concurrency: number | undefined;
  try {
    ({ values } = parseFlags(args, {
      dir: { type: "string" },
      prefix: { type: "string" },
      "only-outdated": { type: "boolean", default: false },
      concurrency: { type: "string" },
      json: { type: "boolean", default: false },
    }));
    concurrency = positiveInt("--concurrency", values.concurrency);
  } catch (err) {
    process.stderr.write(`lab backfill: ${(err as Error).message} (npm run lab -- backfill --help)\n`);
    return 2;
  }
  const dir = values.dir ?? defaultLabDir();
  try {
    if (!runningLab(dir)) process.stderr.write(`lab backfill: no lab runs on ${dir}; starting one for the run\n`);
    const result = await runLabBackfill({
      dir,
      prefix: values.prefix,
      onlyOutdated: values["only-outdated"],
      concurrency,
      progress: process.stderr,
    });
    const s = result.summary;
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ ...s, ms: result.ms, startedLab: result.startedLab }, null, 2)}\n`);
    } else {
      process.stdout.write(`backfill: ${formatSummary(s)} in ${(result.ms / 1000).toFixed(1)} s\n`);
      for (const f of s.failures.slice(0, 20)) process.stdout.write(`  failed ${f.key}: ${f.error}\n`);
      if (s.failed > 0) process.stdout.write("backfill: run it again to retry the failed objects\n");
    }
    return s.failed > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`lab backfill: ${(err as Error).message}\n`);
    return 1;
  }
}
