/**
 * Section "api": latency of the read API under concurrent load, through the lab's gateway
 * (JWT checked on every request, as API Gateway's authorizer would) against a table of
 * 10,000 documents.
 *
 * The lab runs in its own process (`lab/main.ts start --paused`), so the load generator
 * (autocannon, here) and the server do not share an event loop. The documents are built by
 * the extractor's buildDocument from realistic ffprobe output (video, audio, images, some
 * unprocessable) and written as MetadataStore writes them (document + table keys), with
 * BatchWriteItem. The token is the lab user's, from the lab's issuer.
 *
 * Measured: GET /files (first page of 25, newest first), GET /files?kind=audio (a filtered
 * page), GET /files/{key} (a random existing key each request, with its presigned raw link).
 *
 * The list requests are measured twice, each time against a 1-partition baseline lab in turns:
 * - at saturation: 16 connections in a closed loop (autocannon). Each connection sends its
 *   next request as soon as the previous one answers, so the lab's one process always has 16
 *   requests queued: a response time there is mostly the wait behind the 15 others, i.e. the
 *   CPU a page costs times 16. It measures throughput (requests/s), not the latency of a page.
 * - at a fixed rate (open model, pacedSegment): requests sent on a schedule of R per second
 *   whatever the answers, R a quarter of the lower of the two saturated throughputs, so both
 *   layouts carry it. A response time there is the latency a user of the page sees. Issue 13's
 *   acceptance ("list latency with the sharded index no worse than today's at p50") is checked
 *   on these. autocannon's own rate limit (overallRate) is not used: it lets each connection
 *   send its quota for the second at once at the start of each second, i.e. bursts of 16
 *   concurrent requests, which is saturation again for their duration.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs/promises";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { BatchWriteCommand, type BatchWriteCommandInput, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import autocannon from "autocannon";
import { buildDocument } from "../handlers/extractor/document";
import type { FfprobeOutput } from "../handlers/extractor/ffprobe";
import { labAccessToken } from "../lab/auth/sign-in";
import { makeLabDynamoClient } from "../lab/clients";
import { type LabEndpoints, labPaths } from "../lab/lab";
import { CONFIG_DEFAULTS } from "../lib/config-schema";
import { listingAttributes } from "../lib/list-index";
import { rawMetadataKey } from "../lib/naming";
import { REPO_ROOT } from "../lib/repo-root";
import { ENV } from "../lib/runtime-env";
import type { MetadataItem } from "../lib/schema";
import { sleep } from "../lib/sleep";
import { type BenchContext, type BenchSection, type Check, formatMs, percentile, table } from "./section";

export interface ApiLoadFigures {
  /** What was requested, e.g. "GET /files?limit=25". */
  request: string;
  /** Connections of a closed-loop run (autocannon); 0 in a fixed-rate run. */
  connections: number;
  /** Requests per second offered in a fixed-rate run (open model); absent in a closed loop. */
  offeredRps?: number;
  durationSec: number;
  requests: number;
  /** Requests per second (mean over the run). */
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

export interface ApiFigures {
  documents: number;
  /** Shards of the list index in the main runs. */
  listShards: number;
  /** Time to write them (BatchWriteItem, 25 per call). */
  seedMs: number;
  runs: ApiLoadFigures[];
  /**
   * The baseline, measured in the same run in turns with the sharded runs (loadInTurns): the
   * same documents in a second lab with ONE list partition (the layout before sharding: one
   * Query per page).
   */
  unsharded: ApiLoadFigures[];
  /**
   * The list requests at a fixed rate both layouts carry (open model, pacedInTurns), baseline
   * and sharded in turns: the latency a user sees, which issue 13's p50 acceptance is about.
   */
  paced: { unsharded: ApiLoadFigures[]; sharded: ApiLoadFigures[] };
}

/** The list requests compared between the unsharded baseline and the sharded index. */
const LIST_REQUESTS = ["/files?limit=25", "/files?kind=audio&limit=25"] as const;
/** Shards of the sharded runs: the stacks' default (config listShards, lib/config-schema.ts). */
const BENCH_SHARDS = CONFIG_DEFAULTS.listShards;
/** Segments of each side when the baseline and the sharded index are measured in turns. */
const TURNS = 2;
/** Noise allowance of the p50 comparison on a shared machine. */
const P50_TOLERANCE = 1.1;
/**
 * The fixed rate of the paced runs, as a share of the lower saturated throughput of the two
 * layouts (measured just before): each lab then works about a quarter of the time or less, so
 * a response time is a page's latency plus little queueing (at half, the first measurement
 * showed the queue adding more to the busier layout than its page cost).
 */
