/**
 * The repository's root folder (where Pulumi.yaml and package.json are), for the code that
 * runs from a checkout: the Pulumi program, build/, tools, lab, bench, media fixtures and
 * tests. Derived from this file's place: the nearest folder above it that holds Pulumi.yaml
 * (lib/ is one level down; the lab's process bundles, build/process-bundle.ts, run from
 * .cache/lab-bundles/, two levels down).
 *
 * Never import it from handlers/ or web/src/: in a bundle `__dirname` is the bundle's folder,
 * not the repository (tests/unit/build-room.test.ts checks nothing bundled imports it, tests/unit/build-bundles.test.ts
 * that the extractor's bundle does not contain it).
 */
import { existsSync } from "node:fs";
import * as path from "node:path";

/** The nearest folder from `from` upwards that holds Pulumi.yaml; `from` itself when none does. */
function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) return from;
  }
}

export const REPO_ROOT = findRoot(path.resolve(__dirname, ".."));
