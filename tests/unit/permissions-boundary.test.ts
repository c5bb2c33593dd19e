/**
 * A stack with media-pipeline:permissionsBoundaryArn (set by the CI workflows, docs/ci.md)
 * gives every IAM role it creates that boundary: the CI deploy roles (bootstrap/) may create
 * roles only with it. The real program (index.ts) under Pulumi's mocks, with dev's config.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { REPO_ROOT } from "../../lib/repo-root";
import { planProgram } from "../../tools/plan/run-program";

const BOUNDARY = "arn:aws:iam::123456789012:policy/mp-permissions-boundary";

describe("stack roles carry the CI permissions boundary", function () {
  this.timeout(300_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-boundary-"));
    fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const dev = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8");
    fs.writeFileSync(
      path.join(dir, "Pulumi.pr-7.yaml"),
      `${dev.trimEnd()}\n  media-pipeline:permissionsBoundaryArn: ${BOUNDARY}\n`,
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("sets permissionsBoundary on every aws.iam.Role, and only there", async () => {
    const plan = await planProgram({ stack: "pr-7", projectRoot: dir, program: path.join(REPO_ROOT, "index.ts") });
    const roles = plan.resources.filter((r) => r.type === "aws:iam/role:Role");
    expect(roles.length).to.be.greaterThan(3);
    for (const role of roles) expect(role.inputs.permissionsBoundary, role.name).to.equal(BOUNDARY);
    const others = plan.resources.filter((r) => r.type !== "aws:iam/role:Role" && r.inputs.permissionsBoundary);
    expect(others.map((r) => r.type)).to.deep.equal([]);
  });
});
