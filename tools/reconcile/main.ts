/**
 * npm run reconcile [-- --dir D] [--prefix P] [--json] [--enqueue] [--limit N]
 * npm run reconcile -- --stack NAME [--bucket B] [--table T] [--queue-url U] [--region R]
 *                      [--prefix P] [--segments N] [--json] [--enqueue] [--limit N]
 *
 * Compares the ingest bucket with the metadata table (tools/reconcile/reconcile.ts) and
 * prints what disagrees: missing, stale and orphaned documents, documents of an older
 * extractor version, and how many documents say unprocessable.
 *
 * Without --stack/--bucket/--table: the running lab on --dir (its endpoints.json).
 * With --stack: the bucket and table come from `pulumi stack output --json --stack NAME`
 * (outputs uploadBucket, tableName, and extractorQueueUrl for --enqueue); the flags
 * override them and are the way when the Pulumi CLI is not installed.
 *
 * --enqueue does something about it:
 *   lab    missing and stale objects go through the backfill code (compare-and-swap writes,
 *          handlers/backfill/backfill.ts); orphaned documents get a tombstone while their
 *          object is still absent.
 *   cloud  each object with no item at all is sent to the extractor's queue as an
 *          S3-shaped event (SendMessageBatch). Stale documents and tombstoned objects need
 *          the backfill (`npm run backfill -- --stack NAME`): an event would lose to the
 *          sequencer already in the table.
 *
 * Exit codes (tools/cli.ts): 0 bucket and table agree, 1 they disagree (missing, stale or orphaned), 2 usage
 * error, 3 the comparison could not run (no lab, AWS error).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { addResult, backfillPage, emptySummary, formatSummary } from "../../handlers/backfill/backfill";
import type { ObjectListing } from "../../handlers/backfill/select";
import { openLabExtractor, runningLab } from "../../lab/backfill";
import { makeLabDynamoClient, makeLabS3Client } from "../../lab/clients";
import { defaultLabDir } from "../../lab/lab";
import { type Cli, parseFlags, runCli } from "../cli";
import { type PulumiRunner, runPulumi, UsageError } from "../resume";
import { resolveStackValues } from "../stack-outputs";
import { formatReport, hasDifferences, type ReconcileReport, reconcile, reconcileEventBody } from "./reconcile";

export const USAGE = `usage:
  npm run reconcile [-- --dir D] [options]            the running lab (default)
  npm run reconcile -- --stack NAME [options]         a deployed stack
  npm run reconcile -- --bucket B --table T [--queue-url U] [--region R] [options]

Compares the ingest bucket with the metadata table: objects without a document (missing),
documents of another object version (stale), documents of deleted objects (orphaned),
documents of an older extractor (outdated), unprocessable documents.

  --dir <folder>      lab folder (default: $LAB_DIR or .lab)
  --stack NAME        read uploadBucket, tableName, extractorQueueUrl from the stack's outputs
  --bucket B          the ingest bucket     } override the stack's outputs; use them when
  --table T           the metadata table    } the Pulumi CLI is not installed
  --queue-url U       the extractor's queue (for --enqueue)
  --region R          AWS region (default: the SDK's, e.g. AWS_REGION)
  --prefix P          only keys under P
  --segments N        parallel Scan segments (cloud; default 1)
  --enqueue           lab: re-process missing/stale objects and tombstone orphans;
                      cloud: send the missing objects to the extractor's queue
  --json              print the full report as JSON
  --limit N           keys listed per kind (default 20)`;

export const cli: Cli = {
  name: "reconcile",
  usage: USAGE,
  exitCodes: {
    1: "bucket and table disagree (missing, stale or orphaned documents)",
    3: "the comparison could not run (no lab running, an AWS call failed)",
  },
  main: (argv) => main(argv),
};

export const RECONCILE_STACK_OUTPUTS = {
  bucket: { output: "uploadBucket", flag: "bucket" },
  table: { output: "tableName", flag: "table" },
  queueUrl: { output: "extractorQueueUrl", flag: "queue-url" },
} as const;

export interface ReconcileDeps {
  pulumi?: PulumiRunner;
  s3?: (region?: string) => S3Client;
  dynamodb?: (region?: string) => DynamoDBClient;
  sqs?: (region?: string) => SQSClient;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

export interface EnqueueResult {
  /** Lab: objects handed to the backfill code, and its summary line. Cloud: messages sent. */
  enqueued: number;
  failed: number;
  /** Lab: orphaned documents replaced by a tombstone. */
  tombstoned?: number;
  /** Cloud: what an event cannot fix (stale documents, tombstoned objects): run the backfill. */
  needBackfill?: number;
  detail?: string;
}

