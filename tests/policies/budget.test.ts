import { expect } from "chai";
import { budgetRequired } from "../../policies/budget";
import { dependsThrough, res, runStack, UNKNOWN_STRING } from "./harness";

const BUDGET = "aws:budgets/budget:Budget";

function notification(
  threshold: number,
  notificationType: "ACTUAL" | "FORECASTED",
  subscriber: Record<string, unknown>,
) {
  return {
    threshold,
    notificationType,
    thresholdType: "PERCENTAGE",
    comparisonOperator: "GREATER_THAN",
    ...subscriber,
  };
}

function budget(
  props: Record<string, unknown> = {},
  subscriber: Record<string, unknown> = { subscriberEmailAddresses: ["ops@example.com"] },
) {
  return res(BUDGET, "monthly", {
    budgetType: "COST",
    limitAmount: "50",
    limitUnit: "USD",
    timeUnit: "MONTHLY",
    notifications: [
      notification(10, "ACTUAL", subscriber),
      notification(25, "ACTUAL", subscriber),
      notification(100, "ACTUAL", subscriber),
      notification(100, "FORECASTED", subscriber),
    ],
    ...props,
  });
}

describe("policies: budget-required", () => {
  it("passes a COST budget under the cap with the four notifications reaching an email", async () => {
    expect((await runStack(budgetRequired, [budget()])).messages).to.deep.equal([]);
  });

  it("reports a stack with no budget, as a stack-level (no resource) violation", async () => {
    const out = await runStack(budgetRequired, [res("aws:s3/bucket:Bucket", "b")]);
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.diagnostics[0]?.urn).to.equal(undefined);
    expect(out.messages).to.deep.equal([
      'the stack has no COST budget; add an aws.budgets.Budget { budgetType: "COST", limitAmount <= 300, limitUnit: "USD", ' +
        'timeUnit: "MONTHLY" } with notifications at 10% ACTUAL, 25% ACTUAL, 100% ACTUAL, 100% FORECASTED that reach a ' +
        "subscriber (email or a subscribed SNS topic).",
    ]);
  });

  it("does not count a USAGE budget", async () => {
    const out = await runStack(budgetRequired, [budget({ budgetType: "USAGE" })]);
    expect(out.messages[0]).to.match(/^the stack has no COST budget/);
  });

  it("reports a limit over the cap and a missing forecast notification", async () => {
    const b = budget({ limitAmount: "500" });
    const notes = (b.props?.notifications as unknown[] | undefined)?.slice(0, 3);
    const out = await runStack(budgetRequired, [{ ...b, props: { ...b.props, notifications: notes } }], {
      config: { maxLimit: 200 },
    });
    expect(out.messages).to.deep.equal([
      "COST budget monthly (aws:budgets/budget:Budget) does not qualify: its limit 500 USD exceeds the cap of 200 USD; " +
        'it has no 100% FORECASTED notification (threshold 100, thresholdType "PERCENTAGE", comparisonOperator ' +
        '"GREATER_THAN", notificationType "FORECASTED").',
    ]);
  });

  it("requires notifications to reach someone: an email, or an SNS topic with a subscription", async () => {
    const topic = res("aws:sns/topic:Topic", "alerts", { arn: "arn:aws:sns:us-east-1:123456789012:alerts" });
    const viaTopic = budget({}, { subscriberSnsTopicArns: [topic.props?.arn] });
    const unsubscribed = await runStack(budgetRequired, [topic, viaTopic]);
    expect(unsubscribed.messages).to.have.length(1);
    expect(unsubscribed.messages[0]).to.contain("its 10% ACTUAL notification reaches no subscriber");
    const subscription = dependsThrough(
      res("aws:sns/topicSubscription:TopicSubscription", "mail", {
        topic: topic.props?.arn,
        protocol: "email",
        endpoint: "ops@example.com",
      }),
      "topic",
      topic,
    );
    expect((await runStack(budgetRequired, [topic, subscription, viaTopic])).messages).to.deep.equal([]);
    // A topic managed outside the stack: its subscriptions cannot be seen, so it counts.
    const external = budget({}, { subscriberSnsTopicArns: ["arn:aws:sns:us-east-1:123456789012:shared-alerts"] });
    expect((await runStack(budgetRequired, [external])).messages).to.deep.equal([]);
    const nobody = budget({}, {});
    expect((await runStack(budgetRequired, [nobody])).messages[0]).to.contain("reaches no subscriber");
  });

  it("uses the configured thresholds", async () => {
    const out = await runStack(budgetRequired, [budget()], {
      config: { thresholds: [{ threshold: 50, notificationType: "ACTUAL" }] },
    });
    expect(out.messages[0]).to.contain("it has no 50% ACTUAL notification");
  });

  it("passes when one of several budgets qualifies; an unknown limit is judged after apply", async () => {
    const big = {
      ...budget({ limitAmount: "9999" }),
      name: "big",
      urn: "urn:pulumi:test::media-pipeline::aws:budgets/budget:Budget::big",
    };
    expect((await runStack(budgetRequired, [big, budget()])).messages).to.deep.equal([]);
    expect((await runStack(budgetRequired, [budget({ limitAmount: UNKNOWN_STRING })])).messages).to.deep.equal([]);
  });
});

