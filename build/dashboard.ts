/**
 * Builds the dashboard page (sources in web/src and web/static) into web/dist with esbuild:
 * one minified script and one stylesheet under assets/, named by content hash (cached for a
 * year), and index.html (never cached) pointing at them. config.json is not part of the
 * build: the lab serves it, and the Pulumi DashboardSite component writes it next to these files.
 *
 *   npm run build:web        # web/dist
 *
 * Used by lab/dashboard.ts (on demand) and by the MediaPipeline component (buildDashboardSync).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";
import { REPO_ROOT } from "../lib/repo-root";

/** The dashboard's sources (web/src, web/static) and its build (web/dist). */
export const WEB_ROOT = path.join(REPO_ROOT, "web");
export const DASHBOARD_DIST_DIR = path.join(WEB_ROOT, "dist");
const ENTRY = path.join(WEB_ROOT, "src", "main.ts");
const STATIC_DIR = path.join(WEB_ROOT, "static");
/** Static files copied as they are (index.html is a template, styles.css is bundled). */
const COPIED = ["favicon.svg"];
/** Browsers the page is built for (what oidc-client-ts, <dialog> and :focus-visible need anyway). */
const TARGETS = ["chrome111", "firefox114", "safari16.4", "edge111"];

export interface DashboardBuild {
  outDir: string;
  /** Paths relative to outDir, "/"-separated, e.g. "assets/main-3KX2ZQ7A.js". */
  files: string[];
  script: string;
  stylesheet: string;
  bytes: number;
}

function options(stageDir: string, minify: boolean): esbuild.BuildOptions & { metafile: true } {
  return {
    entryPoints: [ENTRY],
    outdir: path.join(stageDir, "assets"),
    entryNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    bundle: true,
    platform: "browser",
    format: "iife",
    target: TARGETS,
    minify,
    sourcemap: "linked",
    metafile: true,
    legalComments: "none",
    logLevel: "silent",
    charset: "utf8",
    define: { "process.env.NODE_ENV": '"production"' },
  };
}

function listFiles(dir: string, prefix = ""): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    return e.isDirectory() ? listFiles(path.join(dir, e.name), rel) : [rel];
  });
}

/** Writes index.html and the static files next to esbuild's output, then swaps the folder in. */
function finish(stageDir: string, outDir: string, result: esbuild.BuildResult & { metafile: esbuild.Metafile }) {
  const outputs = Object.keys(result.metafile.outputs).map((o) => path.resolve(o));
  const rel = (file: string) => path.relative(stageDir, file).split(path.sep).join("/");
  const script = outputs.find((o) => o.endsWith(".js"));
  const stylesheet = outputs.find((o) => o.endsWith(".css"));
  if (!script || !stylesheet) throw new Error("esbuild produced no script or no stylesheet for the dashboard");
  const template = fs.readFileSync(path.join(STATIC_DIR, "index.html"), "utf8");
  const html = template.replace("%APP_JS%", `/${rel(script)}`).replace("%APP_CSS%", `/${rel(stylesheet)}`);
  if (html.includes("%APP_")) throw new Error("web/static/index.html has an unknown %APP_...% placeholder");
  fs.writeFileSync(path.join(stageDir, "index.html"), html);
  for (const name of COPIED) fs.copyFileSync(path.join(STATIC_DIR, name), path.join(stageDir, name));

  // Swap: readers see the old build or the new one, never half of one.
  const old = path.join(path.dirname(stageDir), "old", "dist");
  try {
    fs.mkdirSync(path.dirname(old));
    if (fs.existsSync(outDir)) fs.renameSync(outDir, old);
    fs.renameSync(stageDir, outDir);
  } catch (err) {
    // Another process swapped its build in meanwhile: same sources, so keep that one.
    const code = (err as NodeJS.ErrnoException).code;
    const settled = fs.existsSync(path.join(outDir, "index.html"));
    if ((code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "ENOENT") || !settled) throw err;
  }
  const files = listFiles(outDir).sort();
  const bytes = files.reduce((n, f) => n + fs.statSync(path.join(outDir, f)).size, 0);
  return { outDir, files, script: rel(script), stylesheet: rel(stylesheet), bytes };
}

/**
 * A fresh `<parent of outDir>/.dashboard-build-XXXXXX/dist/` to build into: next to outDir
 * (same file system, so the swap is a rename), and named `dist` so .gitignore's `dist/`
 * hides it from git and the linter even if a build is killed half way.
 */
function stage(outDir: string): string {
  fs.mkdirSync(path.dirname(outDir), { recursive: true });
  const root = fs.mkdtempSync(path.join(path.dirname(outDir), ".dashboard-build-"));
  const dir = path.join(root, "dist");
  fs.mkdirSync(dir, { mode: 0o755 });
  return dir;
}

/** Removes what stage() made (the staged build if it was not swapped in, the previous build if it was). */
function unstage(stageDir: string): void {
  fs.rmSync(path.dirname(stageDir), { recursive: true, force: true });
}

export interface BuildDashboardOptions {
  /** Default web/dist. */
  outDir?: string;
  /** Default true. */
  minify?: boolean;
}

export async function buildDashboard(opts: BuildDashboardOptions = {}): Promise<DashboardBuild> {
  const outDir = path.resolve(opts.outDir ?? DASHBOARD_DIST_DIR);
  const stageDir = stage(outDir);
  try {
    return finish(stageDir, outDir, await esbuild.build(options(stageDir, opts.minify ?? true)));
  } finally {
    unstage(stageDir);
  }
}

/** The same, synchronously: Pulumi components build while they are constructed. */
export function buildDashboardSync(opts: BuildDashboardOptions = {}): DashboardBuild {
  const outDir = path.resolve(opts.outDir ?? DASHBOARD_DIST_DIR);
  const stageDir = stage(outDir);
  try {
    return finish(stageDir, outDir, esbuild.buildSync(options(stageDir, opts.minify ?? true)));
  } finally {
    unstage(stageDir);
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Whether outDir lacks a build, or (when the sources are here) is older than them. */
export function dashboardNeedsBuild(outDir = DASHBOARD_DIST_DIR): boolean {
  const index = path.join(outDir, "index.html");
  if (!fs.existsSync(index)) return true;
  if (!fs.existsSync(STATIC_DIR)) return false;
  const built = fs.statSync(index).mtimeMs;
  const libDir = path.join(WEB_ROOT, "..", "lib");
  const shared = ["dashboard-config.ts", "auth.ts", "schema.ts"].map((f) => path.join(libDir, f));
  const newest = Math.max(
    newestMtime(path.join(WEB_ROOT, "src")),
    newestMtime(STATIC_DIR),
    ...shared.filter((f) => fs.existsSync(f)).map((f) => fs.statSync(f).mtimeMs),
  );
  return newest > built;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

/** Content-Type for a file of the site (S3 object metadata in the cloud, the header in the lab). */
export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream";
}

/** Cache-Control for a file of the site: hashed assets forever, everything else revalidated. */
export function cacheControlFor(file: string): string {
  const rel = file.replace(/\\/g, "/").replace(/^\/+/, "");
  if (rel.startsWith("assets/")) return "public, max-age=31536000, immutable";
  if (rel === "index.html" || rel.endsWith(".json") || rel === "") return "no-cache";
  return "public, max-age=3600";
}

if (require.main === module) {
  buildDashboard()
    .then((b) => {
      const where = path.relative(process.cwd(), b.outDir) || ".";
      console.log(`dashboard: ${where}/ ${b.files.length} files, ${(b.bytes / 1024).toFixed(1)} KiB`);
      for (const f of b.files) console.log(`  ${f}`);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
