/**
 * CostGuard: a monthly AWS Budgets COST budget whose notifications go to an SNS topic, an
 * optional e-mail subscription to it, and the kill-switch Lambda (handlers/kill-switch)
 * subscribed to the same topic, which pauses the pipeline when an alert reaches its
 * threshold (docs/kill-switch.md). `npm run resume -- --stack NAME` undoes a pause.
 *
 *   AWS Budgets --(10/25/100 % ACTUAL, 100 % FORECASTED)--> budget topic --> e-mail
 *                                                                      \--> kill-switch Lambda
 *   EventBridge schedule (hourly) --> kill-switch Lambda --DescribeBudget--> pause if over
 *
 * A Budgets notification fires once per period and then stays in ALARM, so after a resume
 * mid-month only the scheduled check can pause again (handlers/kill-switch/budget-check.ts).
 * The kill switch's role may do exactly what handlers/kill-switch/lambda-control.ts calls,
 * on exactly the functions and the one event source mapping it pauses, and read the budget.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bundleArchive } from "../build/lambda-code";
import type { LambdaArchitecture } from "../lib/ffprobe-pin";
import { ENV } from "../lib/runtime-env";
import { allowServicePublish, lambdaRuntimeStatements, type PolicyStatement, parseArn, policyDocument } from "./iam";
import { createNodeFunction } from "./node-function";
import { checkLogRetention } from "./refs";

/** Default interval of the scheduled budget check; Budgets refreshes its spend a few times a day. */
export const DEFAULT_BUDGET_CHECK_MINUTES = 60;

export type BudgetNotificationType = "ACTUAL" | "FORECASTED";

export interface BudgetNotificationSpec {
  /** Percent of the budget's limit. */
  thresholdPercent: number;
  notificationType: BudgetNotificationType;
}

/** What the budget-required policy asks for by default (policies/budget.ts BUDGET_DEFAULTS). */
export const DEFAULT_BUDGET_NOTIFICATIONS: readonly BudgetNotificationSpec[] = [
  { thresholdPercent: 10, notificationType: "ACTUAL" },
  { thresholdPercent: 25, notificationType: "ACTUAL" },
  { thresholdPercent: 100, notificationType: "ACTUAL" },
  { thresholdPercent: 100, notificationType: "FORECASTED" },
];

/** Whose costs the budget counts (defined with the stack config, lib/config-schema.ts). */
export { BUDGET_SCOPES, type BudgetScope } from "../lib/config-schema";

/**
 * The kill switch waits up to 30 s for the mapping to disable, then makes a few calls per
 * function: 60 s is the floor docs/kill-switch.md sets, 90 s leaves room for throttled retries.
 */
export const KILL_SWITCH_TIMEOUT_SECONDS = 90;

export interface FunctionTarget {
  name: pulumi.Input<string>;
  arn: pulumi.Input<string>;
}

export interface EventSourceMappingTarget {
  uuid: pulumi.Input<string>;
  arn: pulumi.Input<string>;
}

export interface CostGuardArgs {
  /** Monthly limit in USD. */
  limitUsd: number;
  /** Budget notifications, in percent of the limit. Default DEFAULT_BUDGET_NOTIFICATIONS. */
  notifications?: readonly BudgetNotificationSpec[];
  /**
   * Count only costs carrying this cost allocation tag (it must be activated in the Billing
   * console, or the budget sees nothing). Default: every cost of the account.
   */
  costFilterTag?: { key: string; value: string };
  /** Also send budget alerts to this address (SNS e-mail subscription). Empty/undefined: none. */
  alertEmail?: string;
  /** The function fed by the queue: paused first (its event source mapping, then its concurrency). */
  extractorFunction: FunctionTarget;
  /** The read API's function (concurrency 0 while paused). */
  apiFunction: FunctionTarget;
  /** The backfill's function (concurrency 0 while paused, so a running backfill stops spending). */
  backfillFunction?: FunctionTarget;
  /** Minutes between scheduled budget checks (re-arming after a resume). Default 60. */
  budgetCheckMinutes?: number;
  /** The extractor's SQS event source mapping. */
  eventSourceMapping: EventSourceMappingTarget;
  /** Pause when an alert stands for at least this percent of the budget. Default 100. */
  killSwitchThresholdPercent?: number;
  /** Let FORECASTED alerts pause too. Default false (only money actually spent pauses). */
  killSwitchPauseOnForecast?: boolean;
  architecture: LambdaArchitecture;
  logRetentionDays: number;
  /** Kill-switch code (tests). Default: the esbuild bundle of handlers/kill-switch. */
  code?: pulumi.asset.Archive;
}

