/**
 * The lab's process bundles (build/process-bundle.ts): built once, rebuilt when an input
 * changes, and runnable with plain node from .cache/lab-bundles/ with REPO_ROOT still the
 * repository (lib/repo-root.ts).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { expect } from "chai";
import { bundledEntry, LAB_BUNDLE_DIR } from "../../build/process-bundle";
import { REPO_ROOT } from "../../lib/repo-root";

describe("lab process bundles", function () {
  this.timeout(60_000);
  // Inside the repository (esbuild resolves from REPO_ROOT), in an ignored folder.
  const dir = path.join(REPO_ROOT, ".cache", `process-bundle-test-${process.pid}`);
  const entry = path.join(dir, "entry.ts");
  const part = path.join(dir, "part.ts");

  before(async () => {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(part, 'export const word: string = "first";\n');
    await fs.writeFile(
      entry,
      [
        'import { REPO_ROOT } from "../../lib/repo-root";',
        'import { word } from "./part";',
        "process.stdout.write(JSON.stringify({ root: REPO_ROOT, word }));",
        "",
      ].join("\n"),
    );
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    for (const f of await fs.readdir(LAB_BUNDLE_DIR).catch(() => [] as string[])) {
      if (f.startsWith("entry-") || f.includes("process-bundle-test-")) await fs.rm(path.join(LAB_BUNDLE_DIR, f));
    }
  });

  const run = (file: string) => JSON.parse(execFileSync(process.execPath, [file], { encoding: "utf8" }));

  it("runs with plain node from .cache/lab-bundles/, and REPO_ROOT there is still the repository", async () => {
    const file = await bundledEntry(path.relative(REPO_ROOT, entry));
    expect(path.dirname(file)).to.equal(LAB_BUNDLE_DIR);
    expect(run(file)).to.deep.equal({ root: REPO_ROOT, word: "first" });
  });

  it("keeps the bundle while its inputs are unchanged, and rebuilds it when one changes", async () => {
    const first = await bundledEntry(path.relative(REPO_ROOT, entry));
    const built = (await fs.stat(first)).mtimeMs;
    expect(await bundledEntry(path.relative(REPO_ROOT, entry))).to.equal(first);
    expect((await fs.stat(first)).mtimeMs).to.equal(built);

    await fs.writeFile(part, 'export const word: string = "second";\n');
    const second = await bundledEntry(path.relative(REPO_ROOT, entry));
    expect(second).to.not.equal(first);
    expect(run(second).word).to.equal("second");
  });

  it("builds again when an input was saved during the build (it may hold the old code or the new)", async () => {
    await fs.writeFile(part, 'export const word: string = "third";\n');
    // An mtime at or after the build's start is what a save during the build leaves.
    const later = new Date(Date.now() + 60_000);
    await fs.utimes(part, later, later);
    await bundledEntry(path.relative(REPO_ROOT, entry));
    const record = (await fs.readdir(LAB_BUNDLE_DIR)).find(
      (f) => f.includes("process-bundle-test-") && f.endsWith(".json"),
    );
    const recordFile = path.join(LAB_BUNDLE_DIR, record as string);
    const first = (await fs.stat(recordFile)).mtimeMs;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await bundledEntry(path.relative(REPO_ROOT, entry));
    expect((await fs.stat(recordFile)).mtimeMs, "the record was written again").to.be.above(first);
  });

  it("fails with esbuild's error when the entry does not compile", async () => {
    await fs.writeFile(part, "export const word: string = ;\n");
    const err = await bundledEntry(path.relative(REPO_ROOT, entry)).catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.match(/Unexpected|Expected/);
  });
});