const PACED_SHARE_OF_SATURATION = 0.25;
/** A paced run counts only if its answers kept up: this share of the offered rate at least. */
const PACED_SUSTAINED_SHARE = 0.9;

export interface ApiSectionOptions {
  documents?: number;
  connections?: number;
  durationSec?: number;
  /** Shards of the sharded runs (default: the list index's default). */
  listShards?: number;
}

const TSX = path.join(REPO_ROOT, "node_modules", "tsx", "dist", "cli.mjs");

/** ffprobe output shaped like real files of each kind. */
function probeOutput(i: number): FfprobeOutput {
  const kind = i % 10;
  const tags = {
    major_brand: "isom",
    encoder: "Lavf61.7.100",
    title: `Take ${i}`,
    creation_time: "2026-01-01T00:00:00Z",
  };
  if (kind < 5) {
    return {
      format: {
        format_name: "mov,mp4,m4a,3gp,3g2,mj2",
        format_long_name: "QuickTime / MOV",
        duration: `${30 + (i % 600)}.04`,
        bit_rate: "8123456",
        probe_score: 100,
        tags,
      },
      streams: [
        {
          index: 0,
          codec_type: "video",
          codec_name: "h264",
          profile: "High",
          width: 1920,
          height: 1080,
          avg_frame_rate: "30000/1001",
          pix_fmt: "yuv420p",
          bit_rate: "7900000",
          tags: { language: "und" },
        },
        {
          index: 1,
          codec_type: "audio",
          codec_name: "aac",
          profile: "LC",
          sample_rate: "48000",
          channels: 2,
          channel_layout: "stereo",
          bit_rate: "192000",
          tags: { language: "eng" },
        },
      ],
    };
  }
  if (kind < 8) {
    return {
      format: {
        format_name: "mp3",
        duration: `${120 + (i % 200)}.5`,
        bit_rate: "320000",
        probe_score: 51,
        tags: { artist: "Lab", album: "Bench", title: `Track ${i}` },
      },
      streams: [
        {
          index: 0,
          codec_type: "audio",
          codec_name: "mp3",
          sample_rate: "44100",
          channels: 2,
          channel_layout: "stereo",
          bit_rate: "320000",
        },
      ],
    };
  }
  if (kind < 9) {
    return {
      format: { format_name: "image2", probe_score: 50 },
      streams: [
        {
          index: 0,
          codec_type: "video",
          codec_name: "mjpeg",
          width: 4032,
          height: 3024,
          pix_fmt: "yuvj420p",
          avg_frame_rate: "0/0",
        },
      ],
    };
  }
  return { format: { format_name: "tty" }, streams: [] }; // not media: unprocessable
}

function documentItem(i: number, shards: number): MetadataItem {
  const ext = ["mp4", "mp4", "mp4", "mp4", "mp4", "mp3", "mp3", "mp3", "jpg", "bin"][i % 10];
  const key = `bench/${String(Math.floor(i / 1000)).padStart(2, "0")}/clip-${String(i).padStart(5, "0")}.${ext}`;
  const sequencer = (0x10000 + i).toString(16).toUpperCase().padStart(16, "0");
  const at = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  const doc = buildDocument(
    {
      bucket: "media-ingest",
      key,
      size: 1_000_000 + i * 37,
      etag: (i * 2654435761).toString(16).padStart(32, "0").slice(-32),
      contentType:
        ext === "bin"
          ? "application/octet-stream"
          : `${ext === "mp3" ? "audio/mpeg" : ext === "jpg" ? "image/jpeg" : "video/mp4"}`,
      sequencer,
      eventTime: at,
      ffprobeVersion: "7.1",
      bytesRead: 65_536,
      probeMs: 40 + (i % 50),
      processedAt: at,
    },
    probeOutput(i),
  );
  const withRaw = { ...doc, raw: { bucket: "media-metadata", key: rawMetadataKey(key, sequencer), bytes: 2_048 } };
  // As MetadataStore.putDocument stores it.
  return { ...withRaw, objectKey: key, ...listingAttributes(key, shards) };
}

