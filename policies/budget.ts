/**
 * budget-required: the stack contains an AWS Budgets COST budget no larger than the cap, with
 * notifications at the configured thresholds that reach a subscriber.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import {
  asNumber,
  asString,
  configOf,
  elements,
  label,
  type Maybe,
  ofTypes,
  prop,
  referencedBy,
  schemaWithNote,
  strings,
  UNKNOWN,
} from "./util";

export const BUDGET_TYPE = "aws:budgets/budget:Budget";
export const SNS_TOPIC_TYPE = "aws:sns/topic:Topic";
export const SNS_SUBSCRIPTION_TYPE = "aws:sns/topicSubscription:TopicSubscription";

export type NotificationType = "ACTUAL" | "FORECASTED";

export interface ThresholdRequirement {
  /** Percentage of the budget limit. */
  threshold: number;
  notificationType: NotificationType;
}

export interface BudgetConfig {
  /** Largest limitAmount a budget may have, in `currency`, per `timeUnit`. */
  maxLimit: number;
  currency: string;
  timeUnit: "DAILY" | "MONTHLY" | "QUARTERLY" | "ANNUALLY";
  thresholds: ThresholdRequirement[];
}

export const BUDGET_DEFAULTS: BudgetConfig = {
  maxLimit: 100,
  currency: "USD",
  timeUnit: "MONTHLY",
  thresholds: [
    { threshold: 10, notificationType: "ACTUAL" },
    { threshold: 25, notificationType: "ACTUAL" },
    { threshold: 100, notificationType: "ACTUAL" },
    { threshold: 100, notificationType: "FORECASTED" },
  ],
};

interface Notification {
  threshold: Maybe<number | undefined>;
  thresholdType: Maybe<string | undefined>;
  notificationType: Maybe<string | undefined>;
  comparisonOperator: Maybe<string | undefined>;
  reachesSubscriber: boolean;
}

/**
 * Whether a notification reaches someone: an email address, or an SNS topic that is either
 * outside the stack (its subscriptions are not ours to see) or has a subscription in the stack.
 */
function reachesSubscriber(budget: PolicyResource, n: unknown, resources: readonly PolicyResource[]): boolean {
  const emails = strings(prop(n, "subscriberEmailAddresses"));
  if (emails === UNKNOWN || emails.some((e) => e === UNKNOWN || e.trim() !== "")) return true;
  const topics = elements(prop(n, "subscriberSnsTopicArns"));
  if (topics === UNKNOWN) return true;
  const stackTopics = ofTypes(resources, [SNS_TOPIC_TYPE]);
  const subscriptions = ofTypes(resources, [SNS_SUBSCRIPTION_TYPE]);
  for (const t of topics) {
    if (t !== UNKNOWN && (typeof t !== "string" || t === "")) continue;
    // `notifications` is one property: its dependencies cover every topic of every notification.
    const inStack = referencedBy(budget, "notifications", stackTopics, ["arn", "id"], t);
    // A topic managed elsewhere (its subscriptions are not ours to see), or an unknown ARN with
    // no traceable topic: cannot judge, so it counts.
    if (inStack.length === 0) return true;
    const subscribed = inStack.some((topic) =>
      subscriptions.some((s) => referencedBy(s, "topic", stackTopics, ["arn", "id"]).includes(topic)),
    );
    if (subscribed) return true;
  }
  return false;
}

function notifications(budget: PolicyResource, resources: readonly PolicyResource[]): Maybe<Notification[]> {
  const list = elements(prop(budget.props, "notifications"));
  if (list === UNKNOWN) return UNKNOWN;
  return list.map((n) => ({
    threshold: asNumber(prop(n, "threshold")),
    thresholdType: asString(prop(n, "thresholdType")),
    notificationType: asString(prop(n, "notificationType")),
    comparisonOperator: asString(prop(n, "comparisonOperator")),
    reachesSubscriber: reachesSubscriber(budget, n, resources),
  }));
}

function describe(t: ThresholdRequirement): string {
  return `${t.threshold}% ${t.notificationType}`;
}

