/**
 * Section "coldstart": what a cold start of each function bundle costs (extractor, API,
 * kill switch, backfill), each beside a REFERENCE bundle that holds only the AWS SDK clients
 * that function uses, built with the same esbuild options and measured in the same run, in
 * alternation, so the ratios hold on a loaded machine.
 *
 * Every figure is the median over fresh node processes (bench/cold-start-child.ts, plain
 * JavaScript, no tsx): require() of the bundle; time until the handler is ready (require
 * plus the module's ready(): the extractor's and backfill's ffprobe identity check and
 * clients); the first invocation on a small input against the embedded stand-ins:
 * - extractor: an SQS batch of one S3 event for a 47 KB MP4 in s3rver (probe in place, raw
 *   JSON to S3, conditional put into the lab table in dynalite);
 * - API: GET /files (first page, newest first) against that table;
 * - kill switch: a budget alert below the threshold (parsed, decided, logged; no AWS call);
 * - backfill: a Step Functions batch of one new object (select, probe, compare-and-swap).
 * The references hold the same SDK clients and commands; their first invocation sends one request with each client (S3 HeadObject,
 * DynamoDB GetItem), the kill switch's none, matching the function's path.
 * Plus: the ffprobe identity check alone, and the whole-file SHA-256 it replaced.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import * as esbuild from "esbuild";
import { type BundleName, buildBundle, lambdaBuildOptions } from "../build/bundles";
import { resolveLocalFfprobe } from "../handlers/extractor/ffprobe";
import { makeLabDynamoClient } from "../lab/clients";
import { ensureMetadataTable, startLabDynamo } from "../lab/dynamodb";
import { API_SCOPES } from "../lib/auth";
import { FFPROBE_PIN } from "../lib/ffprobe-pin";
import { REPO_ROOT } from "../lib/repo-root";
import { ENV, METRICS_NAMESPACE } from "../lib/runtime-env";
import { budgetText, snsEvent } from "../media/budget-events";
import { ensureMedia } from "../media/media";
import { nextSequencer, s3EventBody, sqsEvent, sqsRecord } from "../media/s3-events";
import { BENCH_BUCKET, ensureObject, startBenchS3 } from "./s3";
import {
  BENCH_CACHE,
  type BenchContext,
  type BenchSection,
  type Check,
  formatBytes,
  formatMs,
  median,
  runNodeJson,
  table,
} from "./section";

/** Acceptance: ready within these multiples of the SDK-only reference; the identity check under 20 ms. */
export const MAX_READY_RATIO: Partial<Record<BundleName, number>> = { extractor: 1.5, api: 1.3 };
export const MAX_IDENTITY_CHECK_MS = 20;

/** The functions the issue measures (the stats aggregator, added later, has no reference yet). */
export const FUNCTIONS = ["extractor", "api", "kill-switch", "backfill"] as const satisfies readonly BundleName[];
type MeasuredFunction = (typeof FUNCTIONS)[number];

/**
 * The reference bundles: the AWS SDK clients each function uses AND the commands it sends
 * (so the SDK's own code is the same on both sides; the bench checks the function's bundle
 * holds no other @aws-sdk package), clients built in ready(), one request per client in
 * handler(). Everything else in a function's bundle (our code, Powertools, zod) is what the
 * ratio measures.
 */
