/**
 * budget-required: the stack contains an AWS Budgets COST budget no larger than the cap, with
 * notifications at the configured thresholds that reach a subscriber.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { AWS_TYPES } from "../lib/aws-types";
import { withExceptions } from "./exceptions";
import { PROFILE_LIMITS, profileOf, stackEnvironment, urnParts } from "./stack-profile";
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

const BUDGET_TYPE = AWS_TYPES.budget;
const SNS_TOPIC_TYPE = AWS_TYPES.topic;
const SNS_SUBSCRIPTION_TYPE = AWS_TYPES.topicSubscription;

export type NotificationType = "ACTUAL" | "FORECASTED";

export interface ThresholdRequirement {
  /** Percentage of the budget limit. */
  threshold: number;
  notificationType: NotificationType;
}

export interface BudgetConfig {
  /** Largest limitAmount a budget may have, in `currency`, per `timeUnit`; unset: the stack profile's (lab 25, production 300). */
  maxLimit?: number;
  currency: string;
  timeUnit: "DAILY" | "MONTHLY" | "QUARTERLY" | "ANNUALLY";
  thresholds: ThresholdRequirement[];
}

export const BUDGET_DEFAULTS: BudgetConfig = {
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

/** Cost types whose exclusion hides real spend from a COST budget. */
const SPEND_COST_TYPES = [
  "includeSubscription",
  "includeRecurring",
  "includeUpfront",
  "includeOtherSubscription",
  "includeSupport",
  "includeTax",
];

/** "2087-06-15_00:00" (Budgets' format) -> epoch ms. */
function budgetTime(value: string): number | undefined {
  const m = value.match(/^(\d{4})-(\d{2})-(\d{2})_(\d{2}):(\d{2})$/);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
}

/**
 * What narrows the budget so it no longer counts the stack's spend: cost filters other than the
 * stack's own Environment tag, a filter expression, cost types that leave spend out, a period that
 * has ended or not begun, an auto-adjusting limit.
 */
function scopeProblems(budget: PolicyResource, now: number): string[] {
  const problems: string[] = [];
  const stack = stackEnvironment().stack ?? urnParts(budget.urn).stack;
  const ownTag = stack ? `user:Environment$${stack}` : undefined;
  const filters = elements(prop(budget.props, "costFilters"));
  if (filters !== UNKNOWN) {
    for (const f of filters) {
      const name = asString(prop(f, "name"));
      const values = strings(prop(f, "values"));
      if (name === UNKNOWN || values === UNKNOWN || values.includes(UNKNOWN)) continue;
      const ownScope = name === "TagKeyValue" && values.length === 1 && values[0] === ownTag;
      if (!ownScope) {
        problems.push(
          `its cost filter ${name ?? "?"}=${JSON.stringify(values)} counts only part of the spend (only ` +
            `TagKeyValue ${ownTag ?? "user:Environment$<stack>"}, the stack's own tag, is accepted)`,
        );
      }
    }
  }
  const expression = prop(budget.props, "filterExpression");
  if (expression !== UNKNOWN && expression !== undefined && expression !== null) {
    problems.push(
      "it sets a filterExpression, which narrows what it counts (use no filter, or costFilters on the stack's Environment tag)",
    );
  }
  const costTypes = prop(budget.props, "costTypes");
  for (const key of SPEND_COST_TYPES) {
    if (prop(costTypes, key) === false) problems.push(`its costTypes.${key} is false, so that spend is not counted`);
  }
  const end = asString(prop(budget.props, "timePeriodEnd"));
  const start = asString(prop(budget.props, "timePeriodStart"));
  const endAt = typeof end === "string" ? budgetTime(end) : undefined;
  const startAt = typeof start === "string" ? budgetTime(start) : undefined;
  if (endAt !== undefined && endAt <= now) problems.push(`its period ended at ${String(end)}`);
  if (startAt !== undefined && startAt > now) problems.push(`its period only starts at ${String(start)}`);
  const autoAdjust = prop(budget.props, "autoAdjustData");
  if (autoAdjust !== UNKNOWN && autoAdjust !== undefined && autoAdjust !== null) {
    problems.push("its limit adjusts itself (autoAdjustData), so the cap cannot hold");
  }
  return problems;
}

/** What is wrong with one budget (empty when it satisfies the policy). */
function problemsOf(
  budget: PolicyResource,
  resources: readonly PolicyResource[],
  cfg: Required<BudgetConfig>,
  now: number,
): string[] {
  const problems: string[] = scopeProblems(budget, now);
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

export const budgetRequired: StackValidationPolicy = withExceptions({
  name: "budget-required",
  description:
    "The stack contains an AWS Budgets COST budget, counting the whole account or the stack's own Environment tag " +
    "over a current period, whose fixed limit is at most the configured cap (per stack profile), with notifications " +
    "at the configured thresholds (10%, 25%, 100% actual and 100% forecast by default) that reach a subscriber.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithNote({
    properties: {
      maxLimit: {
        type: "number",
        minimum: 1,
        description:
          "Largest limitAmount a budget may have (in `currency`, per `timeUnit`). Unset: 25 in a lab stack, 300 in " +
          "production (the stack's own `lab` config decides).",
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
    const given = configOf(args, BUDGET_DEFAULTS);
    const profile = profileOf(undefined, args.resources[0]?.urn).profile;
    const cfg = {
      ...given,
      maxLimit: given.maxLimit ?? PROFILE_LIMITS[profile].budgetMaxLimit,
    } as Required<BudgetConfig>;
    const now = Date.now();
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
    const results = costBudgets.map((b) => ({ budget: b, problems: problemsOf(b, args.resources, cfg, now) }));
    if (results.some((r) => r.problems.length === 0)) return;
    for (const { budget, problems } of results) {
      reportViolation(`COST budget ${label(budget)} does not qualify: ${problems.join("; ")}.`, budget.urn);
    }
  },
});