export class CostGuard extends pulumi.ComponentResource {
  /** Where the budget publishes; the kill switch (and the e-mail address) subscribe to it. */
  public readonly topic: aws.sns.Topic;
  public readonly topicPolicy: aws.sns.TopicPolicy;
  public readonly emailSubscription?: aws.sns.TopicSubscription;
  public readonly budget: aws.budgets.Budget;
  public readonly logGroup: aws.cloudwatch.LogGroup;
  public readonly role: aws.iam.Role;
  public readonly rolePolicy: aws.iam.RolePolicy;
  /** The kill-switch function. */
  public readonly function: aws.lambda.Function;
  public readonly invokePermission: aws.lambda.Permission;
  public readonly subscription: aws.sns.TopicSubscription;
  /** The schedule of the budget check, its target and its invoke permission. */
  public readonly checkSchedule: aws.cloudwatch.EventRule;
  public readonly checkTarget: aws.cloudwatch.EventTarget;
  public readonly checkPermission: aws.lambda.Permission;
  /** The kill switch's Powertools service name: the `service` dimension of its EMF metrics. */
  public readonly serviceName: string;
  public readonly thresholdPercent: number;
  public readonly pauseOnForecast: boolean;

  constructor(name: string, args: CostGuardArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:cost:CostGuard", name, {}, opts);
    const parent = { parent: this };
    const settings = checkSettings(name, args);
    this.thresholdPercent = settings.thresholdPercent;
    this.pauseOnForecast = settings.pauseOnForecast;
    this.serviceName = `${name}-kill-switch`;

    // --- Budget and its topic --------------------------------------------------------------
    // Not KMS-encrypted: Budgets cannot publish to a topic under the AWS managed SNS key.
    this.topic = new aws.sns.Topic(`${name}-topic`, { displayName: `${name} budget alerts` }, parent);
    this.topicPolicy = new aws.sns.TopicPolicy(
      `${name}-topic-policy`,
      {
        arn: this.topic.arn,
        policy: policyDocument([
          allowServicePublish(
            "BudgetsOfThisAccount",
            "budgets.amazonaws.com",
            this.topic.arn,
            (t) => `arn:${t.partition}:budgets::${t.account}:*`,
          ),
        ]),
      },
      parent,
    );
    if (args.alertEmail) {
      this.emailSubscription = new aws.sns.TopicSubscription(
        `${name}-email`,
        { topic: this.topic.arn, protocol: "email", endpoint: args.alertEmail },
        parent,
      );
    }
    this.budget = new aws.budgets.Budget(
      `${name}-budget`,
      {
        budgetType: "COST",
        limitAmount: String(args.limitUsd),
        limitUnit: "USD",
        timeUnit: "MONTHLY",
        costFilters: args.costFilterTag
          ? [{ name: "TagKeyValue", values: [`user:${args.costFilterTag.key}$${args.costFilterTag.value}`] }]
          : undefined,
        notifications: settings.notifications.map((n) => ({
          notificationType: n.notificationType,
          threshold: n.thresholdPercent,
          thresholdType: "PERCENTAGE",
          comparisonOperator: "GREATER_THAN",
          subscriberSnsTopicArns: [this.topic.arn],
        })),
      },
      // Budgets checks that it may publish when the notification is created.
      { parent: this, dependsOn: [this.topicPolicy] },
    );

    // --- Kill switch -----------------------------------------------------------------------
    const fn = createNodeFunction(
      `${name}-kill-switch`,
      {
        description: "Pauses the media pipeline when a budget alert reaches its threshold (docs/kill-switch.md)",
        code: args.code ?? bundleArchive("kill-switch"),
        architecture: args.architecture,
        memoryMb: 256,
        timeoutSeconds: KILL_SWITCH_TIMEOUT_SECONDS,
        logRetentionDays: args.logRetentionDays,
        roleDescription: "media-pipeline kill switch: pauses the extractor's event source mapping and both functions",
        statements: (logGroupArn) =>
          killSwitchStatements(args, logGroupArn, budgetArn(this.topic.arn, this.budget.name)),
        serviceName: this.serviceName,
        environment: {
          [ENV.extractorFunctionName]: args.extractorFunction.name,
          [ENV.apiFunctionName]: args.apiFunction.name,
          ...(args.backfillFunction ? { [ENV.backfillFunctionName]: args.backfillFunction.name } : {}),
          [ENV.budgetName]: this.budget.name,
          // The budget lives in the topic's account (this stack's).
          [ENV.budgetAccountId]: this.topic.arn.apply((arn) => parseArn(arn).account),
          [ENV.extractorEventSourceMappingUuid]: args.eventSourceMapping.uuid,
          [ENV.killSwitchThresholdPercent]: String(settings.thresholdPercent),
          [ENV.killSwitchPauseOnForecast]: String(settings.pauseOnForecast),
        },
      },
      this,
    );
    ({ logGroup: this.logGroup, role: this.role, rolePolicy: this.rolePolicy, function: this.function } = fn);
    this.invokePermission = new aws.lambda.Permission(
      `${name}-kill-switch-invoke`,
      {
        action: "lambda:InvokeFunction",
        function: this.function.name,
        principal: "sns.amazonaws.com",
        // This topic, and no other, may invoke the kill switch.
        sourceArn: this.topic.arn,
      },
      parent,
    );
    this.subscription = new aws.sns.TopicSubscription(
      `${name}-kill-switch-subscription`,
      { topic: this.topic.arn, protocol: "lambda", endpoint: this.function.arn },
      // SNS must be allowed to invoke before the first alert is delivered.
      { parent: this, dependsOn: [this.invokePermission] },
    );

    // The scheduled check: re-arms the kill switch (see the file header).
    this.checkSchedule = new aws.cloudwatch.EventRule(
      `${name}-budget-check`,
      {
        description:
          "media-pipeline kill switch: compare the budget's spend with the threshold (re-arms after a resume)",
        scheduleExpression: `rate(${settings.checkMinutes} minutes)`,
      },
      parent,
    );
    this.checkPermission = new aws.lambda.Permission(
      `${name}-budget-check-invoke`,
      {
        action: "lambda:InvokeFunction",
        function: this.function.name,
        principal: "events.amazonaws.com",
        sourceArn: this.checkSchedule.arn,
      },
      parent,
    );
    this.checkTarget = new aws.cloudwatch.EventTarget(
      `${name}-budget-check-target`,
      { rule: this.checkSchedule.name, arn: this.function.arn },
      { parent: this, dependsOn: [this.checkPermission] },
    );

    this.registerOutputs({
      topicArn: this.topic.arn,
      budgetName: this.budget.name,
      killSwitchFunctionName: this.function.name,
    });
  }
}

