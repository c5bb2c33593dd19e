/**
 * `npm run smoke -- --lab` against a real lab (started here, as `npm start` would): every step
 * passes, the screenshots are real PNGs, and the document is gone at the end. Then the same
 * CLI against a lab whose worker is paused: it fails at "processed" with exit 1, and says so.
 * Screenshots stay under test-output/smoke/ (CI keeps them as artifacts).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { labAccessToken } from "../../lab/auth/sign-in";
import { type Lab, startLab } from "../../lab/lab";
import { REPO_ROOT } from "../../lib/repo-root";
import { formatStep, runSmoke, type SmokeSummary, type StepResult } from "../../tools/smoke/main";
import { labTarget, NoTargetError } from "../../tools/smoke/target";

const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
const SCREENSHOTS = path.join(REPO_ROOT, "test-output", "smoke");

function smoke(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(TSX, ["tools/smoke/main.ts", ...args], { cwd: REPO_ROOT }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr }),
    );
  });
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

describe("npm run smoke -- --lab", function () {
  this.timeout(240_000);
  let workDir: string;
  let lab: Lab;

  before(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-smoke-"));
    lab = await startLab({ dir: path.join(workDir, "lab"), quiet: true });
  });
  after(async () => {
    await lab?.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("passes every step against the lab, leaves three screenshots, and the document is gone", async () => {
    fs.rmSync(SCREENSHOTS, { recursive: true, force: true });
    const r = await smoke(["--lab", "--dir", lab.dir, "--json", "--screenshots", SCREENSHOTS]);
    expect(r.code, r.stderr).to.equal(0);
    const summary = JSON.parse(r.stdout) as SmokeSummary;
    expect(summary.passed).to.equal(true);
    expect(summary.steps.map((s) => s.step)).to.deep.equal([
      "health",
      "sign in",
      "upload grant",
      "upload",
      "processed",
      "document",
      "screenshots",
      "delete",
      "document gone",
    ]);
    expect(summary.steps.every((s) => s.ok)).to.equal(true);
    // Per-step lines go to stderr with --json.
    expect(r.stderr)
      .to.match(/^ok {3}health /m)
      .and.match(/^ok {3}document gone /m);
    expect(summary.screenshots.map((f) => path.basename(f))).to.deep.equal([
      "1-signed-in.png",
      "2-file-list.png",
      "3-file-detail.png",
    ]);
    for (const file of summary.screenshots) {
      const bytes = fs.readFileSync(file);
      expect(bytes.subarray(0, 4).equals(PNG), file).to.equal(true);
      expect(bytes.length, file).to.be.greaterThan(5_000);
    }
    // The lab agrees: the object is gone, and so is its document.
    const key = summary.key as string;
    // handlers/api/uploads.ts uploadKey: uploads/<sub>/<name>-<UTC time>-<6 hex>.<ext>
    expect(key).to.match(/^uploads\/[^/]+\/smoke-[0-9a-f]{8}-\d{8}-\d{6}-[0-9a-f]{6}\.wav$/);
    const objects = await lab.s3.send(new ListObjectsV2Command({ Bucket: lab.endpoints.ingestBucket }));
    expect((objects.Contents ?? []).map((o) => o.Key)).to.not.include(key);
    const token = await labAccessToken(lab.endpoints);
    const url = `${lab.endpoints.apiUrl}/files/${key.split("/").map(encodeURIComponent).join("/")}`;
    expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).to.equal(404);
  });

  it("stops at the step that fails and says why (a paused pipeline never processes the upload)", async () => {
    await lab.control.pause("smoke test: a stalled pipeline", new Date());
    const target = labTarget(lab.dir);
    try {
      const summary = await runSmoke({ target, screenshotDir: path.join(workDir, "shots"), timeoutMs: 2_000 });
      expect(summary.passed).to.equal(false);
      const last = summary.steps.at(-1);
      expect(summary.steps.map((s) => s.step)).to.deep.equal([
        "health",
        "sign in",
        "upload grant",
        "upload",
        "processed",
      ]);
      expect(last?.ok).to.equal(false);
      expect(last?.error).to.equal("the document: not within 2 s");
      expect(formatStep(last as StepResult)).to.match(/^FAIL processed +\d+ ms {2}the document: not within 2 s$/);
    } finally {
      target.close();
      await lab.control.resume();
    }
  });

  it("without a running lab there is no target (the CLI exits 3 with this line)", () => {
    const empty = fs.mkdtempSync(path.join(workDir, "none-"));
    expect(() => labTarget(empty)).to.throw(NoTargetError, `no lab is running on ${empty}: start one with npm start`);
  });
});