/** Cloud --enqueue: one S3-shaped event per object with no item at all (10 per SendMessageBatch). */
export async function enqueueMissing(
  sqs: SQSClient,
  queueUrl: string,
  bucket: string,
  report: ReconcileReport,
  region: string,
): Promise<EnqueueResult> {
  const work = report.missing.filter((m) => !m.tombstone);
  let enqueued = 0;
  let failed = 0;
  for (let i = 0; i < work.length; i += 10) {
    const batch = work.slice(i, i + 10);
    const res = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((m, j) => ({ Id: String(j), MessageBody: reconcileEventBody(bucket, m, region) })),
      }),
    );
    enqueued += res.Successful?.length ?? 0;
    failed += res.Failed?.length ?? 0;
  }
  return { enqueued, failed, needBackfill: report.stale.length + report.missing.length - work.length };
}

async function labMain(
  values: { dir?: string; prefix?: string; enqueue?: boolean },
  out: (t: string) => void,
): Promise<{ report: ReconcileReport; enqueue?: EnqueueResult; where: string }> {
  const dir = values.dir ?? defaultLabDir();
  const endpoints = runningLab(dir);
  if (!endpoints) throw new Error(`no lab runs on ${dir} (start it with npm start, or pass --dir)`);
  const s3 = makeLabS3Client(endpoints.s3Endpoint);
  const dynamodb = makeLabDynamoClient(endpoints.dynamodbEndpoint);
  try {
    const target = {
      s3,
      dynamodb,
      bucket: endpoints.ingestBucket,
      tableName: endpoints.tableName,
      prefix: values.prefix,
    };
    const report = await reconcile(target);
    if (!values.enqueue) return { report, where: `lab ${dir}` };
    const fix = await openLabExtractor(endpoints, dir, "reconcile");
    try {
      const objects: ObjectListing[] = [
        ...report.missing,
        ...report.stale.map((s) => ({ ...s, etag: s.objectEtag })),
      ].map((o) => ({ key: o.key, size: o.size, etag: o.etag, lastModified: o.lastModified }));
      const results = await backfillPage(
        { extractor: fix.extractor, store: fix.store, bucket: endpoints.ingestBucket },
        objects,
      );
      const summary = results.reduce(addResult, emptySummary());
      let tombstoned = 0;
      let failed = summary.failed;
      for (const o of report.orphaned) {
        try {
          const res = await fix.extractor.handleChange({
            action: "removed",
            eventName: "ObjectRemoved:Reconcile",
            eventTime: new Date().toISOString(),
            bucket: endpoints.ingestBucket,
            key: o.key,
            size: 0,
            sequencer: o.sequencer,
            backfill: { expected: { sequencer: o.sequencer, etag: o.etag, extractorVersion: o.extractorVersion } },
          });
          if (res.outcome === "removed") tombstoned += 1;
        } catch {
          failed += 1;
        }
      }
      out(`reconcile --enqueue: backfill ${formatSummary(summary)}; ${tombstoned} orphaned document(s) tombstoned\n`);
      const after = await reconcile(target);
      return {
        report: after,
        enqueue: { enqueued: objects.length, failed, tombstoned, detail: formatSummary(summary) },
        where: `lab ${dir} (after --enqueue)`,
      };
    } finally {
      await fix.close();
    }
  } finally {
    s3.destroy();
    dynamodb.destroy();
  }
}

