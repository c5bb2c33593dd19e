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
      'the stack has no COST budget; add an aws.budgets.Budget { budgetType: "COST", limitAmount <= 100, limitUnit: "USD", ' +
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