const DATA_CLIENTS = `
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
let clients;
export async function ready() {
  clients ??= { s3: new S3Client({}), ddb: DynamoDBDocumentClient.from(new DynamoDBClient({})) };
  return clients;
}
async function request(e) {
  const c = await ready();
  await c.s3.send(new HeadObjectCommand({ Bucket: e.bucket, Key: e.key }));
  await c.ddb.send(new GetCommand({ TableName: e.table, Key: { objectKey: e.key } }));
  return { ok: true };
}
`;
/** Keeps the named imports in the bundle (tree-shaking would drop what is never used). */
const keep = (names: string[]) => `export const sdkUsed = [${names.join(", ")}];\n`;
export const REFERENCES: Record<MeasuredFunction, { packages: string[]; source: string }> = {
  extractor: {
    packages: ["@aws-sdk/client-dynamodb", "@aws-sdk/client-s3", "@aws-sdk/lib-dynamodb"],
    source: `${DATA_CLIENTS}${keep(["ConditionalCheckFailedException", "GetObjectCommand", "PutObjectCommand", "BatchGetCommand", "PutCommand"])}export const handler = request;\n`,
  },
  backfill: {
    packages: ["@aws-sdk/client-dynamodb", "@aws-sdk/client-s3", "@aws-sdk/lib-dynamodb"],
    source: `${DATA_CLIENTS}${keep(["ConditionalCheckFailedException", "GetObjectCommand", "PutObjectCommand", "BatchGetCommand", "PutCommand"])}export const handler = request;\n`,
  },
  api: {
    // The API also holds a Lambda client (GET /health reads the extractor's mapping state) and an
    // SSM client (the cursor secret, read once per container); GET /files sends neither request.
    packages: [
      "@aws-sdk/client-dynamodb",
      "@aws-sdk/client-lambda",
      "@aws-sdk/client-s3",
      "@aws-sdk/client-ssm",
      "@aws-sdk/lib-dynamodb",
      "@aws-sdk/s3-request-presigner",
    ],
    source: `${DATA_CLIENTS}${keep(["PutObjectCommand", "QueryCommand", "GetEventSourceMappingCommand", "GetParameterCommand", "SSMClient"])}
import { GetEventSourceMappingCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
let lambda;
export async function handler(e) {
  await request(e);
  const c = await ready();
  lambda ??= new LambdaClient({});
  return { url: await getSignedUrl(c.s3, new GetObjectCommand({ Bucket: e.bucket, Key: e.key }), { expiresIn: 60 }) };
}
`,
  },
  "kill-switch": {
    // The budget re-check (handlers/kill-switch/budget-check.ts) reads the budget with DescribeBudget.
    packages: ["@aws-sdk/client-budgets", "@aws-sdk/client-lambda"],
    source: `
import { BudgetsClient, DescribeBudgetCommand } from "@aws-sdk/client-budgets";
import {
  DeleteFunctionConcurrencyCommand, GetEventSourceMappingCommand, GetFunctionCommand, LambdaClient,
  PutFunctionConcurrencyCommand, TagResourceCommand, UntagResourceCommand, UpdateEventSourceMappingCommand,
} from "@aws-sdk/client-lambda";
${keep(["BudgetsClient", "DescribeBudgetCommand", "DeleteFunctionConcurrencyCommand", "GetEventSourceMappingCommand", "GetFunctionCommand", "PutFunctionConcurrencyCommand", "TagResourceCommand", "UntagResourceCommand", "UpdateEventSourceMappingCommand"])}
let lambda;
export async function ready() { lambda ??= new LambdaClient({}); return lambda; }
export async function handler() { await ready(); return { ok: true }; }
`,
  },
};

interface Timing {
  requireMs: number;
  readyMs: number;
  firstInvokeMs: number;
}

interface ChildRun extends Timing {
  /** Bytes the function wrote to stdout (logs, EMF) during the run. */
  logBytes: number;
  result: unknown;
}

export interface ColdStartRow {
  name: BundleName;
  bytes: number;
  referenceBytes: number;
  /** The @aws-sdk packages found in the function's bundle (the reference holds the same). */
  sdkPackages: string[];
  requireMs: number;
  readyMs: number;
  firstInvokeMs: number;
  reference: Timing;
  ratios: Timing;
  /** Median bytes of logs and EMF metrics written on the first invocation (one object for the extractor). */
  logBytes: number;
  runs: Timing[];
  referenceRuns: Timing[];
}

export interface ColdStartFigures {
  runs: number;
  functions: ColdStartRow[];
  /** The extractor's ffprobe identity check alone, in a fresh process (median), and the whole-file SHA-256 it replaced. */
  identityCheckMs: number;
  identityCheckRunsMs: number[];
  fullHashMs: number;
  fullHashRunsMs: number[];
  note: string;
}

const NOTE =
  "ms inside a fresh node process (start-up of node itself excluded); ready = require() + the module's ready(); " +
  "references: the same esbuild options, only the SDK clients the function uses, one request per client on first invocation";

/** @aws-sdk packages in a bundle, from its metafile inputs. */
export function sdkPackagesOf(metafile: esbuild.Metafile): string[] {
  const found = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /node_modules\/(@aws-sdk\/(?:client-[^/]+|lib-[^/]+|s3-request-presigner))\//.exec(input);
    if (m) found.add(m[1]);
  }
  return [...found].sort();
}

async function buildEntry(source: string, outfile: string): Promise<number> {
  const out = await esbuild.build({
    ...lambdaBuildOptions(),
    sourcemap: false,
    write: true,
    stdin: { contents: source, resolveDir: REPO_ROOT, loader: "ts", sourcefile: path.basename(outfile) },
    outfile,
  });
  return Object.values(out.metafile?.outputs ?? {})[0]?.bytes ?? 0;
}