/** Writes `count` bench documents into a lab's table as MetadataStore writes them; their keys. */
export async function seedDocuments(
  endpoints: Pick<LabEndpoints, "dynamodbEndpoint" | "tableName">,
  count: number,
  shards: number,
): Promise<string[]> {
  const client = makeLabDynamoClient(endpoints.dynamodbEndpoint);
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const items = Array.from({ length: count }, (_, i) => documentItem(i, shards));
  const batches: MetadataItem[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      let request: BatchWriteCommandInput["RequestItems"] = {
        [endpoints.tableName]: batch.map((Item) => ({ PutRequest: { Item } })),
      };
      for (let attempt = 0; request && Object.keys(request).length > 0; attempt++) {
        if (attempt > 10) throw new Error("BatchWriteItem kept returning unprocessed items");
        const res = await doc.send(new BatchWriteCommand({ RequestItems: request }));
        request = res.UnprocessedItems as BatchWriteCommandInput["RequestItems"];
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: 8 }, worker));
  } finally {
    client.destroy();
  }
  return items.map((i) => i.key);
}

/** Starts `npm start` in a child process on a fresh folder; resolves once endpoints.json is written. */
async function startLabProcess(dir: string, shards: number): Promise<{ child: ChildProcess; endpoints: LabEndpoints }> {
  const child = spawn(
    process.execPath,
    [TSX, path.join(REPO_ROOT, "lab", "main.ts"), "start", "--dir", dir, "--paused"],
    {
      cwd: REPO_ROOT,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, [ENV.listShards]: String(shards) },
    },
  );
  const file = labPaths(dir).endpoints;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the lab exited with ${child.exitCode}`);
    try {
      return { child, endpoints: JSON.parse(await fs.readFile(file, "utf8")) as LabEndpoints };
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error("the lab did not start within 60 s");
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function stopLabProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(timer);
}

/** One autocannon run, with every response time (ms) it saw. */
function loadSegment(options: autocannon.Options): Promise<{ times: number[]; result: autocannon.Result }> {
  return new Promise((resolve, reject) => {
    const times: number[] = [];
    const instance = autocannon(options, (err, result) => (err ? reject(err) : resolve({ times, result })));
    instance.on("response", (_client, _status, _bytes, responseTime: number) => times.push(responseTime));
  });
}

/** Figures of the segments of one request, merged: every response time counts once. */
function figuresOf(
  label: string,
  options: autocannon.Options,
  segments: { times: number[]; result: autocannon.Result }[],
) {
  const times = segments.flatMap((s) => s.times).sort((a, b) => a - b);
  const seconds = segments.reduce((sum, s) => sum + s.result.duration, 0);
  const sum = (f: (r: autocannon.Result) => number) => segments.reduce((total, s) => total + f(s.result), 0);
  return {
    request: label,
    connections: options.connections ?? 10,
    durationSec: Math.round(seconds),
    requests: sum((r) => r.requests.total),
    rps: seconds > 0 ? Math.round(sum((r) => r.requests.total) / seconds) : 0,
    p50Ms: percentile(times, 50),
    p90Ms: percentile(times, 90),
    p99Ms: percentile(times, 99),
    maxMs: times.length > 0 ? times[times.length - 1] : 0,
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
  } satisfies ApiLoadFigures;
}

async function load(label: string, options: autocannon.Options, ctx: BenchContext): Promise<ApiLoadFigures> {
  ctx.log(`load: ${label}, ${options.connections} connections for ${options.duration} s...`);
  return figuresOf(label, options, [await loadSegment(options)]);
}

/**
 * Two loads measured in turns (A B B A A B B A ...: short segments, each side first as often
 * as second), so a change in what else runs on the machine weighs on both alike; a ratio of
 * two loads measured one after the other is only as good as the machine was steady.
 */
async function loadInTurns(
  a: { label: string; options: autocannon.Options },
  b: { label: string; options: autocannon.Options },
  segments: number,
  ctx: BenchContext,
): Promise<[ApiLoadFigures, ApiLoadFigures]> {
  const seconds = Number(a.options.duration);
  ctx.log(
    `load in turns: ${a.label} | ${b.label}, ${a.options.connections} connections, ${segments} x ${seconds / segments} s each...`,
  );
  const runs: { times: number[]; result: autocannon.Result }[][] = [[], []];
  for (let i = 0; i < segments * 2; i++) {
    const side = [0, 1, 1, 0][i % 4];
    const which = side === 0 ? a : b;
    runs[side].push(await loadSegment({ ...which.options, duration: seconds / segments }));
  }
  return [figuresOf(a.label, a.options, runs[0]), figuresOf(b.label, b.options, runs[1])];
}

/** One fixed-rate run: every response time (ms, from the request's scheduled start), and what was answered. */
export interface PacedSegment {
  times: number[];
  sent: number;
  non2xx: number;
  errors: number;
  /** From the first scheduled request to the last answer. */
  seconds: number;
}

/**
 * Open-model load: `rate` requests per second for `durationSec`, each sent at its scheduled
 * time (i / rate) whether or not earlier ones have answered, over keep-alive connections.
 * A response time counts from the scheduled time, so a late start (a busy load generator)
 * counts against the server rather than hiding its queue (no coordinated omission).
 */
export async function pacedSegment(options: {
  url: string;
  path: string;
  headers?: Record<string, string>;
  rate: number;
  durationSec: number;
}): Promise<PacedSegment> {
  const { rate } = options;
  if (!(rate > 0)) throw new Error(`the paced rate must be positive, got ${rate}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  const total = Math.max(1, Math.round(rate * options.durationSec));
  const target = new URL(options.path, options.url.endsWith("/") ? options.url : `${options.url}/`);
  const times: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let lastAnswer = 0;
  const one = (at: number) =>
    new Promise<void>((resolve) => {
      const req = http.get(target, { agent, headers: options.headers }, (res) => {
        res.resume();
        res.on("end", () => {
          lastAnswer = performance.now();
          times.push(lastAnswer - at);
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) non2xx++;
          resolve();
        });
        res.on("error", () => {
          errors++;
          resolve();
        });
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
    });
  const start = performance.now();
  const pending: Promise<void>[] = [];
  try {
    for (let i = 0; i < total; i++) {
      const at = start + (i * 1000) / rate;
      const wait = at - performance.now();
      if (wait > 0) await sleep(wait);
      pending.push(one(at));
    }
    await Promise.all(pending);
  } finally {
    agent.destroy();
  }
  return { times, sent: total, non2xx, errors, seconds: Math.max(lastAnswer - start, 1) / 1000 };
}

