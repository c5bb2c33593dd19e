/**
 * The dev and prod stacks, run under Pulumi's mocks (tools/plan planProgram), pass every
 * mandatory policy with their policy config files; and the checks really bite on those plans:
 * breaking one thing in a planned stack makes the policy concerned report it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { REPO_ROOT } from "../../lib/repo-root";
import { evaluatePolicies, isBlocking } from "../../tools/plan/policy-engine/offline";
import { planProgram } from "../../tools/plan/run-program";
import type { PlannedResource, PlanViolation } from "../../tools/plan/types";

type Plan = Awaited<ReturnType<typeof planProgram>>;

const plans = new Map<string, Plan>();
async function plan(stack: string): Promise<Plan> {
  if (!plans.has(stack)) plans.set(stack, await planProgram({ stack }));
  return plans.get(stack) as Plan;
}

/** The plan's resources, with the ones matching `match` changed by `edit` (or dropped when it returns undefined). */
function edited(
  resources: PlannedResource[],
  match: (r: PlannedResource) => boolean,
  edit: (r: PlannedResource) => PlannedResource | undefined,
): PlannedResource[] {
  let hits = 0;
  const out = resources.flatMap((r) => {
    if (!match(r)) return [r];
    hits++;
    const e = edit(structuredClone(r));
    return e ? [e] : [];
  });
  expect(hits, "the edit matched no resource of the plan").to.be.greaterThan(0);
  return out;
}

const withBoth = (r: PlannedResource, change: Record<string, unknown>): PlannedResource => ({
  ...r,
  inputs: { ...r.inputs, ...change },
  state: { ...r.state, ...change },
});

function blocking(violations: PlanViolation[]): string[] {
  return violations.filter(isBlocking).map((v) => `${v.policy}: ${v.message}`);
}

