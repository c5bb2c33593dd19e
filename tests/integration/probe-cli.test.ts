/**
 * `npm run probe -- <file>...`: the document the pipeline would store, for local files.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { REPO_ROOT } from "../../lib/repo-root";
import { SCHEMA_VERSION } from "../../lib/schema";
import { ensureMedia } from "../../media/media";

const run = promisify(execFile);
const probe = (...files: string[]) =>
  run(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "tools/probe.ts"), ...files], { cwd: REPO_ROOT });

describe("probe CLI", function () {
  this.timeout(60_000);

  it("prints one document per file, as the pipeline stores it", async () => {
    const [mkv, text] = await Promise.all([ensureMedia("mkv-two-audio"), ensureMedia("text-as-mp4")]);
    const { stdout } = await probe(mkv, text);
    const docs = stdout
      .trim()
      .split(/\n(?=\{)/)
      .map((chunk) => JSON.parse(chunk));
    expect(docs).to.have.length(2);
    expect(docs[0]).to.include({ schemaVersion: SCHEMA_VERSION, status: "ok", kind: "video", key: mkv });
    expect(
      docs[0].streams.filter((s: { language?: string }) => s.language).map((s: { language: string }) => s.language),
    ).to.deep.equal(["eng", "fra"]);
    expect(docs[0].bytesRead).to.be.greaterThan(0);
    expect(docs[1]).to.include({ status: "unprocessable" });
    expect(docs[1].reason).to.match(/Invalid data/);
  });

  it("exits non-zero with a clear message for a file it cannot read", async () => {
    const missing = path.join(REPO_ROOT, "no-such-file.mp4");
    const err = await probe(missing).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).to.equal(1);
    expect(err?.stderr).to.include(`${missing}: cannot read (ENOENT)`);
  });
});