/**
 * The kill switch's grants: exactly the Lambda API calls of handlers/kill-switch/lambda-control.ts
 * (GetFunction returns tags only with ListTags), on the two functions and the one mapping.
 */
/** arn:<partition>:budgets::<account>:budget/<name>, the account taken from the budget topic's ARN. */
export function budgetArn(topicArn: pulumi.Input<string>, budgetName: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.all([topicArn, budgetName]).apply(([arn, budget]) => {
    const t = parseArn(arn);
    return `arn:${t.partition}:budgets::${t.account}:budget/${budget}`;
  });
}

export function killSwitchStatements(
  args: Pick<CostGuardArgs, "extractorFunction" | "apiFunction" | "backfillFunction" | "eventSourceMapping">,
  logGroupArn: pulumi.Input<string>,
  budget: pulumi.Input<string>,
): PolicyStatement[] {
  return [
    {
      Sid: "PauseAndResumeFunctions",
      Effect: "Allow",
      Action: [
        "lambda:GetFunction",
        "lambda:ListTags",
        "lambda:TagResource",
        "lambda:UntagResource",
        "lambda:PutFunctionConcurrency",
        "lambda:DeleteFunctionConcurrency",
      ],
      Resource: [
        args.extractorFunction.arn,
        ...(args.backfillFunction ? [args.backfillFunction.arn] : []),
        args.apiFunction.arn,
      ],
    },
    {
      Sid: "PauseAndResumeEventSourceMapping",
      Effect: "Allow",
      Action: ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"],
      Resource: args.eventSourceMapping.arn,
    },
    {
      // The scheduled check's DescribeBudget (budget-check.ts).
      Sid: "ReadBudget",
      Effect: "Allow",
      Action: "budgets:ViewBudget",
      Resource: budget,
    },
    ...lambdaRuntimeStatements(logGroupArn),
  ];
}

