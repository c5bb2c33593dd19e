/**
 * Alarm templates: the alarms every serverless resource needs, one small component per kind
 * of resource, each taking the resource (or just what identifies it in CloudWatch) and its
 * thresholds. Every alarm notifies one SNS topic (AlarmTopic) when it fires and when it
 * recovers (alarm and OK actions); nothing is sent on INSUFFICIENT_DATA.
 *
 *   AlarmTopic            the stack's topic (+ optional e-mail subscription)
 *   LambdaAlarms          Errors, Throttles, p99 Duration near the timeout
 *   QueueAlarms           age of the oldest message
 *   DeadLetterQueueAlarms any message in a dead-letter queue
 *   TableAlarms           throttled requests and system errors (summed over operations)
 *   HttpApiAlarms         5xx rate (metric math: 5xx / Count), p90 and p99 latency
 *   CanaryAlarms          Synthetics SuccessPercent
 *   LogAlarms             metric filters on a JSON log group: ERROR bursts, runaway DEBUG
 *
 * Missing data is treated per alarm: "no invocations / no requests" is healthy for counts and
 * latencies (notBreaching); a dead-letter queue keeps its state (ignore: SQS stops publishing
 * for an idle queue, which must not clear the alarm); a canary that stops reporting is
 * failing (breaching).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allowServicePublish, policyDocument } from "./iam";
import { withRunbook } from "./runbooks";

/** Where an alarm sends its notifications. */
export interface AlarmActions {
  /** SNS topic notified when the alarm fires (ALARM) and when it recovers (OK). */
  topicArn: pulumi.Input<string>;
}

/** CloudWatch's default aggregation period for these alarms, in seconds. */
export const DEFAULT_PERIOD_SECONDS = 300;

type AlarmSpec = Omit<
  aws.cloudwatch.MetricAlarmArgs,
  "alarmActions" | "okActions" | "insufficientDataActions" | "actionsEnabled"
>;

