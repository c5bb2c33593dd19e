/**
 * The lab's child processes (the extractor's host, the soak's lab) run as one CommonJS file
 * built from their TypeScript entry, with plain `node`, instead of through tsx.
 *
 * Why: a lab start through tsx spent about 1.8 s of CPU in tsx's loader (resolving and
 * transforming each of our modules, and hooking every require of node_modules), on top of
 * what the modules themselves cost. The soak restarts its lab after every SIGKILL and each
 * lab start also starts a host, so on this 2-core machine that was CPU taken from the
 * pipeline it measures. esbuild bundles our own sources (packages stay external and load
 * from node_modules as usual) in a fraction of that, once: the bundle is kept under
 * .cache/lab-bundles and rebuilt only when one of its input files changed.
 *
 * The bundle is named by its content's hash and written by rename, so processes building at
 * once (a soak beside the tests) never run a half-written or mismatched file.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import * as esbuild from "esbuild";
import { REPO_ROOT } from "../lib/repo-root";

/** Where the bundles and their input lists are kept. */
export const LAB_BUNDLE_DIR = path.join(REPO_ROOT, ".cache", "lab-bundles");

/** What a bundle was built from: each input's path (relative to REPO_ROOT), size and mtime. */
interface BundleRecord {
  file: string;
  inputs: { path: string; size: number; mtimeMs: number }[];
}

async function stillCurrent(record: BundleRecord): Promise<boolean> {
  try {
    await fs.access(path.join(LAB_BUNDLE_DIR, record.file));
    for (const input of record.inputs) {
      const stat = await fs.stat(path.join(REPO_ROOT, input.path));
      if (stat.size !== input.size || stat.mtimeMs !== input.mtimeMs) return false;
    }
    return true;
  } catch {
    return false;
  }
}

async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}-${Math.random().toString(16).slice(2)}.tmp`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

/** Bundles of `name` other than `keep` and older than this are removed (a process may still be starting one). */
const PRUNE_AFTER_MS = 10 * 60_000;

async function pruneOlder(name: string, keep: string): Promise<void> {
  for (const file of await fs.readdir(LAB_BUNDLE_DIR)) {
    if (file === keep || !file.startsWith(`${name}-`) || !file.endsWith(".cjs")) continue;
    const full = path.join(LAB_BUNDLE_DIR, file);
    const stat = await fs.stat(full).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > PRUNE_AFTER_MS) await fs.rm(full, { force: true });
  }
}

/** Files that shape every bundle without being one of its inputs: the compiler's settings and version. */
const BUILD_SETTINGS = ["tsconfig.json", "node_modules/esbuild/package.json"];

async function build(entry: string, recordFile: string): Promise<BundleRecord> {
  const name = path.basename(entry).replace(/\.ts$/, "");
  // Whole milliseconds, as some file systems keep mtimes: a file saved during the build has an
  // mtime at or after this, and esbuild may have read it before or after the save.
  const started = Math.floor(Date.now());
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    // node_modules load as they do under tsx; only our sources are bundled.
    packages: "external",
    write: false,
    metafile: true,
    logLevel: "silent",
    outfile: path.join(LAB_BUNDLE_DIR, `${name}.cjs`),
  });
  const code = result.outputFiles[0].contents;
  const file = `${name}-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.cjs`;
  // A file changed since the build started may be in the bundle or not: it is recorded as never
  // matching, so the next call builds again rather than run code older than the file.
  const inputs = await Promise.all(
    [...Object.keys(result.metafile.inputs), ...BUILD_SETTINGS].map(async (input) => {
      const stat = await fs.stat(path.join(REPO_ROOT, input));
      return { path: input, size: stat.size, mtimeMs: stat.mtimeMs >= started ? -1 : stat.mtimeMs };
    }),
  );
  await fs.mkdir(LAB_BUNDLE_DIR, { recursive: true });
  await writeAtomic(path.join(LAB_BUNDLE_DIR, file), code);
  const record: BundleRecord = { file, inputs };
  await writeAtomic(recordFile, JSON.stringify(record));
  await pruneOlder(name, file);
  return record;
}

const building = new Map<string, Promise<string>>();

/**
 * The bundle of the TypeScript module `entry` (a path inside the repository): built when
 * missing or when any file it was built from changed, else the kept one. Returns its path.
 * Calls at once share one check (and build).
 */
export function bundledEntry(entry: string): Promise<string> {
  const absolute = path.resolve(REPO_ROOT, entry);
  let pending = building.get(absolute);
  if (!pending) {
    pending = (async () => {
      const relative = path.relative(REPO_ROOT, absolute);
      const recordFile = path.join(LAB_BUNDLE_DIR, `${relative.replace(/[\\/]/g, "__")}.json`);
      let record: BundleRecord | undefined;
      try {
        record = JSON.parse(await fs.readFile(recordFile, "utf8")) as BundleRecord;
      } catch {
        record = undefined;
      }
      if (!record || !(await stillCurrent(record))) record = await build(relative, recordFile);
      return path.join(LAB_BUNDLE_DIR, record.file);
    })();
    building.set(absolute, pending);
    const done = () => building.delete(absolute);
    pending.then(done, done);
  }
  return pending;
}
