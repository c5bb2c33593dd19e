import { expect } from "chai";
import { CostGuard, type CostGuardArgs, DEFAULT_BUDGET_NOTIFICATIONS } from "../../components/cost-guard";
import { MediaPipeline } from "../../components/media-pipeline";
import { ENV, METRICS_NAMESPACE } from "../../lib/runtime-env";
import { BUDGET_DEFAULTS } from "../../policies/budget";
import { policyOf, settled, startMocks, statement, T, testCode, testPipelineArgs } from "./helpers";

const EXTRACTOR = { name: "extractor-fn", arn: "arn:aws:lambda:us-east-1:123456789012:function:extractor-fn" };
const API = { name: "api-fn", arn: "arn:aws:lambda:us-east-1:123456789012:function:api-fn" };
const MAPPING = {
  uuid: "11111111-2222-4333-a444-555555555555",
  arn: "arn:aws:lambda:us-east-1:123456789012:event-source-mapping:11111111-2222-4333-a444-555555555555",
};

function guardArgs(overrides: Partial<CostGuardArgs> = {}): CostGuardArgs {
  return {
    limitUsd: 20,
    extractorFunction: EXTRACTOR,
    apiFunction: API,
    eventSourceMapping: MAPPING,
    architecture: "arm64",
    logRetentionDays: 14,
    code: testCode("kill-switch"),
    ...overrides,
  };
}

interface Notification {
  notificationType: string;
  threshold: number;
  thresholdType: string;
  comparisonOperator: string;
  subscriberSnsTopicArns: string[];
}

