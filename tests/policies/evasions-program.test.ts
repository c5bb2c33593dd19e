/**
 * `npm run plan -- --program FILE --json` over a program that tries the escape hatches: the offline
 * plan passes `protect` to the pack as the engine does, so lab-destroyable sees it; a CloudFormation
 * stack and an open function URL are refused. The CLI runs as `npm run plan` runs it.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { expect } from "chai";
import type { PlannedResource, PlanViolation } from "../../tools/plan/types";

const ROOT = path.resolve(__dirname, "..", "..");
const TSX_CLI = require.resolve("tsx/cli", { paths: [ROOT] });

describe("policies: `npm run plan -- --program` over evasions", function () {
  this.timeout(120_000);

  it("reports protect (lab-destroyable), the CloudFormation stack and the open function URL, with exit code 3", () => {
    const run = spawnSync(
      process.execPath,
      [TSX_CLI, "tools/plan/main.ts", "--program", "tests/policies/fixtures/evasions-program.ts", "--json"],
      { cwd: ROOT, encoding: "utf8", timeout: 120_000 },
    );
    expect(run.status, run.stderr).to.equal(3); // plan: 3 = a mandatory policy is violated (tools/cli.ts)
    const out = JSON.parse(run.stdout) as { violations: PlanViolation[]; resources: PlannedResource[] };
    const queue = out.resources.find((r) => r.name === "kept");
    expect(queue?.options?.protect).to.equal(true);
    const mandatory = out.violations.filter((v) => v.level === "mandatory");
    const urn = (type: string, name: string) => `urn:pulumi:dev::media-pipeline::${type}::${name}`;
    expect(mandatory.filter((v) => v.policy === "lab-destroyable")).to.deep.equal([
      {
        policy: "lab-destroyable",
        resource: urn("aws:sqs/queue:Queue", "kept"),
        level: "mandatory",
        message:
          "kept (aws:sqs/queue:Queue) is protected (protect: true), so `pulumi destroy` fails in this lab stack; remove protect.",
      },
    ]);
    expect(mandatory.filter((v) => v.policy === "no-escape-hatches").map((v) => v.resource)).to.deep.equal([
      urn("aws:cloudformation/stack:Stack", "sneaky"),
    ]);
    expect(mandatory.filter((v) => v.policy === "api-authorized").map((v) => v.resource)).to.deep.equal([
      urn("aws:lambda/functionUrl:FunctionUrl", "open-url"),
    ]);
  });
});