export async function main(argv: string[], deps: ReconcileDeps = {}): Promise<number> {
  const out = deps.out ?? ((t: string) => process.stdout.write(t));
  const err = deps.err ?? ((t: string) => process.stderr.write(t));
  let values: {
    dir?: string;
    stack?: string;
    bucket?: string;
    table?: string;
    "queue-url"?: string;
    region?: string;
    prefix?: string;
    segments?: string;
    enqueue?: boolean;
    json?: boolean;
    limit?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseFlags(argv, {
      dir: { type: "string" },
      stack: { type: "string" },
      bucket: { type: "string" },
      table: { type: "string" },
      "queue-url": { type: "string" },
      region: { type: "string" },
      prefix: { type: "string" },
      segments: { type: "string" },
      enqueue: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      limit: { type: "string" },
      help: { type: "boolean", default: false },
    }));
    for (const flag of ["segments", "limit"] as const) {
      const v = values[flag];
      if (v !== undefined && !/^\d+$/.test(v))
        throw new UsageError(`--${flag} needs a number, got ${JSON.stringify(v)}`);
    }
  } catch (e) {
    err(`reconcile: ${(e as Error).message} (npm run reconcile -- --help)\n`);
    return 2;
  }
  if (values.help) {
    out(`${USAGE}\n`);
    return 0;
  }
  const cloud = values.stack !== undefined || values.bucket !== undefined || values.table !== undefined;
  let result: { report: ReconcileReport; enqueue?: EnqueueResult; where: string };
  try {
    if (!cloud) {
      if (values.dir === undefined && values["queue-url"]) throw new UsageError("--queue-url is for a stack");
      result = await labMain(values, out);
    } else {
      const resolved = await resolveStackValues(
        RECONCILE_STACK_OUTPUTS,
        { bucket: values.bucket, table: values.table, queueUrl: values["queue-url"] },
        values.stack,
        deps.pulumi ?? runPulumi,
        values.enqueue ? [] : ["queueUrl" as const],
      );
      const bucket = resolved.bucket as string;
      const tableName = resolved.table as string;
      const s3 = (deps.s3 ?? ((region) => new S3Client({ region })))(values.region);
      const dynamodb = (deps.dynamodb ?? ((region) => new DynamoDBClient({ region })))(values.region);
      try {
        const report = await reconcile({
          s3,
          dynamodb,
          bucket,
          tableName,
          prefix: values.prefix,
          segments: values.segments ? Number(values.segments) : undefined,
        });
        result = { report, where: `s3://${bucket} vs ${tableName}` };
        if (values.enqueue) {
          const sqs = (deps.sqs ?? ((region) => new SQSClient({ region })))(values.region);
          try {
            const region = values.region ?? (await sqs.config.region());
            result.enqueue = await enqueueMissing(sqs, resolved.queueUrl as string, bucket, report, region);
          } finally {
            sqs.destroy();
          }
        }
      } finally {
        s3.destroy();
        dynamodb.destroy();
      }
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`reconcile: ${e.message} (npm run reconcile -- --help)\n`);
      return 2;
    }
    err(`reconcile: ${(e as Error).message}\n`);
    return 3;
  }
  const { report, enqueue, where } = result;
  if (values.json) {
    out(`${JSON.stringify({ ...report, ...(enqueue ? { enqueue } : {}) }, null, 2)}\n`);
  } else {
    out(formatReport(report, { limit: values.limit ? Number(values.limit) : undefined, where }));
    if (enqueue && cloud) {
      out(
        `enqueued ${enqueue.enqueued} event(s) to the extractor's queue${enqueue.failed ? `, ${enqueue.failed} failed` : ""}` +
          `${enqueue.needBackfill ? `; ${enqueue.needBackfill} stale or tombstoned object(s) need the backfill (npm run backfill)` : ""}\n`,
      );
    }
  }
  return hasDifferences(report) ? 1 : 0;
}

if (require.main === module) runCli(cli);