describe("CostGuard", () => {
  beforeEach(startMocks);

  it("budgets the month's COST in USD with 10/25/100 % ACTUAL and 100 % FORECASTED notifications to its topic", async () => {
    new CostGuard("guard", guardArgs());
    const res = await settled();
    const topic = res.one(T.topic);
    const budget = res.one(T.budget);
    expect(budget.parent).to.equal(res.one(T.costGuard).urn);
    expect(budget.inputs).to.deep.include({
      budgetType: "COST",
      limitAmount: "20",
      limitUnit: "USD",
      timeUnit: "MONTHLY",
    });
    expect(budget.inputs.costFilters ?? []).to.deep.equal([]);
    const notifications = budget.inputs.notifications as Notification[];
    expect(notifications).to.have.length(4);
    expect(notifications).to.deep.equal(
      [
        [10, "ACTUAL"],
        [25, "ACTUAL"],
        [100, "ACTUAL"],
        [100, "FORECASTED"],
      ].map(([threshold, notificationType]) => ({
        notificationType,
        threshold,
        thresholdType: "PERCENTAGE",
        comparisonOperator: "GREATER_THAN",
        subscriberSnsTopicArns: [topic.state.arn],
      })),
    );
    // The same thresholds the budget-required policy asks for by default.
    expect(
      DEFAULT_BUDGET_NOTIFICATIONS.map((n) => ({
        threshold: n.thresholdPercent,
        notificationType: n.notificationType,
      })),
    ).to.deep.equal(BUDGET_DEFAULTS.thresholds);
    expect(budget.dependencies, "created once Budgets may publish").to.include(res.one(T.topicPolicy).urn);
  });

  it("lets AWS Budgets of this account (only) publish to the topic, and subscribes the alert e-mail", async () => {
    new CostGuard("guard", guardArgs({ alertEmail: "ops@example.com" }));
    const res = await settled();
    const topic = res.one(T.topic);
    const policy = res.one(T.topicPolicy);
    expect(policy.inputs.arn).to.equal(topic.state.arn);
    expect(statement(policyOf(policy), "BudgetsOfThisAccount")).to.deep.equal({
      Sid: "BudgetsOfThisAccount",
      Effect: "Allow",
      Principal: { Service: "budgets.amazonaws.com" },
      Action: "sns:Publish",
      Resource: topic.state.arn,
      Condition: {
        StringEquals: { "aws:SourceAccount": "123456789012" },
        ArnLike: { "aws:SourceArn": "arn:aws:budgets::123456789012:*" },
      },
    });
    const email = res.ofType(T.topicSubscription).filter((s) => s.inputs.protocol === "email");
    expect(email.map((s) => s.inputs)).to.deep.equal([
      { topic: topic.state.arn, protocol: "email", endpoint: "ops@example.com" },
    ]);
  });

  it("subscribes the kill-switch function to the budget topic, with SNS allowed to invoke it from that topic only", async () => {
    new CostGuard("guard", guardArgs());
    const res = await settled();
    const topic = res.one(T.topic);
    const fn = res.one(T.function);
    const subscription = res.one(T.topicSubscription);
    expect(subscription.inputs).to.deep.equal({ topic: topic.state.arn, protocol: "lambda", endpoint: fn.state.arn });
    const permission = res.one(T.permission, "kill-switch-invoke");
    expect(permission.inputs).to.deep.include({
      action: "lambda:InvokeFunction",
      function: fn.state.name,
      principal: "sns.amazonaws.com",
      sourceArn: topic.state.arn,
    });
    expect(subscription.dependencies).to.include(permission.urn);
    // No e-mail address, no e-mail subscription; the kill switch alone still makes the budget reach someone.
    expect(res.ofType(T.topicSubscription)).to.have.length(1);
  });

  it("runs the kill switch on nodejs22.x for at least 60 s, logging to its own group, with the handler's environment", async () => {
    new CostGuard("guard", guardArgs({ killSwitchThresholdPercent: 90, killSwitchPauseOnForecast: true }));
    const res = await settled();
    const fn = res.one(T.function);
    expect(fn.inputs).to.deep.include({ runtime: "nodejs22.x", handler: "index.handler", architectures: ["arm64"] });
    expect(fn.inputs.timeout as number).to.be.at.least(60);
    expect(fn.inputs.role).to.equal(res.one(T.role).state.arn);
    const logGroup = res.one(T.logGroup);
    expect(logGroup.inputs.retentionInDays).to.equal(14);
    expect(fn.inputs.loggingConfig).to.deep.include({ logFormat: "JSON", logGroup: logGroup.state.name });
    expect(fn.dependencies).to.include.members([logGroup.urn, res.one(T.rolePolicy).urn]);
    expect((fn.inputs.environment as { variables: Record<string, string> }).variables).to.deep.include({
      [ENV.extractorFunctionName]: EXTRACTOR.name,
      [ENV.apiFunctionName]: API.name,
      [ENV.extractorEventSourceMappingUuid]: MAPPING.uuid,
      [ENV.killSwitchThresholdPercent]: "90",
      [ENV.killSwitchPauseOnForecast]: "true",
      [ENV.serviceName]: "guard-kill-switch",
      [ENV.metricsNamespace]: METRICS_NAMESPACE,
    });
  });

  it("grants the kill switch exactly the calls of lambda-control.ts on the two functions and the mapping", async () => {
    new CostGuard("guard", guardArgs());
    const res = await settled();
    const policy = policyOf(res.one(T.rolePolicy));
    expect(statement(policy, "PauseAndResumeFunctions")).to.deep.include({
      Action: [
        "lambda:GetFunction",
        "lambda:ListTags",
        "lambda:TagResource",
        "lambda:UntagResource",
        "lambda:PutFunctionConcurrency",
        "lambda:DeleteFunctionConcurrency",
      ],
      Resource: [EXTRACTOR.arn, API.arn],
    });
    expect(statement(policy, "PauseAndResumeEventSourceMapping")).to.deep.include({
      Action: ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"],
      Resource: MAPPING.arn,
    });
    expect(statement(policy, "ReadBudget")).to.deep.include({
      Action: "budgets:ViewBudget",
      Resource: `arn:aws:budgets::123456789012:budget/${res.one(T.budget).state.name}`,
    });
    expect(policy.Statement.map((s) => s.Sid)).to.deep.equal([
      "PauseAndResumeFunctions",
      "PauseAndResumeEventSourceMapping",
      "ReadBudget",
      "WriteOwnLogGroup",
      "SendTraces",
    ]);
  });

  it("re-arms: an hourly schedule invokes the kill switch, which knows the budget it reads", async () => {
    new CostGuard("guard", guardArgs());
    const res = await settled();
    const fn = res.one(T.function);
    const rule = res.one("aws:cloudwatch/eventRule:EventRule");
    expect(rule.inputs.scheduleExpression).to.equal("rate(60 minutes)");
    const target = res.one("aws:cloudwatch/eventTarget:EventTarget");
    expect(target.inputs).to.deep.include({ rule: rule.state.name, arn: fn.state.arn });
    const permission = res.one(T.permission, "budget-check-invoke");
    expect(permission.inputs).to.deep.include({
      function: fn.state.name,
      principal: "events.amazonaws.com",
      sourceArn: rule.state.arn,
    });
    expect(target.dependencies).to.include(permission.urn);
    expect((fn.inputs.environment as { variables: Record<string, string> }).variables).to.deep.include({
      [ENV.budgetName]: res.one(T.budget).state.name,
      [ENV.budgetAccountId]: "123456789012",
    });
    expect(() => new CostGuard("x", guardArgs({ budgetCheckMinutes: 1 }))).to.throw(/every 2-1440 minutes/);
  });

  it("counts only the stack's tagged costs when asked", async () => {
    new CostGuard("guard", guardArgs({ costFilterTag: { key: "Environment", value: "dev" } }));
    const res = await settled();
    expect(res.one(T.budget).inputs.costFilters).to.deep.equal([
      { name: "TagKeyValue", values: ["user:Environment$dev"] },
    ]);
  });

  it("refuses a kill-switch threshold no budget notification can reach, and bad limits", () => {
    expect(() => new CostGuard("a", guardArgs({ killSwitchThresholdPercent: 150 }))).to.throw(
      /no ACTUAL budget notification at or above the kill-switch threshold of 150%/,
    );
    expect(
      () =>
        new CostGuard(
          "b",
          guardArgs({
            notifications: [{ thresholdPercent: 120, notificationType: "FORECASTED" }],
            killSwitchThresholdPercent: 100,
          }),
        ),
    ).to.throw(/would never pause/);
    expect(() => new CostGuard("c", guardArgs({ limitUsd: 0 }))).to.throw(/budget limit must be positive/);
    expect(() => new CostGuard("d", guardArgs({ logRetentionDays: 10 }))).to.throw(/log retention 10 days/);
  });

  it("in MediaPipeline: pauses the pipeline's own extractor, backfill, API and event source mapping", async () => {
    new MediaPipeline("mp-test", testPipelineArgs({ alertEmail: "ops@example.com", budgetScope: "stack" }));
    const res = await settled();
    const guard = res.one(T.costGuard);
    const extractorFn = res.oneUnder(res.one(T.extractor), T.function);
    const apiFn = res.oneUnder(res.one(T.api), T.function);
    const backfillFn = res.oneUnder(res.one(T.backfill), T.function);
    const esm = res.one(T.eventSourceMapping, "-extractor-source");
    const killSwitch = res.oneUnder(guard, T.function);
    expect((killSwitch.inputs.environment as { variables: Record<string, string> }).variables).to.deep.include({
      [ENV.extractorFunctionName]: extractorFn.state.name,
      [ENV.backfillFunctionName]: backfillFn.state.name,
      [ENV.apiFunctionName]: apiFn.state.name,
      [ENV.extractorEventSourceMappingUuid]: esm.state.uuid,
      [ENV.killSwitchThresholdPercent]: "100",
      [ENV.killSwitchPauseOnForecast]: "false",
    });
    const policy = policyOf(res.oneUnder(guard, T.rolePolicy));
    expect(statement(policy, "PauseAndResumeFunctions").Resource).to.deep.equal([
      extractorFn.state.arn,
      backfillFn.state.arn,
      apiFn.state.arn,
    ]);
    // What a pause changes, a deploy leaves alone.
    for (const fn of [extractorFn, backfillFn, apiFn]) {
      expect(fn.options?.ignoreChanges, fn.name).to.deep.equal(["reservedConcurrentExecutions"]);
    }
    expect(esm.options?.ignoreChanges).to.deep.equal(["enabled"]);
    expect(statement(policy, "PauseAndResumeEventSourceMapping").Resource).to.equal(esm.state.arn);
    const budget = res.oneUnder(guard, T.budget);
    expect(budget.inputs.limitAmount).to.equal("10");
    expect(budget.inputs.costFilters).to.deep.equal([{ name: "TagKeyValue", values: ["user:Environment$test"] }]);
    expect(
      res
        .under(guard, T.topicSubscription)
        .map((s) => s.inputs.protocol)
        .sort(),
    ).to.deep.equal(["email", "lambda"]);
  });
});
