/**
 * npm run probe -- <file>...
 *
 * Prints, for each local file, the document the pipeline would store for it: the file
 * is served to the pinned ffprobe through the same loopback range proxy the Lambda uses
 * for S3 objects, and the same document builder runs on the result.
 * Exits 1 when a file cannot be read (missing, not a file) and 2 on usage errors.
 */
import { stat } from "node:fs/promises";
import * as path from "node:path";
import { buildDocument, type DocumentContext, unprocessableDocument } from "../handlers/extractor/document";
import { failureReason } from "../handlers/extractor/failure-reason";
import { resolveLocalFfprobe } from "../handlers/extractor/ffprobe";
import { fileSource } from "../handlers/extractor/file-source";
import { probeSource } from "../handlers/extractor/probe-in-place";
import { PINNED_FFPROBE_VERSION } from "../handlers/extractor/process-change";
import { DEFAULT_PROBE_TIMEOUT_MS } from "../lib/runtime-env";
import type { MetadataDocument } from "../lib/schema";

export async function probeFile(
  file: string,
  ffprobePath: string,
  timeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
): Promise<MetadataDocument> {
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${file}: cannot read (${err.code ?? err.message})`);
  });
  if (!info.isFile()) throw new Error(`${file}: not a regular file`);
  const ctx: DocumentContext = {
    bucket: "(local)",
    key: path.resolve(file),
    size: info.size,
    sequencer: "0",
    eventTime: info.mtime.toISOString(),
    ffprobeVersion: PINNED_FFPROBE_VERSION,
    bytesRead: 0,
    probeMs: 0,
    processedAt: new Date().toISOString(),
  };
  if (info.size === 0) return unprocessableDocument(ctx, "the object is empty (0 bytes)");
  const run = await probeSource(await fileSource(file), { ffprobePath, timeoutMs });
  const runCtx = { ...ctx, bytesRead: run.bytesRead, probeMs: run.probeMs };
  return run.exitCode === 0 && run.output && !run.timedOut
    ? buildDocument(runCtx, run.output)
    : unprocessableDocument(runCtx, failureReason(run, timeoutMs));
}

async function main(argv: string[]): Promise<number> {
  const files = argv.filter((a) => !a.startsWith("-"));
  if (files.length === 0 || argv.includes("--help")) {
    console.error("usage: npm run probe -- <file>...   (prints the metadata document for each file as JSON)");
    return 2;
  }
  const ffprobePath = await resolveLocalFfprobe();
  let failed = 0;
  for (const file of files) {
    try {
      console.log(JSON.stringify(await probeFile(file, ffprobePath), null, 2));
    } catch (err) {
      failed += 1;
      console.error(`probe: ${(err as Error).message}`);
    }
  }
  return failed > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`probe: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
