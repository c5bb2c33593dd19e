/**
 * Acceptance: `npm run plan -- --program tests/policies/fixtures/naive-program.ts` (a program a
 * new user would write) is refused with a violation from each policy concerned; the same CLI
 * passes the dev stack. The CLI runs as `npm run plan` runs it: tsx on tools/plan/main.ts.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { expect } from "chai";
import { EXIT_MANDATORY_VIOLATION } from "../../tools/plan/main";
import type { PlanViolation } from "../../tools/plan/types";

const ROOT = path.resolve(__dirname, "..", "..");
const TSX_CLI = require.resolve("tsx/cli", { paths: [ROOT] });
const NAIVE = "tests/policies/fixtures/naive-program.ts";

function plan(...args: string[]) {
  const run = spawnSync(process.execPath, [TSX_CLI, "tools/plan/main.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 170_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("policies: `npm run plan` verdicts", function () {
  this.timeout(360_000);

  it("refuses the naive program with a violation from every policy concerned (--json)", () => {
    const run = plan("--program", NAIVE, "--json");
    expect(run.code, run.stderr).to.equal(EXIT_MANDATORY_VIOLATION);
    const out = JSON.parse(run.stdout) as { violations: PlanViolation[]; resources: unknown[] };
    expect(out.resources.length).to.be.greaterThan(5);
    const byPolicy = (name: string) => out.violations.filter((v) => v.policy === name);
    for (const v of out.violations) {
      expect(Object.keys(v).sort()).to.satisfy(
        (keys: string[]) => keys.join() === "level,message,policy,resource" || keys.join() === "level,message,policy",
      );
    }
    const urn = (type: string, name: string) => `urn:pulumi:dev::media-pipeline::${type}::${name}`;

    expect(byPolicy("required-tags").map((v) => v.resource)).to.include(urn("aws:s3/bucket:Bucket", "uploads"));
    expect(byPolicy("s3-lifecycle").map((v) => [v.resource, v.level])).to.deep.equal([
      [urn("aws:s3/bucket:Bucket", "uploads"), "mandatory"],
    ]);
    expect(byPolicy("s3-secure").map((v) => v.message.split(";")[0])).to.deep.equal([
      "bucket uploads (aws:s3/bucket:Bucket) has no public access block",
      "bucket uploads (aws:s3/bucket:Bucket) has no explicit server-side encryption configuration (the implicit SSE-S3 default is not accepted)",
      "bucket uploads (aws:s3/bucket:Bucket) does not deny requests made without TLS",
    ]);
    expect(byPolicy("ffmpeg-layer-pinned").map((v) => v.message)).to.include(
      "function probe (aws:lambda/function:Function) uses layer arn:aws:lambda:us-east-1:145266761615:layer:ffmpeg:4, " +
        "which is neither built by this stack nor in allowedLayerArns; public third-party layers are not allowed (use the " +
        "project's FfprobeLayer, or allowlist the ARN in the ffmpeg-layer-pinned policy config).",
    );
    expect(byPolicy("api-authorized").map((v) => [v.resource, v.level])).to.deep.equal([
      [urn("aws:apigatewayv2/route:Route", "probe"), "mandatory"],
    ]);
    expect(byPolicy("lambda-log-retention")).to.have.length(1);
    // budget-required is a stack policy: no resource. Mandatory (the CostGuard component adds the budget).
    expect(byPolicy("budget-required")).to.deep.equal([
      {
        policy: "budget-required",
        level: "mandatory",
        message:
          'the stack has no COST budget; add an aws.budgets.Budget { budgetType: "COST", limitAmount <= 25, limitUnit: "USD", ' +
          'timeUnit: "MONTHLY" } with notifications at 10% ACTUAL, 25% ACTUAL, 100% ACTUAL, 100% FORECASTED that reach a ' +
          "subscriber (email or a subscribed SNS topic).",
      },
    ]);
  });

  it("prints the violations after the tree and passes the dev stack (text)", () => {
    const naive = plan("--program", NAIVE);
    expect(naive.code, naive.stderr).to.equal(EXIT_MANDATORY_VIOLATION);
    expect(naive.stdout).to.match(
      /Policy violations \(media-pipeline-policies@[\d.]+, config policies\/config\/dev\.json\):/,
    );
    expect(naive.stdout).to.contain("  [mandatory] api-authorized  aws:apigatewayv2/route:Route::probe\n");
    expect(naive.stdout).to.contain("  [mandatory] budget-required  (stack)\n");
    expect(naive.stdout).to.match(
      /\d+ mandatory violation\(s\): `pulumi preview --policy-pack policies` would refuse this program\.\n$/,
    );

    const dev = plan("--stack", "dev");
    expect(dev.code, dev.stderr).to.equal(0);
    // Not even an advisory since the dev layer lost skipDestroy (a lab stack destroys to nothing).
    expect(dev.stdout).to.match(/\(media-pipeline-policies@[\d.]+, config policies\/config\/dev\.json\): none\.\n$/);
  });
});