/** A MetricAlarm whose alarm and OK actions are the topic of `actions`. */
export function notifyingAlarm(
  name: string,
  spec: AlarmSpec,
  actions: AlarmActions,
  opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.MetricAlarm {
  return new aws.cloudwatch.MetricAlarm(
    name,
    {
      ...spec,
      alarmDescription: withRunbook(spec.alarmDescription, name), // docs/runbooks/<id>.md
      actionsEnabled: true,
      alarmActions: [actions.topicArn],
      okActions: [actions.topicArn],
    },
    opts,
  );
}

function positive(what: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${what} must be a positive number, got ${value}`);
  return value;
}

// --- Topic ------------------------------------------------------------------------------

export interface AlarmTopicArgs {
  /** Subscribe this address (protocol email; AWS sends a confirmation mail first). Empty/undefined: none. */
  emailAddress?: string;
}

/**
 * The stack's alarm topic. Its policy lets CloudWatch alarms of this account and region (and
 * no one else's) publish. Not KMS-encrypted: the AWS managed key of SNS does not let
 * CloudWatch publish, and a customer key costs more than these notifications are worth.
 */
export class AlarmTopic extends pulumi.ComponentResource {
  public readonly topic: aws.sns.Topic;
  public readonly policy: aws.sns.TopicPolicy;
  public readonly emailSubscription?: aws.sns.TopicSubscription;
  public readonly arn: pulumi.Output<string>;

  constructor(name: string, args: AlarmTopicArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:alarms:AlarmTopic", name, {}, opts);
    const parent = { parent: this };
    this.topic = new aws.sns.Topic(name, { displayName: `${name} alarms` }, parent);
    this.arn = this.topic.arn;
    this.policy = new aws.sns.TopicPolicy(
      `${name}-policy`,
      {
        arn: this.topic.arn,
        policy: policyDocument([
          allowServicePublish(
            "CloudWatchAlarmsOfThisAccount",
            "cloudwatch.amazonaws.com",
            this.topic.arn,
            (t) => `arn:${t.partition}:cloudwatch:${t.region}:${t.account}:alarm:*`,
          ),
        ]),
      },
      parent,
    );
    if (args.emailAddress) {
      this.emailSubscription = new aws.sns.TopicSubscription(
        `${name}-email`,
        { topic: this.topic.arn, protocol: "email", endpoint: args.emailAddress },
        parent,
      );
    }
    this.registerOutputs({ arn: this.arn });
  }
}

// --- Lambda -----------------------------------------------------------------------------

/** What the Lambda alarms need of a function; an aws.lambda.Function fits. */
export interface FunctionRef {
  name: pulumi.Input<string>;
  /** Seconds; Lambda's default (3) when undefined. */
  timeout: pulumi.Input<number | undefined>;
}

export interface LambdaAlarmsArgs {
  function: FunctionRef;
  actions: AlarmActions;
  /** Alarm when Errors (sum per period) reach this. Default 1: any invocation error. */
  errorsThreshold?: number;
  /** Alarm when Throttles (sum per period) reach this. Default 1. */
  throttlesThreshold?: number;
  /** Alarm when p99 Duration exceeds this percent of the timeout, in 2 of 3 periods. Default 80. */
  durationPercentOfTimeout?: number;
  periodSeconds?: number;
}

export class LambdaAlarms extends pulumi.ComponentResource {
  public readonly errors: aws.cloudwatch.MetricAlarm;
  public readonly throttles: aws.cloudwatch.MetricAlarm;
  public readonly duration: aws.cloudwatch.MetricAlarm;

  constructor(name: string, args: LambdaAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:alarms:LambdaAlarms", name, {}, opts);
    const parent = { parent: this };
    const period = args.periodSeconds ?? DEFAULT_PERIOD_SECONDS;
    const dimensions = { FunctionName: args.function.name };
    const fn = args.function.name;
    const percent = positive(`LambdaAlarms ${name}: durationPercentOfTimeout`, args.durationPercentOfTimeout ?? 80);
    const base = { namespace: "AWS/Lambda", dimensions, period, treatMissingData: "notBreaching" };

    this.errors = notifyingAlarm(
      `${name}-errors`,
      {
        ...base,
        alarmDescription: pulumi.interpolate`Lambda ${fn}: invocations failed (Errors)`,
        metricName: "Errors",
        statistic: "Sum",
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: positive(`LambdaAlarms ${name}: errorsThreshold`, args.errorsThreshold ?? 1),
        evaluationPeriods: 1,
      },
      args.actions,
      parent,
    );
    this.throttles = notifyingAlarm(
      `${name}-throttles`,
      {
        ...base,
        alarmDescription: pulumi.interpolate`Lambda ${fn}: invocations throttled (reserved concurrency reached, or paused by the kill switch)`,
        metricName: "Throttles",
        statistic: "Sum",
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: positive(`LambdaAlarms ${name}: throttlesThreshold`, args.throttlesThreshold ?? 1),
        evaluationPeriods: 1,
      },
      args.actions,
      parent,
    );
    this.duration = notifyingAlarm(
      `${name}-duration`,
      {
        ...base,
        alarmDescription: pulumi.interpolate`Lambda ${fn}: p99 duration above ${percent}% of the timeout`,
        metricName: "Duration",
        extendedStatistic: "p99",
        comparisonOperator: "GreaterThanThreshold",
        threshold: pulumi.output(args.function.timeout).apply((t) => Math.round(((t ?? 3) * 1000 * percent) / 100)),
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      },
      args.actions,
      parent,
    );
    this.registerOutputs({});
  }
}

// --- SQS --------------------------------------------------------------------------------

export interface QueueRef {
  name: pulumi.Input<string>;
}

export interface QueueAlarmsArgs {
  queue: QueueRef;
  actions: AlarmActions;
  /** Alarm when the oldest message is older than this (maximum per period, 2 periods in a row). Default 1800 s. */
  maxAgeSeconds?: number;
  periodSeconds?: number;
}

/** A work queue: messages waiting too long (consumer down, paused, or too slow). */
export class QueueAlarms extends pulumi.ComponentResource {
  public readonly oldestMessageAge: aws.cloudwatch.MetricAlarm;

  constructor(name: string, args: QueueAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:alarms:QueueAlarms", name, {}, opts);
    const maxAge = positive(`QueueAlarms ${name}: maxAgeSeconds`, args.maxAgeSeconds ?? 1800);
    this.oldestMessageAge = notifyingAlarm(
      `${name}-age`,
      {
        alarmDescription: pulumi.interpolate`SQS ${args.queue.name}: oldest message older than ${maxAge} s (backlog)`,
        namespace: "AWS/SQS",
        metricName: "ApproximateAgeOfOldestMessage",
        dimensions: { QueueName: args.queue.name },
        statistic: "Maximum",
        period: args.periodSeconds ?? DEFAULT_PERIOD_SECONDS,
        comparisonOperator: "GreaterThanThreshold",
        threshold: maxAge,
        evaluationPeriods: 2,
        // An idle queue stops reporting: nothing is waiting.
        treatMissingData: "notBreaching",
      },
      args.actions,
      { parent: this },
    );
    this.registerOutputs({});
  }
}

export interface DeadLetterQueueAlarmsArgs {
  queue: QueueRef;
  actions: AlarmActions;
  periodSeconds?: number;
}

/** A dead-letter queue: any message in it needs a person. */
export class DeadLetterQueueAlarms extends pulumi.ComponentResource {
  public readonly visibleMessages: aws.cloudwatch.MetricAlarm;

  constructor(name: string, args: DeadLetterQueueAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:alarms:DeadLetterQueueAlarms", name, {}, opts);
    this.visibleMessages = notifyingAlarm(
      `${name}-depth`,
      {
        alarmDescription: pulumi.interpolate`SQS dead-letter queue ${args.queue.name}: holds messages that failed every retry`,
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: args.queue.name },
        statistic: "Maximum",
        period: args.periodSeconds ?? DEFAULT_PERIOD_SECONDS,
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
        evaluationPeriods: 1,
        // SQS may stop publishing for a queue nobody touches: keep the last state (stay in
        // ALARM until the queue is seen empty) rather than clearing it.
        treatMissingData: "ignore",
      },
      args.actions,
      { parent: this },
    );
    this.registerOutputs({});
  }
}

// --- DynamoDB ---------------------------------------------------------------------------

/** The data-plane operations the pipeline calls (extractor: Get/Put/Update/Delete; API: GetItem, Query). */
export const PIPELINE_TABLE_OPERATIONS = ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"] as const;

/** CloudWatch allows at most 10 metrics in an alarm's metric math. */
const MAX_ALARM_METRICS = 10;

export interface TableAlarmsArgs {
  table: { name: pulumi.Input<string> };
  actions: AlarmActions;
  /** Operations whose ThrottledRequests and SystemErrors are summed (both metrics have an Operation dimension). */
  operations?: readonly string[];
  /** Alarm when throttled requests (sum per period, all operations) reach this. Default 1. */
  throttledRequestsThreshold?: number;
  /** Alarm when system errors (HTTP 500 from DynamoDB, sum per period) reach this. Default 1. */
  systemErrorsThreshold?: number;
  periodSeconds?: number;
}

export class TableAlarms extends pulumi.ComponentResource {
  public readonly throttledRequests: aws.cloudwatch.MetricAlarm;
  public readonly systemErrors: aws.cloudwatch.MetricAlarm;
  public readonly operations: readonly string[];

  constructor(name: string, args: TableAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:alarms:TableAlarms", name, {}, opts);
    const operations = args.operations ?? PIPELINE_TABLE_OPERATIONS;
    if (operations.length === 0 || operations.length >= MAX_ALARM_METRICS) {
      throw new Error(`TableAlarms ${name}: give 1 to ${MAX_ALARM_METRICS - 1} operations, got ${operations.length}`);
    }
    this.operations = operations;
    const period = args.periodSeconds ?? DEFAULT_PERIOD_SECONDS;
    const summed = (metricName: string, label: string) => [
      ...operations.map((operation, i) => ({
        id: `m${i}`,
        returnData: false,
        metric: {
          namespace: "AWS/DynamoDB",
          metricName,
          dimensions: { TableName: args.table.name, Operation: operation },
          period,
          stat: "Sum",
        },
      })),
      { id: "total", expression: "SUM(METRICS())", label, returnData: true },
    ];
    const base = {
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      evaluationPeriods: 1,
      treatMissingData: "notBreaching",
    };
    this.throttledRequests = notifyingAlarm(
      `${name}-throttles`,
      {
        ...base,
        alarmDescription: pulumi.interpolate`DynamoDB ${args.table.name}: requests throttled (${operations.join(", ")})`,
        metricQueries: summed("ThrottledRequests", "Throttled requests"),
        threshold: positive(`TableAlarms ${name}: throttledRequestsThreshold`, args.throttledRequestsThreshold ?? 1),
      },
      args.actions,
      { parent: this },
    );
    this.systemErrors = notifyingAlarm(
      `${name}-system-errors`,
      {
        ...base,
        alarmDescription: pulumi.interpolate`DynamoDB ${args.table.name}: system errors (HTTP 500 from DynamoDB)`,
        metricQueries: summed("SystemErrors", "System errors"),
        threshold: positive(`TableAlarms ${name}: systemErrorsThreshold`, args.systemErrorsThreshold ?? 1),
      },
      args.actions,
      { parent: this },
    );
    this.registerOutputs({});
  }
}

// --- API Gateway HTTP API ---------------------------------------------------------------

export interface HttpApiAlarmsArgs {
  /** The HTTP API (its id is the ApiId dimension); an aws.apigatewayv2.Api fits. */
  api: { id: pulumi.Input<string> };
  actions: AlarmActions;
  /** Alarm when 5xx / Count exceeds this percent in a period. Default 5. */
  serverErrorRatePercent?: number;
  /** Periods with fewer requests count as a 0 % rate (one failed request of two is not an outage). Default 10. */
  minimumRequests?: number;
  /** Alarm when p90 Latency exceeds this, in 2 of 3 periods. Default 1000 ms. */
  p90LatencyMs?: number;
  /** Alarm when p99 Latency exceeds this, in 2 of 3 periods. Default 2500 ms. */
  p99LatencyMs?: number;
  periodSeconds?: number;
}

export class HttpApiAlarms extends pulumi.ComponentResource {
  public readonly serverErrorRate: aws.cloudwatch.MetricAlarm;
  public readonly latencyP90: aws.cloudwatch.MetricAlarm;
  public readonly latencyP99: aws.cloudwatch.MetricAlarm;

  constructor(name: string, args: HttpApiAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:alarms:HttpApiAlarms", name, {}, opts);
    const parent = { parent: this };
    const period = args.periodSeconds ?? DEFAULT_PERIOD_SECONDS;
    const dimensions = { ApiId: args.api.id };
    const ratePercent = positive(`HttpApiAlarms ${name}: serverErrorRatePercent`, args.serverErrorRatePercent ?? 5);
    const minimum = args.minimumRequests ?? 10;
    if (!Number.isInteger(minimum) || minimum < 1) {
      throw new Error(`HttpApiAlarms ${name}: minimumRequests must be a whole number >= 1, got ${minimum}`);
    }
    const metric = (metricName: string) => ({
      namespace: "AWS/ApiGateway",
      metricName,
      dimensions,
      period,
      stat: "Sum",
    });

    this.serverErrorRate = notifyingAlarm(
      `${name}-5xx-rate`,
      {
        alarmDescription: pulumi.interpolate`HTTP API ${args.api.id}: more than ${ratePercent}% of requests answered 5xx`,
        metricQueries: [
          { id: "requests", metric: metric("Count"), returnData: false },
          { id: "errors", metric: metric("5xx"), returnData: false },
          {
            id: "rate",
            expression: `IF(requests >= ${minimum}, 100 * errors / requests, 0)`,
            label: "5xx rate (%)",
            returnData: true,
          },
        ],
        comparisonOperator: "GreaterThanThreshold",
        threshold: ratePercent,
        evaluationPeriods: 1,
        treatMissingData: "notBreaching",
      },
      args.actions,
      parent,
    );
    const latency = (suffix: string, stat: "p90" | "p99", thresholdMs: number) =>
      notifyingAlarm(
        `${name}-latency-${suffix}`,
        {
          alarmDescription: pulumi.interpolate`HTTP API ${args.api.id}: ${stat} latency above ${thresholdMs} ms`,
          namespace: "AWS/ApiGateway",
          metricName: "Latency",
          dimensions,
          extendedStatistic: stat,
          period,
          comparisonOperator: "GreaterThanThreshold",
          threshold: positive(`HttpApiAlarms ${name}: ${stat} latency`, thresholdMs),
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
          treatMissingData: "notBreaching",
        },
        args.actions,
        parent,
      );
    this.latencyP90 = latency("p90", "p90", args.p90LatencyMs ?? 1000);
    this.latencyP99 = latency("p99", "p99", args.p99LatencyMs ?? 2500);
    this.registerOutputs({});
  }
}

// --- Synthetics -------------------------------------------------------------------------

export interface CanaryAlarmsArgs {
  canary: { name: pulumi.Input<string> };
  actions: AlarmActions;
  /** Alarm when SuccessPercent (average per period) is below this in 2 of 3 periods. Default 90. */
  minSuccessPercent?: number;
  /** At least the canary's interval. Default 300 s. */
  periodSeconds?: number;
}

export class CanaryAlarms extends pulumi.ComponentResource {
  public readonly successPercent: aws.cloudwatch.MetricAlarm;

  constructor(name: string, args: CanaryAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:alarms:CanaryAlarms", name, {}, opts);
    const minimum = positive(`CanaryAlarms ${name}: minSuccessPercent`, args.minSuccessPercent ?? 90);
    this.successPercent = notifyingAlarm(
      `${name}-success`,
      {
        alarmDescription: pulumi.interpolate`Synthetics canary ${args.canary.name}: success below ${minimum}%`,
        namespace: "CloudWatchSynthetics",
        metricName: "SuccessPercent",
        dimensions: { CanaryName: args.canary.name },
        statistic: "Average",
        period: args.periodSeconds ?? DEFAULT_PERIOD_SECONDS,
        comparisonOperator: "LessThanThreshold",
        threshold: minimum,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        // A canary that stops reporting is not checking anything: treat as failing.
        treatMissingData: "breaching",
      },
      args.actions,
      { parent: this },
    );
    this.registerOutputs({});
  }
}

// --- Logs -------------------------------------------------------------------------------

/** Namespace of the metrics the log metric filters publish. */
export const LOG_METRICS_NAMESPACE = "MediaPipeline/Logs";

/** JSON log lines at ERROR or worse (Powertools: ERROR, CRITICAL; the Lambda runtime: ERROR, FATAL). */
export const ERROR_LINES_PATTERN = '{ ($.level = "ERROR") || ($.level = "CRITICAL") || ($.level = "FATAL") }';
/** JSON log lines at DEBUG or below. */
export const DEBUG_LINES_PATTERN = '{ ($.level = "DEBUG") || ($.level = "TRACE") }';

/** The metric names a log source's filters publish, e.g. "mp-dev-extractor-ErrorLines". */
export function logMetricNames(source: string): { errorLines: string; debugLines: string } {
  return { errorLines: `${source}-ErrorLines`, debugLines: `${source}-DebugLines` };
}

export interface LogAlarmsArgs {
  /** A log group of JSON lines with a `level` field (Lambda logFormat JSON, Powertools Logger). */
  logGroup: { name: pulumi.Input<string> };
  /** Stack-unique name of what logs there (e.g. the function's logical name); names the metrics. */
  source: string;
  actions: AlarmActions;
  /** Alarm when ERROR lines in one period reach this (an error burst). Default 10 per 5 minutes. */
  errorLinesThreshold?: number;
  /**
   * Alarm when DEBUG lines per period exceed this for 3 periods in a row: debug logging left on
   * (the functions log at INFO; Lambda drops DEBUG lines unless someone lowers the level). Default 1000 per 5 minutes.
   */
  debugLinesThreshold?: number;
  periodSeconds?: number;
}

/** Metric filters counting ERROR and DEBUG lines of one log group, and an alarm on each. */
export class LogAlarms extends pulumi.ComponentResource {
  public readonly errorFilter: aws.cloudwatch.LogMetricFilter;
  public readonly debugFilter: aws.cloudwatch.LogMetricFilter;
  public readonly errorBurst: aws.cloudwatch.MetricAlarm;
  public readonly debugFlood: aws.cloudwatch.MetricAlarm;
  /** Metric names in LOG_METRICS_NAMESPACE. */
  public readonly metricNames: { errorLines: string; debugLines: string };

  constructor(name: string, args: LogAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:alarms:LogAlarms", name, {}, opts);
    const parent = { parent: this };
    const period = args.periodSeconds ?? DEFAULT_PERIOD_SECONDS;
    this.metricNames = logMetricNames(args.source);
    const filter = (suffix: string, pattern: string, metricName: string) =>
      new aws.cloudwatch.LogMetricFilter(
        `${name}-${suffix}`,
        {
          logGroupName: args.logGroup.name,
          pattern,
          metricTransformation: { namespace: LOG_METRICS_NAMESPACE, name: metricName, value: "1", unit: "Count" },
        },
        parent,
      );
    this.errorFilter = filter("error-lines", ERROR_LINES_PATTERN, this.metricNames.errorLines);
    this.debugFilter = filter("debug-lines", DEBUG_LINES_PATTERN, this.metricNames.debugLines);

    const errors = positive(`LogAlarms ${name}: errorLinesThreshold`, args.errorLinesThreshold ?? 10);
    const debug = positive(`LogAlarms ${name}: debugLinesThreshold`, args.debugLinesThreshold ?? 1000);
    const count = (metricName: string) => ({
      namespace: LOG_METRICS_NAMESPACE,
      metricName,
      statistic: "Sum",
      period,
      // No matching line, no data point: nothing to alarm on.
      treatMissingData: "notBreaching",
    });
    this.errorBurst = notifyingAlarm(
      `${name}-error-burst`,
      {
        ...count(this.metricNames.errorLines),
        alarmDescription: pulumi.interpolate`Logs ${args.logGroup.name}: ${errors} or more ERROR lines in ${period / 60} minutes`,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: errors,
        evaluationPeriods: 1,
      },
      args.actions,
      { parent: this, dependsOn: [this.errorFilter] },
    );
    this.debugFlood = notifyingAlarm(
      `${name}-debug-flood`,
      {
        ...count(this.metricNames.debugLines),
        alarmDescription: pulumi.interpolate`Logs ${args.logGroup.name}: more than ${debug} DEBUG lines per ${period / 60} minutes for ${(3 * period) / 60} minutes (debug logging left on?)`,
        comparisonOperator: "GreaterThanThreshold",
        threshold: debug,
        evaluationPeriods: 3,
      },
      args.actions,
      { parent: this, dependsOn: [this.debugFilter] },
    );
    this.registerOutputs({});
  }
}
