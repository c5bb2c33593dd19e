/**
 * Bundles each Lambda handler ahead of time with esbuild (no closure serialization):
 * one minified CommonJS file per function under dist/<name>/index.js, with the AWS SDK
 * v3 bundled in so the function does not depend on the runtime's SDK version.
 *
 *   npm run build            # all bundles
 */
import * as path from "node:path";
import * as esbuild from "esbuild";

export const REPO_ROOT = path.resolve(__dirname, "..");

/** Handler entry points, by function name. Each exports `handler`. */
export const HANDLER_ENTRIES = {
  extractor: "handlers/extractor/index.ts",
  api: "handlers/api/index.ts",
  "kill-switch": "handlers/kill-switch/index.ts",
  backfill: "handlers/backfill/index.ts",
  stats: "handlers/stats/index.ts",
} as const;

export type BundleName = keyof typeof HANDLER_ENTRIES;

export interface BundleResult {
  name: BundleName;
  /** Folder holding index.js (and its source map): the function's code archive. */
  dir: string;
  outfile: string;
  bytes: number;
}

function options(name: BundleName, outDir: string): esbuild.BuildOptions {
  return {
    entryPoints: [path.join(REPO_ROOT, HANDLER_ENTRIES[name])],
    outfile: path.join(outDir, name, "index.js"),
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minify: true,
    sourcemap: "linked",
    metafile: true,
    legalComments: "none",
    logLevel: "silent",
  };
}

function result(name: BundleName, outDir: string, out: esbuild.BuildResult): BundleResult {
  const outfile = path.join(outDir, name, "index.js");
  const rel = path.relative(process.cwd(), outfile);
  const meta = out.metafile?.outputs[rel] ?? Object.values(out.metafile?.outputs ?? {}).find((o) => o.entryPoint);
  return { name, dir: path.dirname(outfile), outfile, bytes: meta?.bytes ?? 0 };
}

/** Builds one bundle (async). */
export async function buildBundle(name: BundleName, outDir = path.join(REPO_ROOT, "dist")): Promise<BundleResult> {
  return result(name, outDir, await esbuild.build(options(name, outDir)));
}

/** Builds one bundle synchronously: Pulumi components call this while constructing. */
export function buildBundleSync(name: BundleName, outDir = path.join(REPO_ROOT, "dist")): BundleResult {
  return result(name, outDir, esbuild.buildSync(options(name, outDir)));
}

if (require.main === module) {
  (async () => {
    for (const name of Object.keys(HANDLER_ENTRIES) as BundleName[]) {
      const r = await buildBundle(name);
      console.log(`${r.name}: ${path.relative(REPO_ROOT, r.outfile)} ${(r.bytes / 1024).toFixed(1)} KiB`);
    }
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
