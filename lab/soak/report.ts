/**
 * The soak's verdict as text (npm run soak prints it; the CI soak test shows it on failure).
 */
import type { SoakReport } from "./options";

function list(keys: string[], limit = 10): string {
  if (keys.length === 0) return "";
  return `: ${keys.slice(0, limit).join(", ")}${keys.length > limit ? ` ... (+${keys.length - limit})` : ""}`;
}

export function formatSoakReport(r: SoakReport): string {
  const u = r.uploads;
  const f = r.faults;
  const res = r.result;
  const mib = (u.bytes / 1048576).toFixed(1);
  return [
    `soak ${r.passed ? "PASSED" : "FAILED"} (seed ${r.seed}, ${r.writers} writers${r.cpuHog.processes ? `, ${r.cpuHog.processes} CPU hogs (${r.cpuHog.cpuSeconds} CPU s)` : ""}${r.dir ? `, lab ${r.dir}` : ""})`,
    `uploads    ${u.puts} PUTs (${mib} MiB): ${u.newKeys} new keys, ${u.overwrites} overwrites, ${u.duplicates} duplicates, ${u.recreated} re-created; ` +
      `${u.deletes} deletes; hot keys ${u.hotPuts} PUTs / ${u.hotDeletes} deletes; ${u.corrupt} corrupt; ${u.writerRetries} writer retries`,
    `kinds      ${Object.entries(u.kinds)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}`,
    `timing     uploads ${r.timing.uploadSeconds} s (${r.timing.uploadsPerSecond}/s), drain ${r.timing.drainSeconds} s, total ${r.timing.totalSeconds} s; ` +
      `${r.timing.documentsPerSecond} documents/s written end to end`,
    `faults     lab kills ${f.kills} (${f.killsMidBatch} mid-batch); ` +
      (f.injected
        ? `DynamoDB ${f.dynamoRequests} requests: ${f.dynamoThrottles} throttled, ${f.dynamo5xxBefore + f.dynamo5xxAfter} 500s ` +
          `(${f.dynamo5xxAfter} after the write applied); S3 ${f.s3RangedGets} ranged GETs: ${f.s3Errors} 5xx, ${f.s3Stalls} stalls, ${f.s3LongStalls} long stalls, ${f.s3Resets} cut; ` +
          `bursts ${f.dynamoBursts} DynamoDB / ${f.s3Bursts} S3; ${f.upstreamDown} requests hit a down lab`
        : "none injected (no fault proxies: the extractor talks to the stand-ins directly)"),
    `pipeline   outcomes ${Object.entries(r.pipeline.outcomes)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}; ${r.pipeline.retriedFailures} failures sent back to the queue; ` +
      `${r.pipeline.drained ? "queue drained" : `queue NOT drained (${r.pipeline.queueLeft} left)`}`,
    `table      ${res.objects} objects, ${res.documents} documents (${res.ok} ok, ${res.unprocessable} unprocessable), ${res.tombstones} tombstones`,
    `lost ${res.lost.length}${list(res.lost)}`,
    `duplicated ${res.duplicated.length}${list(res.duplicated)}`,
    `stale ${res.stale.length}${list(res.stale)}`,
    `orphaned ${res.orphaned.length}${list(res.orphaned)}`,
    `wrong status ${res.wrongStatus.length}${list(res.wrongStatus.map((w) => `${w.key} (${w.got}, expected ${w.expected})`))}`,
    `unprocessable without reason ${res.unprocessableWithoutReason.length}${list(res.unprocessableWithoutReason)}`,
    `dead-lettered ${res.deadLettered.length}${res.deadLettered.length ? ` (${res.deadLetterDetails.filter((d) => !d.documentRight).length} of them left their document missing or stale)` : ""}`,
    ...res.deadLetterDetails.map(
      (d) =>
        `  ${d.key}: ${d.receiveCount} deliveries; document ${d.documentRight ? "right anyway (a later event)" : "MISSING or STALE"}${d.lastError ? `; last error ${d.lastError.slice(0, 200)}` : ""}`,
    ),
    `writer/bucket mismatches ${res.writerMismatch.length}${list(res.writerMismatch)}`,
    "",
  ].join("\n");
}
