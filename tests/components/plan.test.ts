import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { REPO_ROOT } from "../../lib/repo-root";
import { REQUIRED_TAG_KEYS } from "../../lib/tags";
import { evaluatePlan, isBlocking } from "../../tools/plan/policy-engine/offline";
import { formatPlanTree, MOCKED_NOTICE } from "../../tools/plan/print";
import { type PlanResult, planProgram } from "../../tools/plan/run-program";
import { loadStackConfig } from "../../tools/plan/stack-config";
import type { PlannedResource } from "../../tools/plan/types";
import { STACK_OUTPUTS } from "../../tools/resume";
import { danglingReferences, parseDashboard, stackNames } from "./dashboard-check";
import { Resources, T } from "./helpers";

const run = promisify(execFile);

/** The resources of one kind below `component`, whose inputs reference `id` in `key`. */
function siblingsReferencing(res: Resources, component: PlannedResource, type: string, key: string, id: unknown) {
  return res.under(component, type).filter((r) => r.inputs[key] === id);
}

describe("offline plan (planProgram)", function () {
  this.timeout(120_000); // the program bundles both handlers with esbuild

  let dev: PlanResult;
  let prod: PlanResult;
  before(async () => {
    dev = await planProgram({ stack: "dev" });
    prod = await planProgram({ stack: "prod" });
  });

  it("plans the dev stack with the acceptance list under the MediaPipeline component", () => {
    const res = new Resources(dev.resources);
    const pipeline = res.one(T.pipeline);
    expect(dev.mocked).to.equal(true);
    expect(dev.config["media-pipeline:lab"]).to.equal("true");

    // An S3 bucket with lifecycle, public access block, encryption and notification.
    const notified = res
      .under(pipeline, T.bucket)
      .filter((b) =>
        [T.lifecycle, T.publicAccessBlock, T.encryption, T.notification].every(
          (t) => siblingsReferencing(res, res.byUrn(b.parent) as PlannedResource, t, "bucket", b.id).length === 1,
        ),
      );
    expect(notified.map((b) => b.name)).to.deep.equal(["mp-dev-ingest"]);

    // The metadata table, and the stats table of GET /stats (MetadataStats).
    expect(
      res
        .under(pipeline, T.table)
        .map((t) => t.name)
        .sort(),
    ).to.deep.equal(["mp-dev-stats-table", "mp-dev-table"]);
    const layers = res.under(pipeline, T.layer);
    expect(layers).to.have.length(1);

    // The extractor function with its queue, dead-letter queue and event source mapping.
    const extractor = res.one(T.extractor);
    expect(res.ancestorsOf(extractor)[0]?.urn).to.equal(pipeline.urn);
    const fn = res.oneUnder(extractor, T.function);
    expect(fn.inputs.layers).to.deep.equal([layers[0]?.state.arn]);
    const esm = res.oneUnder(extractor, T.eventSourceMapping);
    expect(esm.inputs.functionName).to.equal(fn.state.arn);
    const queue = res
      .under(extractor, T.queue)
      .find((q) => q.state.arn === esm.inputs.eventSourceArn) as PlannedResource;
    const dlqArn = JSON.parse(queue.inputs.redrivePolicy as string).deadLetterTargetArn;
    expect(res.under(extractor, T.queue).map((q) => q.state.arn)).to.include(dlqArn);

    // An HTTP API with a JWT authorizer and a Cognito user pool.
    const api = res.one(T.api);
    expect(res.under(api, T.httpApi)).to.have.length(1);
    const authorizer = res.oneUnder(api, T.authorizer);
    const pool = res.oneUnder(api, T.userPool);
    expect(authorizer.inputs.authorizerType).to.equal("JWT");
    expect((authorizer.inputs.jwtConfiguration as { issuer: string }).issuer).to.contain(pool.id);

    // A CloudFront distribution with origin access control.
    const cdn = res.oneUnder(pipeline, T.distribution);
    const oac = res.oneUnder(pipeline, T.originAccessControl);
    expect((cdn.inputs.origins as { originAccessControlId: string }[])[0]?.originAccessControlId).to.equal(oac.id);

    expect(Object.keys(dev.outputs)).to.have.members([
      "uploadBucket",
      "apiUrl",
      "dashboardUrl",
      "tableName",
      "userPoolId",
      // tools/resume.ts STACK_OUTPUTS, and the observability and cost guard outputs.
      "extractorFunctionName",
      "backfillFunctionName",
      // tools/reconcile/main.ts (--enqueue)
      "extractorQueueUrl",
      "apiFunctionName",
      "extractorEventSourceMappingUuid",
      "alarmTopicArn",
      "budgetTopicArn",
      "dashboardName",
      // tools/backfill.ts BACKFILL_STACK_OUTPUTS
      "backfillStateMachineArn",
    ]);
  });

  it("plans the backfill for dev: a STANDARD state machine with its role, exported as backfillStateMachineArn", () => {
    const res = new Resources(dev.resources);
    const backfill = res.one(T.backfill);
    expect(res.ancestorsOf(backfill)[0]?.urn).to.equal(res.one(T.pipeline).urn);
    const sm = res.oneUnder(backfill, T.stateMachine);
    expect(sm.inputs.type).to.equal("STANDARD");
    const role = res.oneUnder(backfill, T.role, "-sfn-role");
    expect(sm.inputs.roleArn).to.equal(role.state.arn);
    expect(res.oneUnder(backfill, T.rolePolicy, "-sfn-policy").inputs.role).to.equal(role.state.name);
    expect(dev.outputs.backfillStateMachineArn).to.equal(sm.state.arn);
    const definition = JSON.parse(sm.inputs.definition as string);
    const ingest = res.oneUnder(res.one(T.mediaBucket, "-ingest"), T.bucket).state.bucket;
    expect(definition.States.Backfill.ItemReader.Parameters.Bucket).to.equal(ingest);
    expect(definition.States.Backfill.MaxConcurrency).to.equal(
      Number(dev.config["media-pipeline:backfillMaxConcurrency"]),
    );
  });

  it("plans the observability and cost guard acceptance list for dev (dashboard, alarms, budget, kill switch, filters)", () => {
    const res = new Resources(dev.resources);
    const pipeline = res.one(T.pipeline);
    const names = stackNames(res);

    // A CloudWatch dashboard whose metrics all name resources of the stack.
    const dashboard = res.oneUnder(pipeline, T.cloudwatchDashboard);
    expect(dashboard.inputs.dashboardName).to.equal(dev.outputs.dashboardName);
    expect(danglingReferences(parseDashboard(dashboard), names, "us-east-1")).to.deep.equal([]);

    // Alarms on every function, the queue, the dead-letter queue, the table and the API, to one topic.
    const topicArn = dev.outputs.alarmTopicArn;
    const alarms = res.ofType(T.metricAlarm);
    const dims = (a: PlannedResource) => [
      a.inputs.dimensions as Record<string, string> | undefined,
      ...((a.inputs.metricQueries as { metric?: { dimensions: Record<string, string> } }[] | undefined) ?? []).map(
        (q) => q.metric?.dimensions,
      ),
    ];
    const alarmed = (key: string, value: unknown) => alarms.filter((a) => dims(a).some((d) => d?.[key] === value));
    const functions = res.ofType(T.function);
    expect(functions.map((f) => f.name).sort()).to.deep.equal([
      "mp-dev-api",
      "mp-dev-backfill",
      "mp-dev-cost-guard-kill-switch",
      "mp-dev-extractor",
      "mp-dev-stats",
    ]);
    for (const fn of functions) expect(alarmed("FunctionName", fn.state.name), fn.name).to.have.length(3);
    for (const q of res.ofType(T.queue)) expect(alarmed("QueueName", q.state.name), q.name).to.have.length(1);
    expect(alarmed("TableName", res.one(T.table, "dev-table").state.name)).to.have.length(2);
    expect(alarmed("ApiId", res.one(T.httpApi).id)).to.have.length(3);
    for (const a of alarms) expect(a.inputs.alarmActions, a.name).to.deep.equal([topicArn]);

    // A budget with four notifications to the budget topic, and the kill switch subscribed to that topic.
    const guard = res.one(T.costGuard);
    const budget = res.oneUnder(guard, T.budget);
    const budgetTopic = res.oneUnder(guard, T.topic);
    const notifications = budget.inputs.notifications as { subscriberSnsTopicArns: string[] }[];
    expect(notifications).to.have.length(4);
    for (const n of notifications) expect(n.subscriberSnsTopicArns).to.deep.equal([budgetTopic.state.arn]);
    expect(budget.inputs.limitAmount).to.equal(dev.config["media-pipeline:budgetLimitUsd"]);
    const killSwitch = res.oneUnder(guard, T.function);
    // The bundle's index.js alone (its source map stays in dist/).
    expect(killSwitch.inputs.code).to.deep.include({ archive: "assets" });
    expect(Object.keys((killSwitch.inputs.code as { assets: object }).assets)).to.deep.equal(["index.js"]);
    expect(res.ofType(T.topicSubscription).filter((s) => s.inputs.topic === budgetTopic.state.arn)).to.deep.equal(
      res.under(guard, T.topicSubscription),
    );
    expect(
      res
        .ofType(T.topicSubscription)
        .some(
          (s) =>
            s.inputs.protocol === "lambda" &&
            s.inputs.topic === budgetTopic.state.arn &&
            s.inputs.endpoint === killSwitch.state.arn,
        ),
    ).to.equal(true);
    expect(
      res
        .ofType(T.permission)
        .some((p) => p.inputs.principal === "sns.amazonaws.com" && p.inputs.sourceArn === budgetTopic.state.arn),
    ).to.equal(true);

    // Metric filters on the extractor's logs.
    const extractorLogs = res.oneUnder(res.one(T.extractor), T.logGroup);
    expect(res.ofType(T.metricFilter).filter((f) => f.inputs.logGroupName === extractorLogs.state.name)).to.have.length(
      2,
    );

    // A canary in both stacks, so its first deployment is not in production: hourly in dev.
    expect(res.one(T.canary).inputs.schedule).to.deep.include({ expression: "rate(60 minutes)" });
    expect(new Resources(prod.resources).ofType(T.canary)).to.have.length(1);
  });

  it("exports what npm run resume reads, with the values of the planned resources", () => {
    const res = new Resources(dev.resources);
    expect(dev.outputs).to.deep.include({
      [STACK_OUTPUTS.extractorFunction]: res.oneUnder(res.one(T.extractor), T.function).state.name,
      [STACK_OUTPUTS.apiFunction]: res.oneUnder(res.one(T.api), T.function).state.name,
      [STACK_OUTPUTS.eventSourceMapping]: res.one(T.eventSourceMapping, "-extractor-source").state.uuid,
    });
  });

  it("passes every mandatory policy in dev and prod, with budget-required mandatory", async () => {
    for (const plan of [dev, prod]) {
      const { violations, config } = await evaluatePlan(plan.resources, {
        stack: plan.stack,
        stackConfig: plan.config,
      });
      expect(config["budget-required"]?.enforcementLevel, plan.stack).to.equal("mandatory");
      expect(violations.filter(isBlocking), plan.stack).to.deep.equal([]);
    }
  });

  it("tags every AWS resource through one provider whose default tags carry the required keys", () => {
    const res = new Resources(dev.resources);
    const provider = res.one(T.provider);
    const defaultTags = JSON.parse(provider.inputs.defaultTags as string) as { tags: Record<string, string> };
    expect(Object.keys(defaultTags.tags)).to.have.members([...REQUIRED_TAG_KEYS]);
    expect(defaultTags.tags).to.include({ Project: "media-pipeline", Environment: "dev" });
    for (const r of res.all.filter((r) => r.custom && r.type.startsWith("aws:"))) {
      expect(r.provider, `${r.type} ${r.name}`).to.equal(provider.urn);
    }
  });

  it("plans prod with deletion protection and point-in-time recovery on, and nothing force-destroyed", () => {
    const res = new Resources(prod.resources);
    const table = res.one(T.table, "prod-table");
    expect(table.inputs.deletionProtectionEnabled).to.equal(true);
    expect(table.inputs.pointInTimeRecovery).to.deep.equal({ enabled: true });
    expect(res.one(T.userPool).inputs.deletionProtection).to.equal("ACTIVE");
    const buckets = res.ofType(T.bucket);
    expect(buckets.length).to.be.at.least(3);
    for (const b of buckets) expect(b.inputs.forceDestroy, b.name).to.equal(false);
    // Data is kept; only the health canary's artifacts (screenshots, reports) expire, after 31 days.
    const canaryArtifacts = res.under(res.one(T.healthCanary), T.lifecycle);
    expect(canaryArtifacts).to.have.length(1);
    for (const l of res.ofType(T.lifecycle).filter((l) => !canaryArtifacts.includes(l))) {
      expect((l.inputs.rules as { id: string }[]).map((r) => r.id)).to.not.include("expire-objects");
    }
    expect(res.ofType(T.versioning)).to.have.length(1);
  });

  it("issue 13: dev deploys on a new account and destroys to nothing; prod state is protected and retained", () => {
    for (const [plan, lab] of [
      [dev, true],
      [prod, false],
    ] as const) {
      const res = new Resources(plan.resources);
      const what = plan.stack;
      // No reservation anywhere (a reservation fails CreateFunction on a quota-10 account);
      // the SQS poller is capped instead.
      for (const fn of res.ofType(T.function)) {
        expect([undefined, -1], `${what} ${fn.name}`).to.include(fn.inputs.reservedConcurrentExecutions);
        const env = (fn.inputs.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {};
        expect(env, `${what} ${fn.name}: no source-map flag`).to.not.have.property("NODE_OPTIONS");
        expect(env, `${what} ${fn.name}: no secret value`).to.not.have.property("CURSOR_SECRET");
      }
      const esm = res.one(T.eventSourceMapping, "-extractor-source");
      expect(esm.inputs.scalingConfig, what).to.deep.equal({ maximumConcurrency: lab ? 2 : 20 });
      expect(esm.options?.ignoreChanges, what).to.deep.equal(["enabled"]);
      expect(res.one(T.queue, "extractor-queue").inputs.messageRetentionSeconds).to.equal(14 * 24 * 3600);
      const events = (res.one(T.notification).inputs.queues as { events: string[] }[])[0]?.events;
      expect(events, what).to.include("s3:LifecycleExpiration:*");
      expect(res.one(T.layer).inputs.skipDestroy, what).to.equal(!lab);
      expect(res.one("aws:ssm/parameter:Parameter").inputs.type).to.equal("SecureString");

      const stateful = [
        res.one(T.table, `mp-${what}-table`),
        res.one(T.userPool),
        res.one(T.bucket, `mp-${what}-ingest`),
        res.one(T.bucket, `mp-${what}-metadata`),
      ];
      for (const r of stateful) {
        expect(r.options, `${what} ${r.name}`).to.deep.include({ protect: !lab, retainOnDelete: !lab });
      }
      if (lab) {
        expect(res.all.filter((r) => r.options?.protect || r.options?.retainOnDelete).map((r) => r.name)).to.deep.equal(
          [],
        );
      }
      const provider = res.one(T.provider);
      // A provider's object inputs travel as JSON strings.
      expect(JSON.parse(provider.inputs.ignoreTags as string)).to.deep.equal({ keyPrefixes: ["media-pipeline:"] });
      if (!lab) expect(JSON.parse(provider.inputs.allowedAccountIds as string)).to.deep.equal(["123456789012"]);
    }
    expect(prod.config["media-pipeline:budgetScope"]).to.equal("stack");
  });

  it("prints a tree that says it is a mocked plan", () => {
    const text = formatPlanTree(dev);
    expect(text.startsWith(MOCKED_NOTICE)).to.equal(true);
    expect(text).to.match(/└─ media-pipeline:index:MediaPipeline {2}mp-dev/);
    expect(text).to.contain("aws:lambda/eventSourceMapping:EventSourceMapping");
  });
});

describe("stack configuration for the plan", () => {
  function project(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-project-"));
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
  }
  const projectYaml = [
    "name: demo",
    "runtime: nodejs",
    "config:",
    "  size:",
    "    type: integer",
    "    default: 3",
    "  owner:",
    "    type: string",
    "  tags:",
    "    type: array",
    "    items: { type: string }",
    "    default: []",
  ].join("\n");

  it("merges the stack file over the declared defaults, namespacing keys as the CLI does", () => {
    const dir = project({
      "Pulumi.yaml": projectYaml,
      "Pulumi.dev.yaml":
        "config:\n  aws:region: eu-west-1\n  demo:owner: me\n  demo:tags: [a, b]\n  demo:token:\n    secure: AAAA\n",
    });
    const c = loadStackConfig(dir, "dev");
    expect(c.project).to.equal("demo");
    expect(c.config).to.include({
      "demo:size": "3",
      "demo:owner": "me",
      "demo:tags": '["a","b"]',
      "aws:region": "eu-west-1",
    });
    expect(c.secretKeys).to.deep.equal(["demo:token"]);
  });

  it("fails like the CLI on a missing required value or a wrong type", () => {
    const missing = project({ "Pulumi.yaml": projectYaml, "Pulumi.dev.yaml": "config: {}\n" });
    expect(() => loadStackConfig(missing, "dev")).to.throw(/Stack 'dev' is missing configuration value 'demo:owner'/);
    const wrong = project({
      "Pulumi.yaml": projectYaml,
      "Pulumi.dev.yaml": "config:\n  demo:owner: me\n  demo:size: big\n",
    });
    expect(() => loadStackConfig(wrong, "dev")).to.throw(/demo:size must be of type integer/);
    expect(() => loadStackConfig(wrong, "nope")).to.throw(/no stack file/);
  });

  it("declares every key the program reads, with the stacks' values of the right type", () => {
    for (const stack of ["dev", "prod"]) {
      const c = loadStackConfig(REPO_ROOT, stack).config;
      expect(c["aws:region"], stack).to.be.a("string");
      expect(c["media-pipeline:lab"], stack).to.equal(stack === "dev" ? "true" : "false");
    }
  });
});

describe("npm run plan (CLI)", function () {
  this.timeout(120_000);

  it("prints one JSON object with resources on stdout and the mocked-plan notice on stderr", async () => {
    const tsx = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
    const program = path.join(__dirname, "fixtures", "tiny-program.ts");
    // Exit code 3 means the policy step (tools/plan/policy-engine/offline.ts) found a mandatory violation, which
    // this one bare bucket may well have; 1 would mean the plan itself failed, 2 a usage error.
    const { stdout, stderr, code } = await run(
      tsx,
      ["tools/plan/main.ts", "--stack", "dev", "--program", program, "--json"],
      {
        cwd: REPO_ROOT,
      },
    ).then(
      (r) => ({ ...r, code: 0 }),
      (e: { stdout: string; stderr: string; code: number }) => e,
    );
    expect(code, stderr).to.be.oneOf([0, 3]);
    expect(stderr).to.contain(MOCKED_NOTICE);
    const plan = JSON.parse(stdout) as PlanResult;
    expect(plan.stack).to.equal("dev");
    const bucket = plan.resources.find((r) => r.type === T.bucket);
    expect(bucket).to.deep.include({ name: "tiny", custom: true });
    expect(bucket?.inputs).to.deep.equal({ forceDestroy: true });
    // The options that decide what a deploy may do to it, beside its inputs.
    expect(bucket?.options).to.deep.equal({ protect: true, retainOnDelete: true, ignoreChanges: ["tags"] });
    expect(plan.outputs.bucketName).to.match(/^tiny-[0-9a-f]{7}$/);
  });

  it("exits 1 with the cause when the program fails", async () => {
    const tsx = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
    const err = await run(tsx, ["tools/plan/main.ts", "--stack", "dev", "--program", "/nonexistent/program.ts"], {
      cwd: REPO_ROOT,
    }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).to.equal(1);
    expect(err?.stderr).to.contain("plan: cannot find the program /nonexistent/program.ts");
    expect(err?.stderr.trim().split("\n"), "one line, no stack").to.have.length(1);
  });
});
