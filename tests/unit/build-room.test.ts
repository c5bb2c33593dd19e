/**
 * The build/ room (issue 11): bundles, layer zip, canary zip and dashboard build live in
 * build/, which imports lib/ only; components/ run no build of their own (no tools/, web/,
 * tests/, esbuild or yazl); REPO_ROOT is defined once (lib/repo-root.ts) and never reaches code
 * that is bundled (a Lambda handler, the dashboard page), where `__dirname` is not the repository.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { REPO_ROOT } from "../../lib/repo-root";

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "dist" ? [] : sourceFiles(rel);
    return /\.(ts|js|cjs|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [rel] : [];
  });
}

/** Relative module specifiers of a file (import/export ... from, import(), require()), resolved from the repository root. */
function localImports(file: string): string[] {
  const text = fs.readFileSync(path.join(REPO_ROOT, file), "utf8");
  const specs = [...text.matchAll(/(?:from|import|require)\s*\(?\s*"(\.[^"]+)"/g)].map((m) => m[1]);
  return specs.map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(file), s)));
}

const room = (p: string) => p.split("/")[0];

describe("build/ room", () => {
  it("build/ imports only lib/ and itself", () => {
    const files = sourceFiles("build");
    expect(files).to.include.members([
      "build/bundles.ts",
      "build/ffprobe-layer.ts",
      "build/dashboard.ts",
      "build/zip.ts",
    ]);
    for (const file of files) {
      for (const target of localImports(file))
        expect(room(target), `${file} imports ${target}`).to.be.oneOf(["lib", "build"]);
    }
  });

  // (Their imports of handlers/ are the component rewrite's to remove, issue 11.)
  it("components/ build nothing themselves: no import of tools/, web/, tests/ or a bundler", () => {
    for (const file of sourceFiles("components")) {
      for (const target of localImports(file)) {
        expect(room(target), `${file} imports ${target}`).to.not.be.oneOf(["tools", "web", "tests"]);
      }
      expect(fs.readFileSync(path.join(REPO_ROOT, file), "utf8"), file).to.not.match(/from "(esbuild|yazl)"/);
    }
  });

  it("REPO_ROOT is defined once, in lib/repo-root.ts", () => {
    const dirs = [
      "index.ts",
      "bench",
      "bootstrap",
      "build",
      "components",
      "handlers",
      "lab",
      "lib",
      "policies",
      "tests",
      "tools",
      "web",
    ];
    const defining = dirs
      .flatMap((d) => (d.endsWith(".ts") ? [d] : sourceFiles(d)))
      .filter((f) => /\bREPO_ROOT\s*=/.test(fs.readFileSync(path.join(REPO_ROOT, f), "utf8")));
    expect(defining).to.deep.equal(["lib/repo-root.ts"]);
  });

  it("nothing bundled (handlers/, lib/, web/src/) imports lib/repo-root", () => {
    for (const file of [...sourceFiles("handlers"), ...sourceFiles("lib"), ...sourceFiles("web/src")]) {
      expect(localImports(file), file).to.not.include("lib/repo-root");
    }
  });
});