interface CostGuardSettings {
  notifications: readonly BudgetNotificationSpec[];
  thresholdPercent: number;
  pauseOnForecast: boolean;
  checkMinutes: number;
}

function checkSettings(name: string, args: CostGuardArgs): CostGuardSettings {
  const fail = (what: string): never => {
    throw new Error(`CostGuard ${name}: ${what}`);
  };
  if (!Number.isFinite(args.limitUsd) || args.limitUsd <= 0)
    fail(`the budget limit must be positive, got ${args.limitUsd}`);
  checkLogRetention(args.logRetentionDays, `CostGuard ${name}`);
  const notifications = args.notifications ?? DEFAULT_BUDGET_NOTIFICATIONS;
  if (notifications.length === 0 || notifications.length > 10) {
    fail(`a budget takes 1 to 10 notifications, got ${notifications.length}`);
  }
  for (const n of notifications) {
    if (!Number.isFinite(n.thresholdPercent) || n.thresholdPercent <= 0) {
      fail(`notification thresholds are positive percentages, got ${n.thresholdPercent}`);
    }
  }
  const thresholdPercent = args.killSwitchThresholdPercent ?? 100;
  if (!Number.isFinite(thresholdPercent) || thresholdPercent <= 0) {
    fail(`the kill-switch threshold must be a positive percentage, got ${thresholdPercent}`);
  }
  const pauseOnForecast = args.killSwitchPauseOnForecast ?? false;
  // An alert reports the spend when it crosses its own threshold: a kill-switch threshold above
  // every notification that may pause would never be reached.
  const pausing = notifications.filter((n) => n.notificationType === "ACTUAL" || pauseOnForecast);
  if (!pausing.some((n) => n.thresholdPercent >= thresholdPercent)) {
    fail(
      `no ${pauseOnForecast ? "" : "ACTUAL "}budget notification at or above the kill-switch threshold of ${thresholdPercent}%: ` +
        "the kill switch would never pause; add one or lower the threshold",
    );
  }
  const checkMinutes = args.budgetCheckMinutes ?? DEFAULT_BUDGET_CHECK_MINUTES;
  if (!Number.isInteger(checkMinutes) || checkMinutes < 2 || checkMinutes > 1440) {
    fail(`the budget check runs every 2-1440 minutes, got ${checkMinutes}`);
  }
  return { notifications, thresholdPercent, pauseOnForecast, checkMinutes };
}
