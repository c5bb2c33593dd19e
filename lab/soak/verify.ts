/**
 * Soak phase 5: the verdict. Straight at the stand-ins (no proxies), the bucket is compared
 * with the table (tools/reconcile/reconcile.ts), the index the API reads is checked for
 * duplicates, the dead-letter queue is read; then the lab stops, and every document is held
 * against what was uploaded and the pipeline's log is counted. report.ts prints the result.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { listObjectPages } from "../../handlers/backfill/listing";
import type { ObjectListing } from "../../handlers/backfill/select";
import { parseS3Notification } from "../../handlers/extractor/s3-event";
import { listPartitionValues, listShardsFromEnv } from "../../lib/list-index";
import { METADATA_TABLE } from "../../lib/schema";
import { compareListings, scanTable, type TableItem } from "../../tools/reconcile/reconcile";
import { makeLabDynamoClient } from "../clients";
import { injectsFaults } from "./fault-proxy";
import type { SoakReport } from "./options";
import type { SoakRun } from "./start";

/** When the phases ran, for the report's timing. */
export interface SoakTiming {
  uploadSeconds: number;
  drainStarted: number;
  drainedAt: number;
  drained: boolean;
}

/** Reads the bucket, the table, the list index and the dead letters; then stops the lab, the hog and the proxies. */
async function readFinalState(run: SoakRun) {
  const { s3, bucket, endpoints, lab, dynamodbPort } = run;
  const dynamodb = makeLabDynamoClient(`http://127.0.0.1:${dynamodbPort}`);
  const objects: ObjectListing[] = [];
  for await (const page of listObjectPages(s3, bucket)) objects.push(...page);
  const items: TableItem[] = [];
  for await (const page of scanTable(dynamodb, endpoints.tableName, { consistent: true })) items.push(...page);
  const report = compareListings(objects, items);
  const listed = new Map<string, number>();
  const doc = DynamoDBDocumentClient.from(dynamodb);
  const index = METADATA_TABLE.listIndex;
  for (const value of listPartitionValues(listShardsFromEnv())) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: endpoints.tableName,
          IndexName: index.name,
          KeyConditionExpression: "#p = :p",
          ExpressionAttributeNames: { "#p": index.partitionKey.name },
          ExpressionAttributeValues: { ":p": value },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const key = String(item[METADATA_TABLE.partitionKey.name]);
        listed.set(key, (listed.get(key) ?? 0) + 1);
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  const finalStatus = (await lab.status()) ?? run.lastStatus;
  const deadLettered = new Set<string>();
  const deadLetterCounts = new Map<string, number>();
  for (const m of finalStatus?.deadLetters ?? []) {
    try {
      for (const change of parseS3Notification(m.body)) {
        deadLettered.add(change.key);
        deadLetterCounts.set(change.key, Math.max(deadLetterCounts.get(change.key) ?? 0, m.receiveCount));
      }
    } catch {
      deadLettered.add(`(malformed message ${m.messageId})`);
    }
  }
  await lab.stop();
  await run.held.hog?.stop();
  s3.destroy();
  run.uploader.close();
  dynamodb.destroy();
  for (const p of run.held.proxies) await p.close();
  return { objects, items, report, listed, finalStatus, deadLettered, deadLetterCounts };
}

/** Counts the extractor's outcomes and sent-back failures in the lab's pipeline log; the last error of each dead-lettered key. */
async function readPipelineLog(dir: string, deadLettered: Set<string>) {
  const logText = await fs.readFile(path.join(dir, "logs", "pipeline.jsonl"), "utf8").catch(() => "");
  const outcomes: Record<string, number> = {};
  let retriedFailures = 0;
  const lastError = new Map<string, string>();
  for (const line of logText.split("\n")) {
    if (!line.includes('"message"')) continue;
    if (line.includes('"object processed"')) {
      const outcome = /"outcome":"([^"]+)"/.exec(line)?.[1] ?? "?";
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    } else if (line.includes("will retry")) {
      retriedFailures += 1;
      try {
        const entry = JSON.parse(line) as { key?: string; error?: unknown };
        if (entry.key && deadLettered.has(entry.key)) {
          lastError.set(entry.key, typeof entry.error === "string" ? entry.error : JSON.stringify(entry.error));
        }
      } catch {
        // a torn last line (the kill)
      }
    }
  }
  return { outcomes, retriedFailures, lastError };
}