describe("policies: budget-required, what the budget counts", () => {
  // Class: costFilters were never read: a budget counting only one unrelated service passed.
  it("refuses a budget that counts only one unrelated service", async () => {
    const out = await runStack(budgetRequired, [
      budget({ costFilters: [{ name: "Service", values: ["Amazon Route 53"] }] }),
    ]);
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.messages[0]).to.contain('its cost filter Service=["Amazon Route 53"] counts only part of the spend');
  });

  it("fair use: a budget scoped to the stack's own Environment tag (budgetScope: stack) passes", async () => {
    const out = await runStack(budgetRequired, [
      budget({ costFilters: [{ name: "TagKeyValue", values: ["user:Environment$test"] }] }),
    ]);
    expect(out.messages).to.deep.equal([]);
    const otherStack = await runStack(budgetRequired, [
      budget({ costFilters: [{ name: "TagKeyValue", values: ["user:Environment$prod"] }] }),
    ]);
    expect(otherStack.messages).to.have.length(1);
  });

  it("refuses a filterExpression, cost types that leave spend out and a self-adjusting limit", async () => {
    const out = await runStack(budgetRequired, [
      budget({
        filterExpression: { dimensions: { key: "SERVICE", values: ["AWS Lambda"] } },
        costTypes: { includeTax: false, includeSubscription: true },
        autoAdjustData: { autoAdjustType: "HISTORICAL" },
      }),
    ]);
    expect(out.messages[0]).to.contain("it sets a filterExpression");
    expect(out.messages[0]).to.contain("its costTypes.includeTax is false");
    expect(out.messages[0]).to.contain("its limit adjusts itself (autoAdjustData)");
  });

  // Class: the time period was never read: a budget that ended years ago passed.
  it("refuses a budget whose period ended years ago, or has not begun", async () => {
    const ended = await runStack(budgetRequired, [
      budget({ timePeriodStart: "2017-07-01_00:00", timePeriodEnd: "2019-01-01_00:00" }),
    ]);
    expect(ended.messages[0]).to.contain("its period ended at 2019-01-01_00:00");
    const future = await runStack(budgetRequired, [budget({ timePeriodStart: "2086-01-01_00:00" })]);
    expect(future.messages[0]).to.contain("its period only starts at 2086-01-01_00:00");
  });

  it("fair use: the provider's default period (2087 end) and a past start pass", async () => {
    const out = await runStack(budgetRequired, [
      budget({ timePeriodStart: "2024-01-01_00:00", timePeriodEnd: "2087-06-15_00:00" }),
    ]);
    expect(out.messages).to.deep.equal([]);
  });

  it("the cap follows the stack profile: 25 in a lab stack, 300 in production", async () => {
    const lab = await runStack(budgetRequired, [budget()], { stackConfig: { "media-pipeline:lab": "true" } });
    expect(lab.messages[0]).to.contain("its limit 50 USD exceeds the cap of 25 USD");
    expect((await runStack(budgetRequired, [budget()])).messages).to.deep.equal([]);
  });
});
