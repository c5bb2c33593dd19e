/**
 * The rooms of the repository and what may import what (issue 11; docs/architecture.md).
 * Walks the source tree, reads every file's imports (static, `export ... from`, `import()`,
 * `require()`, type-only ones too) with the TypeScript compiler's pre-processor, and fails on:
 *
 *   - a file outside tests/ importing from tests/ (test code is not shipped, and tools must
 *     not depend on it: shared fixtures live in media/);
 *   - a file in policies/ importing from tools/ (the pack is the top of its own stack);
 *   - a file in components/ importing from handlers/, tools/, web/ or tests/ (a Pulumi
 *     component builds infrastructure from lib/ and build/, not from Lambda or CLI code).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import ts from "typescript";
import { REPO_ROOT } from "../../lib/repo-root";

interface SourceFile {
  /** Path from the repository root, with "/". */
  file: string;
  text: string;
}

interface Violation {
  file: string;
  /** The specifier as written. */
  imports: string;
  /** The rule it breaks. */
  rule: string;
}

const RULES: { rule: string; applies: (fromRoom: string) => boolean; forbidden: Set<string> }[] = [
  { rule: "nothing outside tests/ imports tests/", applies: (r) => r !== "tests", forbidden: new Set(["tests"]) },
  { rule: "policies/ imports nothing from tools/", applies: (r) => r === "policies", forbidden: new Set(["tools"]) },
  {
    rule: "components/ imports nothing from handlers/, tools/, web/ or tests/",
    applies: (r) => r === "components",
    forbidden: new Set(["handlers", "tools", "web", "tests"]),
  },
];

/** The top-level folder of a repository path ("" for a file at the root). */
function roomOf(file: string): string {
  const slash = file.indexOf("/");
  return slash < 0 ? "" : file.slice(0, slash);
}

/** Every import of `text` that breaks a rule, for a file at `file` (repository-relative). */
function violationsOf({ file, text }: SourceFile): Violation[] {
  const from = roomOf(file);
  const out: Violation[] = [];
  for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
    if (!fileName.startsWith(".")) continue; // a package or node: builtin
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), fileName));
    const to = roomOf(target);
    for (const r of RULES)
      if (r.applies(from) && r.forbidden.has(to)) out.push({ file, imports: fileName, rule: r.rule });
  }
  return out;
}

/** Folders that are not source: dependencies, caches, build output, lab data. */
const NOT_SOURCE = new Set(["node_modules", ".git", ".tools", ".lab", ".cache", "bin", "dist", "test-output"]);

function sourceFiles(dir = REPO_ROOT): SourceFile[] {
  const out: SourceFile[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (NOT_SOURCE.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(?:ts|tsx|mts|cts|js|mjs|cjs)$/.test(entry.name)) {
      out.push({ file: path.relative(REPO_ROOT, full).split(path.sep).join("/"), text: fs.readFileSync(full, "utf8") });
    }
  }
  return out;
}

describe("rooms: what may import what", () => {
  it("finds each kind of forbidden import (and lets the allowed ones be)", () => {
    const found = [
      { file: "lab/soak/media.ts", text: 'import { ensureMedia } from "../../tests/helpers/media";' },
      { file: "bench/x.ts", text: 'export { budgetText } from "../tests/kill-switch/fixtures";' },
      { file: "tools/y.ts", text: 'const m = require("../tests/helpers/media");' },
      { file: "web/build.ts", text: 'const m = await import("../tests/helpers/media");' },
      { file: "policies/offline.ts", text: 'import type { Plan } from "../tools/plan/types";' },
      { file: "components/a.ts", text: 'import type { Change } from "../handlers/extractor/process-change";' },
      { file: "components/b.ts", text: 'import { buildBundle } from "../tools/build-bundles";' },
      { file: "components/c.ts", text: 'import { buildDashboard } from "../web/build";' },
      { file: "components/d.ts", text: 'import { T } from "../tests/components/helpers";' },
      // allowed
      {
        file: "tests/unit/z.test.ts",
        text: 'import { ensureMedia } from "../../media/media";\nimport "../helpers/x";',
      },
      { file: "bench/ok.ts", text: 'import { ensureMedia } from "../media/media";\nimport { x } from "../lab/lab";' },
      { file: "components/ok.ts", text: 'import * as aws from "@pulumi/aws";\nimport { tags } from "../lib/tags";' },
      { file: "policies/ok.ts", text: 'import { x } from "./util";\nimport { y } from "../lib/naming";' },
      { file: "tools/plan/ok.ts", text: 'import { pack } from "../../policies/pack";' },
      {
        file: "lab/ok.ts",
        text: '// import { x } from "../tests/helpers/media";\nconst s = "../tests/helpers/media";',
      },
    ].flatMap(violationsOf);
    expect(found.map((v) => v.file)).to.deep.equal([
      "lab/soak/media.ts",
      "bench/x.ts",
      "tools/y.ts",
      "web/build.ts",
      "policies/offline.ts",
      "components/a.ts",
      "components/b.ts",
      "components/c.ts",
      "components/d.ts",
      "components/d.ts", // both rules: outside tests/, and components/
    ]);
  });

  it("the source tree keeps to the rules", () => {
    const files = sourceFiles();
    expect(files.map((f) => f.file)).to.include.members(["index.ts", "media/media.ts", "lab/soak/soak.ts"]);
    const violations = files.flatMap(violationsOf).map((v) => `${v.file} imports ${v.imports} (${v.rule})`);
    expect(violations, "forbidden imports").to.deep.equal([]);
  });
});