/** Phase 5: what the run left behind, judged; never throws for a failed check. */
export async function verifySoak(run: SoakRun, timing: SoakTiming): Promise<SoakReport> {
  const { o, dir, media, owned, uploads, counts, started } = run;
  const { uploadSeconds, drainStarted, drainedAt, drained } = timing;
  const { objects, items, report, listed, finalStatus, deadLettered, deadLetterCounts } = await readFinalState(run);

  const itemsByKey = new Map(items.map((i) => [i.key, i]));
  const liveKeys = new Set(items.filter((i) => !i.deleted).map((i) => i.key));
  const objectEtags = new Map(objects.map((x) => [x.key, x.etag]));
  const wrongStatus: SoakReport["result"]["wrongStatus"] = [];
  const unprocessableWithoutReason: string[] = [];
  for (const [key, etag] of objectEtags) {
    const item = itemsByKey.get(key);
    if (!item || item.deleted || item.etag !== etag) continue;
    const expected = media.expectedByEtag.get(etag) ?? "unknown";
    if (item.status !== expected) wrongStatus.push({ key, expected, got: item.status ?? "none" });
    if (item.status === "unprocessable" && !item.reason) unprocessableWithoutReason.push(key);
  }
  const duplicated = [
    ...[...listed].filter(([, n]) => n > 1).map(([k]) => k),
    ...[...listed.keys()].filter((k) => !liveKeys.has(k)),
  ];
  const writerMismatch: string[] = [];
  for (const [key, want] of owned) {
    const got = objectEtags.get(key);
    if (want.deleted ? got !== undefined : got !== want.etag) writerMismatch.push(key);
  }

  const { outcomes, retriedFailures, lastError } = await readPipelineLog(dir, deadLettered);
  const wrongKeys = new Set([...report.missing, ...report.stale, ...report.orphaned].map((x) => x.key));
  const documentsWritten = (outcomes.ok ?? 0) + (outcomes.unprocessable ?? 0) + (outcomes.removed ?? 0);

  const result: SoakReport["result"] = {
    objects: report.objects,
    documents: report.documents,
    tombstones: report.tombstones,
    ok: report.ok,
    unprocessable: report.unprocessable,
    lost: report.missing.map((m) => m.key),
    stale: report.stale.map((m) => m.key),
    duplicated,
    orphaned: report.orphaned.map((m) => m.key),
    wrongStatus,
    unprocessableWithoutReason,
    deadLettered: [...deadLettered].sort(),
    deadLetterDetails: [...deadLettered].sort().map((key) => ({
      key,
      receiveCount: deadLetterCounts.get(key) ?? 0,
      ...(lastError.has(key) ? { lastError: lastError.get(key) } : {}),
      documentRight: !wrongKeys.has(key),
    })),
    writerMismatch,
  };
  const passed =
    drained &&
    result.lost.length === 0 &&
    result.stale.length === 0 &&
    result.duplicated.length === 0 &&
    result.orphaned.length === 0 &&
    result.wrongStatus.length === 0 &&
    result.unprocessableWithoutReason.length === 0 &&
    result.writerMismatch.length === 0;
  const totalSeconds = (Date.now() - started) / 1000;
  const pipelineSeconds = (drainedAt - run.uploadStarted) / 1000;
  return {
    passed,
    seed: o.seed,
    dir,
    writers: o.writers,
    cpuHog: { processes: o.cpuHog, cpuSeconds: round(run.held.hog?.cpuSeconds ?? 0) },
    uploads,
    timing: {
      uploadSeconds: round(uploadSeconds),
      drainSeconds: round((drainedAt - drainStarted) / 1000),
      totalSeconds: round(totalSeconds),
      uploadsPerSecond: round(uploads.puts / uploadSeconds),
      documentsPerSecond: round(documentsWritten / pipelineSeconds),
    },
    faults: { ...counts, kills: run.kills, killsMidBatch: run.killsMidBatch, injected: injectsFaults(o.faults) },
    pipeline: {
      outcomes,
      retriedFailures,
      drained,
      queueLeft: (finalStatus?.visible ?? 0) + (finalStatus?.inFlight ?? 0),
    },
    result,
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
