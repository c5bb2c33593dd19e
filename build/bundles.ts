/**
 * Bundles each Lambda handler ahead of time with esbuild (no closure serialization):
 * one minified CommonJS file per function under dist/<name>/index.js, with the AWS SDK
 * v3 bundled in so the function does not depend on the runtime's SDK version.
 *
 * What a cold start pays for is kept small (docs/cold-start.md):
 * - packages are resolved through their ES module builds (`module` before `main`), so
 *   esbuild drops what the handler never imports (unused SDK commands, zod locales...);
 * - the source map is written OUTSIDE the function's folder, to dist/sourcemaps/<name>/,
 *   and the bundle carries no `sourceMappingURL` comment: the function's code archive (the
 *   folder) holds index.js alone, so nothing (not even `--enable-source-maps`) makes Node
 *   read or parse a multi-megabyte map while the function loads. The map, with the sources
 *   inlined, is for symbolicating a stack trace offline (`BundleResult.mapFile`).
 *
 * The `npm run build` command is tools/build-bundles.ts.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";
import { REPO_ROOT } from "../lib/repo-root";

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
  /** Folder holding index.js and nothing else: the function's code archive. */
  dir: string;
  outfile: string;
  bytes: number;
  /** SHA-256 of index.js, hex: names the build a map belongs to. */
  sha256: string;
  /** The source map, outside `dir` (not deployed). Its `sources` are relative to the repository. */
  mapFile: string;
  /** esbuild's metafile (inputs and their bytes in the output). */
  metafile: esbuild.Metafile;
}

/** Where the maps of the bundles under `outDir` go. */
export function sourceMapDir(outDir: string): string {
  return path.join(outDir, "sourcemaps");
}

/**
 * The esbuild options every Lambda bundle shares (the bench builds its SDK-only reference
 * bundles with them too, so both are built alike). Output stays in memory; see writeOutput.
 */
export function lambdaBuildOptions(): esbuild.BuildOptions {
  return {
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    // ES module builds first: tree-shakable. The SDK v3 and zod ship both.
    mainFields: ["module", "main"],
    minify: true,
    // Written to a file, no comment linking it from the bundle.
    sourcemap: "external",
    sourcesContent: true,
    metafile: true,
    legalComments: "none",
    logLevel: "silent",
    write: false,
  };
}

function options(name: BundleName, outDir: string): esbuild.BuildOptions {
  return {
    ...lambdaBuildOptions(),
    entryPoints: [path.join(REPO_ROOT, HANDLER_ENTRIES[name])],
    outfile: path.join(outDir, name, "index.js"),
  };
}

/**
 * Writes index.js into its own (emptied) folder and the map under sourceMapDir, with the
 * map's `sources` made relative to the repository (the map no longer sits beside the bundle).
 */
export function writeOutput(
  out: esbuild.BuildResult,
  outfile: string,
  mapFile: string,
): { bytes: number; sha256: string } {
  const js = out.outputFiles?.find((f) => f.path === outfile);
  const map = out.outputFiles?.find((f) => f.path === `${outfile}.map`);
  if (!js || !map) throw new Error(`esbuild produced no ${outfile} and map`);
  fs.rmSync(path.dirname(outfile), { recursive: true, force: true });
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  fs.writeFileSync(outfile, js.contents);
  // Only the `sources` array is rewritten (the map is megabytes: no parse of the whole of it).
  const text = map.text;
  const from = text.indexOf('"sources": [');
  const to = text.indexOf("]", from) + 1;
  if (from < 0 || to <= 0) throw new Error(`unexpected source map layout for ${outfile}`);
  const sources = (JSON.parse(text.slice(from + '"sources": '.length, to)) as string[]).map((s) =>
    path
      .relative(REPO_ROOT, path.resolve(path.dirname(outfile), s))
      .split(path.sep)
      .join("/"),
  );
  fs.mkdirSync(path.dirname(mapFile), { recursive: true });
  fs.writeFileSync(mapFile, `${text.slice(0, from)}"sources": ${JSON.stringify(sources)}${text.slice(to)}`);
  return { bytes: js.contents.length, sha256: createHash("sha256").update(js.contents).digest("hex") };
}

function result(name: BundleName, outDir: string, out: esbuild.BuildResult): BundleResult {
  const outfile = path.join(outDir, name, "index.js");
  const mapFile = path.join(sourceMapDir(outDir), name, "index.js.map");
  const { bytes, sha256 } = writeOutput(out, outfile, mapFile);
  return {
    name,
    dir: path.dirname(outfile),
    outfile,
    bytes,
    sha256,
    mapFile,
    metafile: out.metafile ?? { inputs: {}, outputs: {} },
  };
}

/** Builds one bundle (async). */
export async function buildBundle(name: BundleName, outDir = path.join(REPO_ROOT, "dist")): Promise<BundleResult> {
  return result(name, outDir, await esbuild.build(options(name, outDir)));
}

/** Builds one bundle synchronously: Pulumi components call this while constructing. */
export function buildBundleSync(name: BundleName, outDir = path.join(REPO_ROOT, "dist")): BundleResult {
  return result(name, outDir, esbuild.buildSync(options(name, outDir)));
}