const round = (t: Timing): Timing => ({
  requireMs: Math.round(t.requireMs * 10) / 10,
  readyMs: Math.round(t.readyMs * 10) / 10,
  firstInvokeMs: Math.round(t.firstInvokeMs * 10) / 10,
});

function medians(runs: Timing[]): Timing {
  return {
    requireMs: median(runs.map((r) => r.requireMs)),
    readyMs: median(runs.map((r) => r.readyMs)),
    firstInvokeMs: median(runs.map((r) => r.firstInvokeMs)),
  };
}

export function coldStartSection(options: { runs?: number } = {}): BenchSection<ColdStartFigures> {
  const runs = Math.max(options.runs ?? 7, 1);
  return {
    name: "coldstart",
    async run(ctx: BenchContext): Promise<ColdStartFigures> {
      const dir = path.join(BENCH_CACHE, "cold-start");
      await fs.rm(dir, { recursive: true, force: true });
      ctx.log("building the four function bundles, their SDK-only references and the timing child...");
      const child = path.join(dir, "cold-start-child.js");
      await esbuild.build({
        entryPoints: [path.join(REPO_ROOT, "bench", "cold-start-child.ts")],
        outfile: child,
        bundle: true,
        platform: "node",
        target: "node22",
        format: "cjs",
        logLevel: "silent",
      });
      const bundles = new Map<BundleName, { file: string; bytes: number; sdk: string[] }>();
      const references = new Map<BundleName, { file: string; bytes: number }>();
      for (const name of FUNCTIONS) {
        const built = await buildBundle(name, path.join(dir, "dist"));
        const sdk = sdkPackagesOf(built.metafile);
        const extra = sdk.filter((p) => !REFERENCES[name].packages.includes(p));
        if (extra.length) throw new Error(`the ${name} bundle uses ${extra.join(", ")}; add it to its reference`);
        bundles.set(name, { file: built.outfile, bytes: built.bytes, sdk });
        const file = path.join(dir, "reference", name, "index.js");
        references.set(name, { file, bytes: await buildEntry(REFERENCES[name].source, file) });
      }
      const identityBundle = path.join(dir, "identity", "index.js");
      await buildEntry(
        `import { checkFfprobeIdentity } from "./handlers/extractor/ffprobe-identity";
         export async function handler(e) { const t = performance.now(); await checkFfprobeIdentity(e.path, e.sha256); return { ms: performance.now() - t }; }`,
        identityBundle,
      );
      const fullHashBundle = path.join(dir, "full-hash", "index.js");
      await buildEntry(
        `import { sha256File } from "./handlers/extractor/ffprobe";
         export async function handler(e) { const t = performance.now(); if ((await sha256File(e.path)) !== e.sha256) throw new Error("digest"); return { ms: performance.now() - t }; }`,
        fullHashBundle,
      );

      const [ffprobePath, smallMp4] = await Promise.all([resolveLocalFfprobe(), ensureMedia("mp4-moov-end")]);
      const s3 = await startBenchS3();
      const dynamo = await startLabDynamo({ host: "127.0.0.1", port: 0 });
      const ddb = makeLabDynamoClient(dynamo.endpoint);
      const table = "bench-cold-metadata";
      const metadataBucket = "bench-cold-metadata";
      try {
        await ensureMetadataTable(ddb, table);
        await s3.s3.send(new CreateBucketCommand({ Bucket: metadataBucket })).catch(() => undefined);
        const objects: Record<"extractor" | "backfill", { key: string; size: number; etag: string }[]> = {
          extractor: [],
          backfill: [],
        };
        for (const fn of ["extractor", "backfill"] as const) {
          for (let i = 0; i < runs; i++) {
            const key = `cold-start/${fn}-${i}.mp4`;
            objects[fn].push(await ensureObject(ctx, s3.s3, key, smallMp4));
          }
        }
        const env: NodeJS.ProcessEnv = {
          PATH: process.env.PATH,
          AWS_REGION: "us-east-1",
          AWS_ACCESS_KEY_ID: "S3RVER",
          AWS_SECRET_ACCESS_KEY: "S3RVER",
          AWS_ENDPOINT_URL_S3: s3.endpoint,
          AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
          AWS_ENDPOINT_URL_LAMBDA: "http://127.0.0.1:9",
          // s3rver stores aws-chunked bodies verbatim (lab/clients.ts): no default checksums.
          AWS_REQUEST_CHECKSUM_CALCULATION: "WHEN_REQUIRED",
          AWS_RESPONSE_CHECKSUM_VALIDATION: "WHEN_REQUIRED",
          AWS_LAMBDA_FUNCTION_NAME: "bench",
          [ENV.tableName]: table,
          [ENV.metadataBucket]: metadataBucket,
          [ENV.ingestBucket]: BENCH_BUCKET,
          [ENV.ffprobePath]: ffprobePath,
          [ENV.ffprobeSha256]: FFPROBE_PIN.binaries.x86_64.sha256,
          [ENV.probeTimeoutMs]: "20000",
          [ENV.metricsNamespace]: METRICS_NAMESPACE,
          [ENV.cursorSecret]: "bench-cursor-secret-0123456789abcdef0123456789",
          [ENV.extractorFunctionName]: "mp-bench-extractor",
          [ENV.apiFunctionName]: "mp-bench-api",
          [ENV.extractorEventSourceMappingUuid]: "a1b2c3d4-5678-90ab-cdef-11112222aaaa",
          POWERTOOLS_LOG_LEVEL: "INFO", // Powertools' default, as deployed
        };
        const functionEvent = (name: BundleName, i: number): unknown => {
          if (name === "extractor") {
            const o = objects.extractor[i];
            const body = s3EventBody({
              eventName: "ObjectCreated:Put",
              bucket: BENCH_BUCKET,
              ...o,
              sequencer: nextSequencer(),
            });
            return sqsEvent(sqsRecord(body));
          }
          if (name === "backfill") {
            const o = objects.backfill[i];
            return {
              Items: [{ Key: o.key, Size: o.size, Etag: `"${o.etag}"`, LastModified: Math.floor(Date.now() / 1000) }],
              BatchInput: { bucket: BENCH_BUCKET },
            };
          }
          if (name === "api") return apiEvent();
          return snsEvent(budgetText({ budgeted: "$100.00", threshold: "$100.00", amount: "$50.00" }));
        };
        const referenceEvent = { bucket: BENCH_BUCKET, key: objects.extractor[0].key, table };
        const once = (file: string, event: unknown) =>
          runNodeJson<ChildRun>([child, file, JSON.stringify(event)], { env, timeoutMs: 120_000 });

        const measured = new Map<BundleName, { fn: Timing[]; ref: Timing[]; logBytes: number[] }>(
          FUNCTIONS.map((n) => [n, { fn: [], ref: [], logBytes: [] }]),
        );
        ctx.log(`timing ${FUNCTIONS.length} functions and their references, ${runs} fresh processes each...`);
        for (let i = 0; i < runs; i++) {
          for (const name of FUNCTIONS) {
            // Alternate reference and function, so drift in machine load hits both alike.
            const ref = await once(references.get(name)?.file ?? "", referenceEvent);
            const fn = await once(bundles.get(name)?.file ?? "", functionEvent(name, i));
            checkResult(name, fn.result);
            measured.get(name)?.ref.push(round(ref));
            measured.get(name)?.fn.push(round(fn));
            measured.get(name)?.logBytes.push(fn.logBytes);
          }
          ctx.log(`cold starts: round ${i + 1} of ${runs} done`);
        }

        const identityRuns: number[] = [];
        const fullHashRuns: number[] = [];
        const hashEvent = { path: ffprobePath, sha256: FFPROBE_PIN.binaries.x86_64.sha256 };
        for (let i = 0; i < runs; i++) {
          identityRuns.push(((await once(identityBundle, hashEvent)).result as { ms: number }).ms);
          fullHashRuns.push(((await once(fullHashBundle, hashEvent)).result as { ms: number }).ms);
        }

        const functions: ColdStartRow[] = FUNCTIONS.map((name) => {
          const m = measured.get(name) ?? { fn: [], ref: [], logBytes: [] };
          const fn = medians(m.fn);
          const ref = medians(m.ref);
          return {
            name,
            bytes: bundles.get(name)?.bytes ?? 0,
            referenceBytes: references.get(name)?.bytes ?? 0,
            sdkPackages: bundles.get(name)?.sdk ?? [],
            ...fn,
            reference: ref,
            ratios: {
              requireMs: fn.requireMs / ref.requireMs,
              readyMs: fn.readyMs / ref.readyMs,
              firstInvokeMs: fn.firstInvokeMs / ref.firstInvokeMs,
            },
            logBytes: median(m.logBytes),
            runs: m.fn,
            referenceRuns: m.ref,
          };
        });
        return {
          runs,
          functions,
          identityCheckMs: median(identityRuns),
          identityCheckRunsMs: identityRuns.map((v) => Math.round(v * 100) / 100),
          fullHashMs: median(fullHashRuns),
          fullHashRunsMs: fullHashRuns.map((v) => Math.round(v)),
          note: NOTE,
        };
      } finally {
        ddb.destroy();
        await dynamo.close();
        await s3.close();
      }
    },

    render(r: ColdStartFigures): string {
      const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : "n/a");
      const rows = [["function", "bundle (reference)", "require()", "ready", "first invocation", "ready / reference"]];
      for (const f of r.functions) {
        rows.push([
          f.name,
          `${formatBytes(f.bytes)} (${formatBytes(f.referenceBytes)})`,
          `${formatMs(f.requireMs)} (${formatMs(f.reference.requireMs)})`,
          `${formatMs(f.readyMs)} (${formatMs(f.reference.readyMs)})`,
          `${formatMs(f.firstInvokeMs)} (${formatMs(f.reference.firstInvokeMs)})`,
          x(f.ratios.readyMs),
        ]);
      }
      return [
        `Cold starts: median of ${r.runs} fresh node processes per figure; in parentheses the SDK-only reference of the same run`,
        "",
        table(rows),
        "",
        ...r.functions.map(
          (f) =>
            `  ${f.name}: SDK packages ${f.sdkPackages.join(", ")}; require ${x(f.ratios.requireMs)}, first invocation ${x(f.ratios.firstInvokeMs)} of the reference; ${f.logBytes} B of logs and metrics`,
        ),
        `ffprobe identity check (size, ELF header, 64 KiB sampled): ${formatMs(r.identityCheckMs)} median (runs ${r.identityCheckRunsMs.join(", ")});` +
          ` the whole-file SHA-256 it replaces: ${formatMs(r.fullHashMs)}`,
        `(${r.note})`,
      ].join("\n");
    },

    checks(r: ColdStartFigures): Check[] {
      const checks: Check[] = [];
      for (const [name, max] of Object.entries(MAX_READY_RATIO) as [BundleName, number][]) {
        const f = r.functions.find((x) => x.name === name);
        if (!f) continue;
        checks.push({
          name: `${name} ready within ${max}x its SDK-only reference (medians, one run)`,
          pass: f.ratios.readyMs <= max,
          detail: `${f.ratios.readyMs.toFixed(2)}x (${formatMs(f.readyMs)} vs ${formatMs(f.reference.readyMs)})`,
        });
      }
      checks.push({
        name: `ffprobe identity check under ${MAX_IDENTITY_CHECK_MS} ms`,
        pass: r.identityCheckMs < MAX_IDENTITY_CHECK_MS,
        detail: `${formatMs(r.identityCheckMs)} median of ${r.runs} fresh processes`,
      });
      return checks;
    },
  };
}

