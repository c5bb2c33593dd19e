/**
 * The health canary's script zip (components/health-canary.ts): the script at the path the
 * Synthetics Node.js runtimes load it from, with its parent folders, deterministic
 * (build/zip.ts) and content-addressed under .cache/health-canary/.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_CACHE_DIR } from "./ffprobe-layer";
import { buildZip } from "./zip";

/**
 * Builds the zip of `scriptFile` stored as `entryPath` (e.g. nodejs/node_modules/healthCheck.js)
 * once per content and returns its path.
 */
export function buildCanaryZip(scriptFile: string, entryPath: string, cacheDir = DEFAULT_CACHE_DIR): string {
  const script = fs.readFileSync(scriptFile);
  const parts = entryPath.split("/").slice(0, -1);
  const dirs = parts.map((_, i) => `${parts.slice(0, i + 1).join("/")}/`);
  const zip = buildZip([
    ...dirs.map((name) => ({ name, mode: 0o755 })),
    { name: entryPath, data: script, mode: 0o644 },
  ]);
  // Content-addressed: the provider compares the zipFile path, not the bytes, so a changed
  // script must get a new path to be deployed.
  const digest = createHash("sha256").update(zip).digest("hex").slice(0, 16);
  const file = path.join(cacheDir, "health-canary", `health-check-${digest}.zip`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, zip);
    fs.renameSync(tmp, file);
  }
  return file;
}