/** Figures of the fixed-rate segments of one request, merged. */
export function pacedFigures(label: string, rate: number, segments: PacedSegment[]): ApiLoadFigures {
  const times = segments.flatMap((s) => s.times).sort((a, b) => a - b);
  const seconds = segments.reduce((sum, s) => sum + s.seconds, 0);
  const answered = times.length;
  return {
    request: label,
    connections: 0,
    offeredRps: rate,
    durationSec: Math.round(seconds),
    requests: answered,
    rps: seconds > 0 ? Math.round((answered / seconds) * 10) / 10 : 0,
    p50Ms: percentile(times, 50),
    p90Ms: percentile(times, 90),
    p99Ms: percentile(times, 99),
    maxMs: answered > 0 ? times[answered - 1] : 0,
    non2xx: segments.reduce((sum, s) => sum + s.non2xx, 0),
    errors: segments.reduce((sum, s) => sum + s.errors, 0),
    timeouts: 0,
  };
}

/** The fixed rate both layouts carry: a share of the lower of their saturated throughputs (at least 1/s). */
export function pacedRate(saturatedRps: number[]): number {
  const lower = Math.min(...saturatedRps);
  return Math.max(1, Math.round(lower * PACED_SHARE_OF_SATURATION * 10) / 10);
}

/** Two fixed-rate loads measured in turns (A B B A ...), like loadInTurns. */
async function pacedInTurns(
  a: { label: string; url: string; headers: Record<string, string> },
  b: { label: string; url: string; headers: Record<string, string> },
  path: string,
  rate: number,
  seconds: number,
  segments: number,
  ctx: BenchContext,
): Promise<[ApiLoadFigures, ApiLoadFigures]> {
  ctx.log(
    `fixed rate in turns: ${a.label} | ${b.label}, ${rate} requests/s, ${segments} x ${seconds / segments} s each...`,
  );
  const runs: PacedSegment[][] = [[], []];
  for (let i = 0; i < segments * 2; i++) {
    const side = [0, 1, 1, 0][i % 4];
    const which = side === 0 ? a : b;
    runs[side].push(
      await pacedSegment({ url: which.url, path, headers: which.headers, rate, durationSec: seconds / segments }),
    );
  }
  return [pacedFigures(a.label, rate, runs[0]), pacedFigures(b.label, rate, runs[1])];
}