describe("policies: the dev and prod stacks under mocks", function () {
  this.timeout(60_000);

  for (const stack of ["dev", "prod"]) {
    it(`${stack}: no mandatory violation`, async () => {
      const p = await plan(stack);
      expect(p.resources.filter((r) => r.custom).length).to.be.greaterThan(40);
      const violations = await evaluatePolicies(p.resources, { stack, stackConfig: p.config });
      expect(blocking(violations)).to.deep.equal([]);
      // Nothing remains, not even an advisory: the dev layer no longer has skipDestroy (a lab
      // stack destroys to nothing).
      const advisories = violations.map((v) => v.policy).sort();
      expect(advisories).to.deep.equal([]);
    });
  }

  it("dev: budget-required is mandatory and the CostGuard's budget satisfies it; without it the plan is refused", async () => {
    const p = await plan("dev");
    const violations = await evaluatePolicies(p.resources, { stack: "dev", stackConfig: p.config });
    expect(violations.filter((v) => v.policy === "budget-required")).to.deep.equal([]);
    const withoutBudget = edited(
      p.resources,
      (r) => r.type === "aws:budgets/budget:Budget",
      () => undefined,
    );
    const refused = await evaluatePolicies(withoutBudget, { stack: "dev", stackConfig: p.config });
    expect(refused.filter((v) => v.policy === "budget-required").map((v) => v.level)).to.deep.equal(["mandatory"]);
  });

  it("dev: a budget whose topic nobody subscribes to reaches no one and fails budget-required", async () => {
    const p = await plan("dev");
    const resources = edited(
      p.resources,
      (r) => r.type === "aws:sns/topicSubscription:TopicSubscription" && r.name.startsWith("mp-dev-cost-guard"),
      () => undefined,
    );
    const violations = await evaluatePolicies(resources, { stack: "dev", stackConfig: p.config });
    expect(blocking(violations).filter((m) => m.startsWith("budget-required"))).to.have.length(1);
    expect(blocking(violations).join("\n")).to.contain("reaches no subscriber");
  });

  it("dev: a bucket without its public access block fails s3-secure", async () => {
    const p = await plan("dev");
    const resources = edited(
      p.resources,
      (r) => r.name === "mp-dev-ingest-public-access",
      () => undefined,
    );
    const violations = await evaluatePolicies(resources, { stack: "dev", stackConfig: p.config });
    expect(blocking(violations)).to.deep.equal([
      "s3-secure: bucket mp-dev-ingest (aws:s3/bucket:Bucket) has no public access block; add an aws.s3.BucketPublicAccessBlock " +
        "for it with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true (CloudFront " +
        "with origin access control still works).",
    ]);
  });

  it("dev: a provider without the Owner default tag fails required-tags on every taggable resource", async () => {
    const p = await plan("dev");
    const resources = edited(
      p.resources,
      (r) => r.type === "pulumi:providers:aws",
      (r) => {
        const tags = JSON.parse(r.inputs.defaultTags as string).tags as Record<string, string>;
        delete tags.Owner;
        return withBoth(r, { defaultTags: JSON.stringify({ tags }) });
      },
    );
    const violations = (await evaluatePolicies(resources, { stack: "dev", stackConfig: p.config })).filter(
      (v) => v.policy === "required-tags",
    );
    expect(violations.length).to.be.greaterThan(10);
    expect(
      violations.every((v) => v.level === "mandatory" && v.message.includes("missing required tags: Owner.")),
    ).to.equal(true);
  });

  it("dev: an extractor on a public layer, an open route, a protected table each fail their policy", async () => {
    const p = await plan("dev");
    let resources = edited(
      p.resources,
      (r) => r.type === "aws:lambda/function:Function" && r.name === "mp-dev-extractor",
      (r) => withBoth(r, { layers: ["arn:aws:lambda:us-east-1:145266761615:layer:ffmpeg:4"] }),
    );
    resources = edited(
      resources,
      (r) => r.type === "aws:apigatewayv2/route:Route" && r.inputs.routeKey === "GET /files",
      (r) => withBoth(r, { authorizationType: "NONE", authorizerId: undefined }),
    );
    resources = edited(
      resources,
      (r) => r.type === "aws:dynamodb/table:Table" && r.name === "mp-dev-table",
      (r) => withBoth(r, { deletionProtectionEnabled: true }),
    );
    const violations = await evaluatePolicies(resources, { stack: "dev", stackConfig: p.config });
    expect(violations.filter(isBlocking).map((v) => v.policy)).to.have.members([
      "ffmpeg-layer-pinned",
      "ffmpeg-layer-pinned",
      "api-authorized",
      "lab-destroyable",
    ]);
  });

  it("prod: a table without point-in-time recovery, and a log group kept too long, fail", async () => {
    const p = await plan("prod");
    let resources = edited(
      p.resources,
      (r) => r.type === "aws:dynamodb/table:Table" && r.name === "mp-prod-table",
      (r) => withBoth(r, { pointInTimeRecovery: { enabled: false } }),
    );
    resources = edited(
      resources,
      (r) => r.type === "aws:cloudwatch/logGroup:LogGroup" && r.name === "mp-prod-extractor-logs",
      (r) => withBoth(r, { retentionInDays: 0 }),
    );
    const violations = await evaluatePolicies(resources, { stack: "prod", stackConfig: p.config });
    expect(blocking(violations)).to.deep.equal([
      "lab-destroyable: table mp-prod-table (aws:dynamodb/table:Table) has no point-in-time recovery in this production " +
        "stack (the stack's config media-pipeline:lab=false); set pointInTimeRecovery: { enabled: true }.",
      "lambda-log-retention: log group mp-prod-extractor-logs (aws:cloudwatch/logGroup:LogGroup) of function " +
        "mp-prod-extractor never expires; set retentionInDays <= 365.",
    ]);
  });

  // Issue 16: any stack name works. A review stack named after a pull request, made from the dev
  // stack file (lab: true), has no policies/config/<stack>.json: the pack follows its own config.
  it("a lab stack named `pr-42` with no policy config file of its own passes like dev", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "policy-review-stack-"));
    try {
      fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(root, "Pulumi.yaml"));
      fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), path.join(root, "Pulumi.pr-42.yaml"));
      const p = await planProgram({ stack: "pr-42", projectRoot: root, program: path.join(REPO_ROOT, "index.ts") });
      const evaluation = await evaluatePolicies(p.resources, { stack: "pr-42", stackConfig: p.config });
      expect(blocking(evaluation)).to.deep.equal([]);
      expect(evaluation.map((v) => v.policy)).to.deep.equal([]); // a lab layer no longer keeps old versions (issue 13)
      // Judged as production (its config saying lab: false), the same resources fail lab-destroyable.
      const asProd = await evaluatePolicies(p.resources, {
        stack: "pr-42",
        stackConfig: { ...p.config, "media-pipeline:lab": "false" },
      });
      expect(
        blocking(asProd).some((m) =>
          m.includes("in this production stack (the stack's config media-pipeline:lab=false)"),
        ),
      ).to.equal(true);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
