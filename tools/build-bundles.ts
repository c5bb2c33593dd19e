/**
 * `npm run build`: bundles each Lambda handler (build/bundles.ts) into dist/<name>/index.js.
 */
import * as path from "node:path";
import { type BundleName, buildBundle, HANDLER_ENTRIES } from "../build/bundles";
import { REPO_ROOT } from "../lib/repo-root";
import { type Cli, parseFlags, runCli } from "./cli";

export const cli: Cli = {
  name: "build",
  usage: `usage: npm run build

Bundles each Lambda handler (esbuild, minified, AWS SDK included) into dist/<name>/index.js.`,
  exitCodes: { 1: "a bundle failed to build" },
  async main(argv) {
    parseFlags(argv, {});
    for (const name of Object.keys(HANDLER_ENTRIES) as BundleName[]) {
      const r = await buildBundle(name);
      process.stdout.write(
        `${r.name}: ${path.relative(REPO_ROOT, r.outfile)} ${(r.bytes / 1024).toFixed(1)} KiB (map: ${path.relative(REPO_ROOT, r.mapFile)})\n`,
      );
    }
    return 0;
  },
};

if (require.main === module) runCli(cli);
