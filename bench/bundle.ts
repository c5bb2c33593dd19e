/**
 * Section "bundle": the extractor's Lambda bundle (tools/build-bundles.ts) — its size, and
 * the time to require() it in a fresh node process (what a cold start pays for our code),
 * against requiring an empty module the same way.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { resolveLocalFfprobe } from "../handlers/extractor/ffprobe";
import { FFPROBE_PIN } from "../lib/ffprobe-pin";
import { ENV, METRICS_NAMESPACE } from "../lib/runtime-env";
import { buildBundle } from "../tools/build-bundles";
import {
  BENCH_CACHE,
  type BenchContext,
  type BenchSection,
  formatBytes,
  formatMs,
  median,
  runNodeJson,
  table,
} from "./section";

export interface BundleFigures {
  outfile: string;
  /** Size of the bundle file (index.js; the source map is not shipped to the runtime's require). */
  bytes: number;
  /** Median ms to require() the bundle in a fresh node process. */
  loadMs: number;
  /** Median ms to require() an empty module the same way. */
  baselineLoadMs: number;
  /** loadMs / baselineLoadMs. */
  ratio: number;
  runs: number;
  loadRunsMs: number[];
  baselineRunsMs: number[];
}

/** Times require(argv[1]) inside the fresh process; prints {ms}. */
const TIMER = [
  "const t = process.hrtime.bigint();",
  "require(process.argv[1]);",
  "const ms = Number(process.hrtime.bigint() - t) / 1e6;",
  "process.stdout.write(JSON.stringify({ ms }) + '\\n');",
  "process.exit(0);",
].join(" ");

export function bundleSection(options: { runs?: number } = {}): BenchSection<BundleFigures> {
  const runs = options.runs ?? 7;
  return {
    name: "bundle",
    async run(ctx: BenchContext): Promise<BundleFigures> {
      const outDir = path.join(BENCH_CACHE, "dist");
      ctx.log("building the extractor bundle...");
      const built = await buildBundle("extractor", outDir);
      const bytes = (await fs.stat(built.outfile)).size;
      const empty = path.join(BENCH_CACHE, "empty-module", "index.js");
      await fs.mkdir(path.dirname(empty), { recursive: true });
      await fs.writeFile(empty, '"use strict";\n');
      // What the Lambda environment sets before the module loads (lib/runtime-env.ts), and nothing else.
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        AWS_REGION: "us-east-1",
        AWS_DEFAULT_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "bench",
        AWS_SECRET_ACCESS_KEY: "bench",
        AWS_LAMBDA_FUNCTION_NAME: "extractor",
        [ENV.tableName]: "bench-metadata",
        [ENV.metadataBucket]: "bench-metadata",
        [ENV.ffprobePath]: await resolveLocalFfprobe(),
        [ENV.ffprobeSha256]: FFPROBE_PIN.binaries.x86_64.sha256,
        [ENV.probeTimeoutMs]: "20000",
        [ENV.serviceName]: "extractor",
        [ENV.metricsNamespace]: METRICS_NAMESPACE,
      };
      const time = async (file: string) => (await runNodeJson<{ ms: number }>(["-e", TIMER, file], { env })).ms;
      const loadRunsMs: number[] = [];
      const baselineRunsMs: number[] = [];
      ctx.log(`timing require() of the bundle and of an empty module, ${runs} fresh processes each...`);
      for (let i = 0; i < runs; i++) {
        // Alternate, so drift in machine load hits both alike.
        baselineRunsMs.push(await time(empty));
        loadRunsMs.push(await time(built.outfile));
      }
      const loadMs = median(loadRunsMs);
      const baselineLoadMs = median(baselineRunsMs);
      return {
        outfile: path.relative(process.cwd(), built.outfile),
        bytes,
        loadMs,
        baselineLoadMs,
        ratio: loadMs / baselineLoadMs,
        runs,
        loadRunsMs: loadRunsMs.map((v) => Math.round(v * 10) / 10),
        baselineRunsMs: baselineRunsMs.map((v) => Math.round(v * 100) / 100),
      };
    },

    render(r: BundleFigures): string {
      return [
        `Extractor bundle: ${r.outfile}`,
        "",
        table([
          ["", "extractor bundle", "empty module", "bundle / empty"],
          ["size", `${formatBytes(r.bytes)} (${r.bytes.toLocaleString("en-US")} B)`, "", ""],
          [
            `require() in a fresh node (median of ${r.runs})`,
            formatMs(r.loadMs),
            formatMs(r.baselineLoadMs),
            `${r.ratio.toFixed(0)}x`,
          ],
          ["each run (ms)", r.loadRunsMs.join(", "), r.baselineRunsMs.join(", "), ""],
        ]),
        "",
        "Load time is measured inside the fresh process around require(), process start-up excluded;",
        "the environment holds only what the Lambda sets (lib/runtime-env.ts) plus AWS region and dummy credentials.",
      ].join("\n");
    },
  };
}