/** What is wrong with one budget (empty when it satisfies the policy). */
function problemsOf(budget: PolicyResource, resources: readonly PolicyResource[], cfg: BudgetConfig): string[] {
  const problems: string[] = [];
  const limit = asNumber(prop(budget.props, "limitAmount"));
  const unit = asString(prop(budget.props, "limitUnit"));
  const timeUnit = asString(prop(budget.props, "timeUnit"));
  if (limit === undefined) {
    problems.push(`it sets no limitAmount (a fixed limit of at most ${cfg.maxLimit} ${cfg.currency} is required)`);
  } else if (limit !== UNKNOWN && limit > cfg.maxLimit) {
    problems.push(
      `its limit ${limit} ${typeof unit === "string" ? unit : cfg.currency} exceeds the cap of ${cfg.maxLimit} ${cfg.currency}`,
    );
  }
  if (unit !== UNKNOWN && unit !== undefined && unit !== cfg.currency) {
    problems.push(`its limitUnit is ${unit}, not ${cfg.currency}`);
  }
  if (timeUnit !== UNKNOWN && timeUnit !== cfg.timeUnit) {
    problems.push(`its timeUnit is ${timeUnit ?? "unset"}, not ${cfg.timeUnit}`);
  }
  const list = notifications(budget, resources);
  if (list === UNKNOWN) return problems;
  for (const want of cfg.thresholds) {
    const matching = list.filter(
      (n) =>
        (n.threshold === UNKNOWN || n.threshold === want.threshold) &&
        (n.notificationType === UNKNOWN || n.notificationType === want.notificationType) &&
        (n.thresholdType === UNKNOWN || n.thresholdType === "PERCENTAGE") &&
        (n.comparisonOperator === UNKNOWN || n.comparisonOperator === "GREATER_THAN"),
    );
    if (matching.length === 0) {
      problems.push(
        `it has no ${describe(want)} notification (threshold ${want.threshold}, thresholdType "PERCENTAGE", ` +
          `comparisonOperator "GREATER_THAN", notificationType "${want.notificationType}")`,
      );
    } else if (!matching.some((n) => n.reachesSubscriber)) {
      problems.push(
        `its ${describe(want)} notification reaches no subscriber (set subscriberEmailAddresses, or ` +
          "subscriberSnsTopicArns with a topic that has a subscription)",
      );
    }
  }
  return problems;
}

export const budgetRequired: StackValidationPolicy = {
  name: "budget-required",
  description:
    "The stack contains an AWS Budgets COST budget whose limit is at most the configured cap, with notifications " +
    "at the configured thresholds (10%, 25%, 100% actual and 100% forecast by default) that reach a subscriber.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithNote({
    properties: {
      maxLimit: {
        type: "number",
        minimum: 1,
        default: BUDGET_DEFAULTS.maxLimit,
        description: "Largest limitAmount a budget may have (in `currency`, per `timeUnit`).",
      },
      currency: { type: "string", default: BUDGET_DEFAULTS.currency, description: "The budget's limitUnit." },
      timeUnit: {
        type: "string",
        enum: ["DAILY", "MONTHLY", "QUARTERLY", "ANNUALLY"],
        default: BUDGET_DEFAULTS.timeUnit,
        description: "The budget's timeUnit.",
      },
      thresholds: {
        type: "array",
        minItems: 1,
        items: {
          type: "object",
          properties: {
            threshold: { type: "number", minimum: 0 },
            notificationType: { type: "string", enum: ["ACTUAL", "FORECASTED"] },
          },
          required: ["threshold", "notificationType"],
          additionalProperties: false,
        },
        default: BUDGET_DEFAULTS.thresholds.map((t) => ({ ...t })),
        description: "Percentage notifications the budget must have.",
      },
    },
  }),
  remediationSteps:
    'Add an aws.budgets.Budget with budgetType "COST", limitAmount at most the cap, limitUnit "USD", ' +
    "timeUnit MONTHLY and one PERCENTAGE / GREATER_THAN notification per required threshold, each with " +
    "subscriberEmailAddresses or a subscribed SNS topic (the CostGuard component builds one).",
  validateStack: (args, reportViolation) => {
    const cfg = configOf(args, BUDGET_DEFAULTS);
    const costBudgets = ofTypes(args.resources, [BUDGET_TYPE]).filter((b) => {
      const t = prop(b.props, "budgetType");
      return t === "COST" || t === UNKNOWN;
    });
    const wanted = cfg.thresholds.map(describe).join(", ");
    if (costBudgets.length === 0) {
      reportViolation(
        `the stack has no COST budget; add an aws.budgets.Budget { budgetType: "COST", limitAmount <= ${cfg.maxLimit}, ` +
          `limitUnit: "${cfg.currency}", timeUnit: "${cfg.timeUnit}" } with notifications at ${wanted} that ` +
          "reach a subscriber (email or a subscribed SNS topic).",
      );
      return;
    }
    const results = costBudgets.map((b) => ({ budget: b, problems: problemsOf(b, args.resources, cfg) }));
    if (results.some((r) => r.problems.length === 0)) return;
    for (const { budget, problems } of results) {
      reportViolation(`COST budget ${label(budget)} does not qualify: ${problems.join("; ")}.`, budget.urn);
    }
  },
};
