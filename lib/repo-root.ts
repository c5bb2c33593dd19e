/**
 * The repository's root folder (where Pulumi.yaml and package.json are), for the code that
 * runs from a checkout: the Pulumi program, build/, tools, lab, bench, media fixtures and
 * tests. Derived from this file's place (lib/ is one level down).
 *
 * Never import it from handlers/ or web/src/: in a bundle `__dirname` is the bundle's folder,
 * not the repository (tests/unit/build-room.test.ts checks nothing bundled imports it, tests/unit/build-bundles.test.ts
 * that the extractor's bundle does not contain it).
 */
import * as path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "..");
