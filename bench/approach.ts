/**
 * One probe of one S3 object by one approach, in a fresh process so its peak memory is its
 * own (bench/probe.ts starts it):
 *
 *   node --import tsx bench/approach.ts inplace|download '<json ApproachInput>'
 *
 * - inplace:  the extractor's probeInPlace (handlers/extractor/probe-in-place.ts): ffprobe
 *             reads the object through the loopback range proxy.
 * - download: what the peers do: GetObject streamed to a temp file, then runFfprobe on it.
 *
 * Prints one JSON line (ApproachResult) on stdout.
 */
import { createWriteStream } from "node:fs";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { type FfprobeOutput, runFfprobe } from "../handlers/extractor/ffprobe";
import { probeInPlace } from "../handlers/extractor/probe-in-place";
import { makeLabS3Client } from "../lab/clients";
import { samplePeakRss } from "./rss";

export type Approach = "inplace" | "download";

export interface ApproachInput {
  endpoint: string;
  bucket: string;
  key: string;
  size: number;
  etag?: string;
  /** The pinned ffprobe, already resolved and verified by the parent. */
  ffprobePath: string;
  timeoutMs: number;
}

export interface ApproachResult {
  approach: Approach;
  /** Wall time of the approach (proxy + probe, or download + probe); process start-up excluded. */
  ms: number;
  /** Part of `ms` spent downloading (download approach). */
  downloadMs?: number;
  /** ffprobe's own run time. */
  probeMs: number;
  /** Bytes received from S3. */
  bytesRead: number;
  /** S3 GetObject requests. */
  requests: number;
  /** Ranges ffprobe asked the proxy for: first byte and bytes served (in place only). */
  ranges?: { start: number; served: number }[];
  /** process.resourceUsage().maxRSS of this process, bytes. */
  nodeMaxRssBytes: number;
  /** The same just before the approach started (node + tsx + SDK loaded). */
  nodeBaselineRssBytes: number;
  /** ffprobe's VmHWM, sampled every ~10 ms from /proc. */
  ffprobePeakRssBytes: number;
  ffprobeRssSamples: number;
  exitCode: number | null;
  /** Summary of what ffprobe found, to check both approaches saw the same file. */
  formatName?: string;
  durationS?: number;
  streams: string[];
}

function summary(output: FfprobeOutput | undefined) {
  return {
    formatName: output?.format?.format_name,
    durationS: output?.format?.duration === undefined ? undefined : Number(output.format.duration),
    streams: (output?.streams ?? []).map((s) => `${s.codec_type}:${s.codec_name}`),
  };
}

const maxRssBytes = () => process.resourceUsage().maxRSS * 1024;

async function inPlace(
  input: ApproachInput,
): Promise<Omit<ApproachResult, "nodeMaxRssBytes" | "nodeBaselineRssBytes">> {
  const s3 = makeLabS3Client(input.endpoint);
  const started = performance.now();
  const sampler = samplePeakRss();
  const run = await probeInPlace({
    s3,
    bucket: input.bucket,
    key: input.key,
    size: input.size,
    etag: input.etag,
    ffprobePath: input.ffprobePath,
    timeoutMs: input.timeoutMs,
  });
  const ms = performance.now() - started;
  const rss = sampler.stop();
  s3.destroy();
  return {
    approach: "inplace",
    ms,
    probeMs: run.probeMs,
    bytesRead: run.bytesRead,
    requests: run.requests,
    ranges: run.proxy?.ranges,
    ffprobePeakRssBytes: rss.peakBytes,
    ffprobeRssSamples: rss.samples,
    exitCode: run.exitCode,
    ...summary(run.output),
  };
}

async function download(
  input: ApproachInput,
): Promise<Omit<ApproachResult, "nodeMaxRssBytes" | "nodeBaselineRssBytes">> {
  const s3 = makeLabS3Client(input.endpoint);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "bench-download-"));
  const file = path.join(dir, path.basename(input.key));
  try {
    const started = performance.now();
    const res = await s3.send(
      new GetObjectCommand({
        Bucket: input.bucket,
        Key: input.key,
        IfMatch: input.etag ? `"${input.etag}"` : undefined,
      }),
    );
    let bytesRead = 0;
    const body = res.Body as Readable;
    body.on("data", (chunk: Buffer) => {
      bytesRead += chunk.length;
    });
    await pipeline(body, createWriteStream(file));
    const downloadMs = performance.now() - started;
    const sampler = samplePeakRss();
    const run = await runFfprobe({ ffprobePath: input.ffprobePath, input: file, timeoutMs: input.timeoutMs });
    const ms = performance.now() - started;
    const rss = sampler.stop();
    return {
      approach: "download",
      ms,
      downloadMs,
      probeMs: run.ms,
      bytesRead,
      requests: 1,
      ffprobePeakRssBytes: rss.peakBytes,
      ffprobeRssSamples: rss.samples,
      exitCode: run.exitCode,
      ...summary(run.output),
    };
  } finally {
    s3.destroy();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<void> {
  const [approach, json] = argv;
  if ((approach !== "inplace" && approach !== "download") || !json) {
    throw new Error("usage: node --import tsx bench/approach.ts inplace|download '<json input>'");
  }
  const input = JSON.parse(json) as ApproachInput;
  const nodeBaselineRssBytes = maxRssBytes();
  const result = approach === "inplace" ? await inPlace(input) : await download(input);
  const out: ApproachResult = { ...result, nodeMaxRssBytes: maxRssBytes(), nodeBaselineRssBytes };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err) => {
      console.error(`bench/approach: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}
