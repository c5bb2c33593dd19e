/**
 * npm run bench [-- --json] [-- --only probe,coldstart] [-- --inplace-runs N --download-runs N --layout-runs N --cold-runs N]
 *
 * Runs the bench sections (one file each, composed here) and prints a readable report, or
 * with --json ONE JSON object on stdout ({ <section>: figures..., checks: [...] }); progress
 * always goes to stderr. Exit codes (tools/cli.ts): 0 every acceptance check passed, 1 a check
 * failed or a section could not run, 2 usage error. Not part of `npm test`.
 * Inputs are generated once and cached under .cache/bench/ (the first run takes longer).
 *
 * To add a section: write bench/<name>.ts exporting a BenchSection (bench/section.ts) and
 * list it in SECTIONS.
 */
import * as os from "node:os";
import { type Cli, parseFlags, runCli, UsageError } from "../tools/cli";
import { apiSection } from "./api";
import { coldStartSection } from "./cold-start";
import { layoutsSection } from "./layouts";
import { probeSection } from "./probe";
import type { BenchContext, BenchSection, Check } from "./section";

export interface Args {
  json: boolean;
  only?: string[];
  inPlaceRuns: number;
  downloadRuns: number;
  coldRuns: number;
  layoutRuns: number;
}

/** The flags of `npm run bench` (tools/cli.ts parseFlags: node:util parseArgs, strict). */
export function parseArgs(argv: string[]): Args {
  const { values } = parseFlags(argv, {
    json: { type: "boolean", default: false },
    only: { type: "string" },
    "inplace-runs": { type: "string" },
    "download-runs": { type: "string" },
    "cold-runs": { type: "string" },
    "layout-runs": { type: "string" },
  });
  const positiveInt = (flag: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag} needs a positive integer, got ${v}`);
    return n;
  };
  return {
    json: values.json,
    ...(values.only === undefined ? {} : { only: values.only.split(",").filter(Boolean) }),
    inPlaceRuns: positiveInt("inplace-runs", values["inplace-runs"], 3),
    downloadRuns: positiveInt("download-runs", values["download-runs"], 2),
    coldRuns: positiveInt("cold-runs", values["cold-runs"], 7),
    layoutRuns: positiveInt("layout-runs", values["layout-runs"], 2),
  };
}

function sections(args: Args): BenchSection<unknown>[] {
  const all = [
    probeSection({ inPlaceRuns: args.inPlaceRuns, downloadRuns: args.downloadRuns }),
    layoutsSection({ runs: args.layoutRuns }),
    coldStartSection({ runs: args.coldRuns }),
    apiSection(),
  ] as BenchSection<unknown>[];
  if (!args.only) return all;
  const unknown = args.only.filter((n) => !all.some((s) => s.name === n));
  if (unknown.length)
    throw new UsageError(`unknown section(s) ${unknown.join(", ")}; known: ${all.map((s) => s.name)}`);
  return all.filter((s) => args.only?.includes(s.name));
}

export const cli: Cli = {
  name: "bench",
  usage: `usage: npm run bench [-- options]

Probe in place vs download-then-probe on a 1 GB MP4, bundle size and load time, API latency in
the lab; a readable report, then the acceptance checks. Inputs are cached under .cache/bench/.

  --json               ONE JSON object on stdout (npm run -s bench -- --json); progress on stderr
  --only a,b           only these sections (probe, layouts, coldstart, api)
  --inplace-runs N     runs of the in-place probe (default 3)
  --download-runs N    runs of download-then-probe (default 2)
  --layout-runs N      runs of each 1 GiB layout probe (default 2)
  --cold-runs N        fresh-process cold starts per function (default 7)`,
  exitCodes: { 1: "an acceptance check failed, or a section could not run" },
  main: (argv) => main(argv),
};

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const started = performance.now();
  const ctx: BenchContext = {
    log: (message) =>
      process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${message}\n`),
  };
  const machine = { cpus: os.availableParallelism(), node: process.version, platform: `${os.platform()} ${os.arch()}` };
  const results: Record<string, unknown> = {};
  const reports: string[] = [];
  const checks: Check[] = [];
  for (const section of sections(args)) {
    ctx.log(`section ${section.name}...`);
    const result = await section.run(ctx);
    results[section.name] = result;
    reports.push(section.render(result));
    checks.push(...(section.checks?.(result) ?? []));
  }
  const totalMs = Math.round(performance.now() - started);
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ ...results, checks, machine, totalMs })}\n`);
  } else {
    const lines = [
      `media-pipeline bench — ${machine.cpus} CPUs, node ${machine.node}, ${machine.platform}`,
      "",
      reports.join("\n\n"),
      "",
      "Acceptance",
      ...checks.map((c) => `  [${c.pass ? "PASS" : "FAIL"}] ${c.name}: ${c.detail}`),
      "",
      `(bench took ${(totalMs / 1000).toFixed(1)} s)`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  return checks.every((c) => c.pass) ? 0 : 1;
}

if (require.main === module) runCli(cli);