/** Whether a fixed-rate run kept up with its offered rate (else its latencies are a queue's). */
export function sustained(r: ApiLoadFigures): boolean {
  return r.offeredRps === undefined || r.rps >= r.offeredRps * PACED_SUSTAINED_SHARE;
}

export function apiSection(options: ApiSectionOptions = {}): BenchSection<ApiFigures> {
  const documents = options.documents ?? 10_000;
  const connections = options.connections ?? 16;
  const duration = options.durationSec ?? 10;
  const shards = options.listShards ?? BENCH_SHARDS;
  return {
    name: "api",
    async run(ctx) {
      /** A lab of `shards` list partitions with the documents, ready to measure. */
      async function openLab(shards: number) {
        const dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-bench-api-"));
        ctx.log(`starting a lab in its own process (${shards} list shard${shards === 1 ? "" : "s"})...`);
        const { child, endpoints } = await startLabProcess(dir, shards);
        const close = async () => {
          await stopLabProcess(child);
          await fs.rm(dir, { recursive: true, force: true });
        };
        try {
          ctx.log(`writing ${documents.toLocaleString("en-US")} documents (BatchWriteItem)...`);
          const started = performance.now();
          const keys = await seedDocuments(endpoints, documents, shards);
          const seedMs = Math.round(performance.now() - started);
          const token = await labAccessToken(endpoints);
          const headers = { authorization: `Bearer ${token}` };
          const common = { url: endpoints.apiUrl, connections, duration, headers };
          // The lab's stats aggregator counts the seeded documents in the background: let it
          // finish first, so it does not share the CPU with the measured requests (and check it).
          ctx.log("waiting for GET /stats to count them...");
          for (const deadline = Date.now() + 600_000; ; ) {
            const res = await fetch(`${endpoints.apiUrl}/stats`, { headers });
            const files = res.ok ? ((await res.json()) as { files: number }).files : -1;
            if (files === documents) break;
            if (Date.now() > deadline) throw new Error(`GET /stats counted ${files} of ${documents} documents`);
            await new Promise((r) => setTimeout(r, 1000));
          }
          // Warm up (JWKS fetch, connection pools, JIT).
          await autocannon({ ...common, duration: 1, requests: [{ method: "GET", path: "/files?limit=25" }] });
          return { common, keys, seedMs, close };
        } catch (err) {
          await close();
          throw err;
        }
      }

      // Both labs run at once (the idle one costs nothing) and are measured in turns.
      const baseline = await openLab(1);
      try {
        const sharded = await openLab(shards);
        try {
          const unshardedRuns: ApiLoadFigures[] = [];
          const runs: ApiLoadFigures[] = [];
          const paced: ApiFigures["paced"] = { unsharded: [], sharded: [] };
          for (const p of LIST_REQUESTS) {
            const [base, now] = await loadInTurns(
              {
                label: `GET ${p} (1 partition)`,
                options: { ...baseline.common, requests: [{ method: "GET", path: p }] },
              },
              { label: `GET ${p}`, options: { ...sharded.common, requests: [{ method: "GET", path: p }] } },
              TURNS,
              ctx,
            );
            unshardedRuns.push(base);
            runs.push(now);
            // The latency a user sees: the same request at a fixed rate both layouts carry.
            const [pacedBase, pacedNow] = await pacedInTurns(
              { label: `GET ${p} (1 partition)`, url: baseline.common.url, headers: baseline.common.headers },
              { label: `GET ${p}`, url: sharded.common.url, headers: sharded.common.headers },
              p,
              pacedRate([base.rps, now.rps]),
              duration * 2,
              TURNS,
              ctx,
            );
            paced.unsharded.push(pacedBase);
            paced.sharded.push(pacedNow);
          }
          const keys = sharded.keys;
          runs.push(
            await load(
              "GET /files/{key} (random key)",
              {
                ...sharded.common,
                requests: [
                  {
                    method: "GET",
                    setupRequest: (req) => {
                      const key = keys[Math.floor(Math.random() * keys.length)];
                      return { ...req, path: `/files/${key.split("/").map(encodeURIComponent).join("/")}` };
                    },
                  },
                ],
              },
              ctx,
            ),
          );
          return { documents, listShards: shards, seedMs: sharded.seedMs, runs, unsharded: unshardedRuns, paced };
        } finally {
          await sharded.close();
        }
      } finally {
        await baseline.close();
      }
    },
    render(result) {
      const row = (r: ApiLoadFigures) => [
        r.request,
        r.offeredRps === undefined ? `${r.connections} conns` : `${r.offeredRps} req/s`,
        r.rps.toLocaleString("en-US"),
        formatMs(r.p50Ms),
        formatMs(r.p90Ms),
        formatMs(r.p99Ms),
        formatMs(r.maxMs),
        String(r.non2xx),
        String(r.errors + r.timeouts),
      ];
      const header = ["request", "load", "req/s", "p50", "p90", "p99", "max", "non-2xx", "errors"];
      return [
        `API (lab gateway with JWT checks -> read API -> dynalite), ${result.documents.toLocaleString("en-US")} documents (written in ${formatMs(result.seedMs)}), list index in ${result.listShards} shards; baseline: the same documents in 1 partition, in a second lab measured in turns with it`,
        "",
        `List latency at a fixed rate both layouts carry (open model: requests on a schedule, ${PACED_SHARE_OF_SATURATION * 100}% of the lower saturated throughput below). This is the latency a user sees, and what issue 13's acceptance compares at p50:`,
        table([header, ...[...result.paced.unsharded, ...result.paced.sharded].map(row)]),
        "",
        `At saturation (${result.runs[0]?.connections ?? 16} connections in a closed loop: each response time is mostly the wait behind the other requests queued on the lab's one process, so these measure throughput, i.e. CPU per page; in the lab the ${result.listShards} shard queries of a page run one after the other on that process, in DynamoDB in parallel):`,
        table([header, ...[...result.unsharded, ...result.runs].map(row)]),
      ].join("\n");
    },
    checks(result): Check[] {
      const all = [...result.unsharded, ...result.runs, ...result.paced.unsharded, ...result.paced.sharded];
      const ok = all.map((r) => ({
        name: `api: ${r.request}${r.offeredRps === undefined ? "" : ` at ${r.offeredRps} req/s`} answers 2xx under load`,
        pass: r.requests > 0 && r.non2xx === 0 && r.errors === 0 && r.timeouts === 0,
        detail: `${r.requests.toLocaleString("en-US")} requests, ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`,
      }));
      const kept = [...result.paced.unsharded, ...result.paced.sharded].map((r) => ({
        name: `api: ${r.request} kept up with ${r.offeredRps} req/s (else its latencies are a queue's)`,
        pass: sustained(r),
        detail: `answered ${r.rps} req/s of ${r.offeredRps} offered (at least ${PACED_SUSTAINED_SHARE * 100}%)`,
      }));
      const p50 = LIST_REQUESTS.map((p, i) => {
        const base = result.paced.unsharded[i];
        const now = result.paced.sharded[i];
        const ratio = base.p50Ms > 0 ? now.p50Ms / base.p50Ms : 1;
        const saturated = result.runs[i].p50Ms / Math.max(result.unsharded[i].p50Ms, 1);
        return {
          name: `api: GET ${p} p50 at a fixed rate with ${result.listShards} shards no worse than with 1 partition`,
          pass: ratio <= P50_TOLERANCE && sustained(base) && sustained(now),
          detail: `p50 ${formatMs(now.p50Ms)} vs ${formatMs(base.p50Ms)} at ${now.offeredRps} req/s (ratio ${ratio.toFixed(2)}, allowed ${P50_TOLERANCE} for noise); at saturation ${formatMs(result.runs[i].p50Ms)} vs ${formatMs(result.unsharded[i].p50Ms)} (ratio ${saturated.toFixed(2)}, throughput ${result.runs[i].rps} vs ${result.unsharded[i].rps} req/s)`,
        };
      });
      return [...ok, ...kept, ...p50];
    },
  };
}