/** GET /files as API Gateway (HTTP API, payload 2.0) hands it over after the JWT authorizer. */
function apiEvent(): unknown {
  return {
    version: "2.0",
    routeKey: "GET /files",
    rawPath: "/files",
    rawQueryString: "",
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: "000000000000",
      apiId: "bench",
      domainName: "localhost",
      domainPrefix: "localhost",
      http: { method: "GET", path: "/files", protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "bench" },
      requestId: "bench",
      routeKey: "GET /files",
      stage: "$default",
      time: "01/Jan/2026:00:00:00 +0000",
      timeEpoch: 0,
      authorizer: { jwt: { claims: { sub: "bench-user" }, scopes: [API_SCOPES.read] } },
    },
  };
}

/** A first invocation that did not do its job is no measurement. */
function checkResult(name: BundleName, result: unknown): void {
  const r = result as Record<string, unknown> & { batchItemFailures?: unknown[]; statusCode?: number; body?: string };
  const bad = (why: string) => {
    throw new Error(`${name}'s first invocation ${why}: ${JSON.stringify(result).slice(0, 500)}`);
  };
  if (name === "extractor" && (!Array.isArray(r.batchItemFailures) || r.batchItemFailures.length)) bad("failed");
  if (name === "api" && (r.statusCode !== 200 || !(JSON.parse(r.body ?? "{}").items?.length > 0)))
    bad("listed nothing");
  if (name === "kill-switch" && (result as { outcome?: string }[])[0]?.outcome !== "ignored") bad("did not ignore");
  if (name === "backfill") {
    const results = (result as { results?: { status: string }[] }).results ?? [];
    if (results.length !== 1 || results[0].status === "failed" || results[0].status === "skipped")
      bad("processed nothing");
  }
}
