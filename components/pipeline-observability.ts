/**
 * PipelineObservability: the stack's alarm topic, the alarms of every function, queue,
 * dead-letter queue, table and the API (templates of components/alarms.ts), metric filters
 * on the functions' JSON log groups (ERROR bursts, runaway DEBUG logging) with their alarms,
 * the kill switch's PauseFailures alarm, the canary's SuccessPercent alarm, and one
 * CloudWatch dashboard for the stack.
 *
 * The dashboard body is built from the resources' outputs (pulumi.output + jsonStringify),
 * so every metric on it names a function, queue, table, API, distribution or canary of this
 * stack, or a `service` this stack's functions publish EMF metrics under. Widgets list each
 * metric in full (no "." shorthand), so the body can be checked mechanically
 * (tests/components/dashboard-body.test.ts). The body is dashboard-body.ts;
 * docs/observability.md describes it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { METRICS_NAMESPACE } from "../lib/runtime-env";
import {
  type AlarmActions,
  AlarmTopic,
  CanaryAlarms,
  DeadLetterQueueAlarms,
  type FunctionRef,
  HttpApiAlarms,
  type HttpApiAlarmsArgs,
  LambdaAlarms,
  type LambdaAlarmsArgs,
  LogAlarms,
  type LogAlarmsArgs,
  notifyingAlarm,
  QueueAlarms,
  TableAlarms,
} from "./alarms";
import { dashboardBody } from "./dashboard-body";
import { parseArn } from "./iam";

export interface ObservedFunction {
  /** Shown on the dashboard, e.g. "Extractor". */
  label: string;
  /** The function (name and timeout are read); an aws.lambda.Function fits. */
  function: FunctionRef;
  /** Its log group of JSON lines (Lambda logFormat JSON): the metric filters go on it. */
  logGroup: { name: pulumi.Input<string> };
  /** Stack-unique name of the function (its logical name): names its log metrics. */
  source: string;
  /** Threshold overrides for its Lambda alarms. */
  alarms?: Omit<LambdaAlarmsArgs, "function" | "actions">;
  /** Threshold overrides for its log alarms. */
  logAlarms?: Pick<LogAlarmsArgs, "errorLinesThreshold" | "debugLinesThreshold">;
}

export interface PipelineObservabilityArgs {
  /** The dashboard's name (unique in the account). */
  dashboardName: string;
  /** Shown in the dashboard's heading. */
  title: string;
  /** Subscribe this address to the alarm topic. Empty/undefined: none. */
  alertEmail?: string;
  /** The stack's functions, in dashboard order. */
  functions: ObservedFunction[];
  /** The work queue; alarm when its oldest message is older than maxAgeSeconds. */
  queue: { name: pulumi.Input<string>; maxAgeSeconds?: number };
  deadLetterQueue: { name: pulumi.Input<string> };
  /** The table; `operations` are the ones whose throttles and errors count (default PIPELINE_TABLE_OPERATIONS). */
  table: { name: pulumi.Input<string>; operations?: readonly string[] };
  /** The HTTP API (ApiId dimension) and its alarm thresholds. */
  httpApi: { id: pulumi.Input<string> } & Omit<HttpApiAlarmsArgs, "api" | "actions">;
  /** The dashboard's CloudFront distribution (error rate widget, us-east-1 metrics). */
  distribution?: { id: pulumi.Input<string> };
  /** The extractor's EMF metrics: its Powertools service name. */
  extractorMetrics?: { serviceName: string };
  /** The kill switch's EMF metrics (PauseFailures alarm, budget alert widget). */
  killSwitchMetrics?: { serviceName: string };
  /** The health canary (SuccessPercent alarm and widget); its interval sets the alarm's period. */
  canary?: { name: pulumi.Input<string>; rateMinutes: number };
}

export class PipelineObservability extends pulumi.ComponentResource {
  public readonly alarmTopic: AlarmTopic;
  public readonly functionAlarms: LambdaAlarms[];
  public readonly logAlarms: LogAlarms[];
  public readonly queueAlarms: QueueAlarms;
  public readonly deadLetterQueueAlarms: DeadLetterQueueAlarms;
  public readonly tableAlarms: TableAlarms;
  public readonly apiAlarms: HttpApiAlarms;
  public readonly canaryAlarms?: CanaryAlarms;
  /** The kill switch failed to pause (EMF PauseFailures). */
  public readonly pauseFailures?: aws.cloudwatch.MetricAlarm;
  /** Every alarm above. */
  public readonly alarms: aws.cloudwatch.MetricAlarm[];
  public readonly dashboard: aws.cloudwatch.Dashboard;
  public readonly dashboardName: pulumi.Output<string>;
  public readonly alarmTopicArn: pulumi.Output<string>;

  constructor(name: string, args: PipelineObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:observability:PipelineObservability", name, {}, opts);
    const parent = { parent: this };
    if (args.functions.length === 0) throw new Error(`PipelineObservability ${name}: no functions to observe`);
    const sources = args.functions.map((f) => f.source);
    if (new Set(sources).size !== sources.length) {
      throw new Error(`PipelineObservability ${name}: function sources must be unique, got ${sources.join(", ")}`);
    }

    this.alarmTopic = new AlarmTopic(`${name}-alarms`, { emailAddress: args.alertEmail }, parent);
    this.alarmTopicArn = this.alarmTopic.arn;
    const actions: AlarmActions = { topicArn: this.alarmTopic.arn };

    this.functionAlarms = args.functions.map(
      (f) => new LambdaAlarms(`${f.source}-alarms`, { ...f.alarms, function: f.function, actions }, parent),
    );
    this.logAlarms = args.functions.map(
      (f) =>
        new LogAlarms(
          `${f.source}-log-alarms`,
          { ...f.logAlarms, logGroup: f.logGroup, source: f.source, actions },
          parent,
        ),
    );
    this.queueAlarms = new QueueAlarms(
      `${name}-queue`,
      { queue: args.queue, maxAgeSeconds: args.queue.maxAgeSeconds, actions },
      parent,
    );
    this.deadLetterQueueAlarms = new DeadLetterQueueAlarms(
      `${name}-dlq`,
      { queue: args.deadLetterQueue, actions },
      parent,
    );
    this.tableAlarms = new TableAlarms(
      `${name}-table`,
      { table: args.table, operations: args.table.operations, actions },
      parent,
    );
    const { id: apiId, ...apiThresholds } = args.httpApi;
    this.apiAlarms = new HttpApiAlarms(`${name}-api`, { ...apiThresholds, api: { id: apiId }, actions }, parent);
    if (args.canary) {
      this.canaryAlarms = new CanaryAlarms(
        `${name}-canary`,
        { canary: args.canary, periodSeconds: Math.max(300, args.canary.rateMinutes * 60), actions },
        parent,
      );
    }
    if (args.killSwitchMetrics) {
      this.pauseFailures = notifyingAlarm(
        `${name}-kill-switch-pause-failures`,
        {
          alarmDescription:
            "Kill switch: a pause failed and was not retried (PauseFailures); the pipeline may run over budget",
          namespace: METRICS_NAMESPACE,
          metricName: "PauseFailures",
          dimensions: { service: args.killSwitchMetrics.serviceName },
          statistic: "Sum",
          period: 300,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          threshold: 1,
          evaluationPeriods: 1,
          treatMissingData: "notBreaching",
        },
        actions,
        parent,
      );
    }
    this.alarms = [
      ...this.functionAlarms.flatMap((a) => [a.errors, a.throttles, a.duration]),
      ...this.logAlarms.flatMap((a) => [a.errorBurst, a.debugFlood]),
      this.queueAlarms.oldestMessageAge,
      this.deadLetterQueueAlarms.visibleMessages,
      this.tableAlarms.throttledRequests,
      this.tableAlarms.systemErrors,
      this.apiAlarms.serverErrorRate,
      this.apiAlarms.latencyP90,
      this.apiAlarms.latencyP99,
      ...(this.canaryAlarms ? [this.canaryAlarms.successPercent] : []),
      ...(this.pauseFailures ? [this.pauseFailures] : []),
    ];

    const region = this.alarmTopic.arn.apply((arn) => parseArn(arn).region);
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: args.dashboardName,
        dashboardBody: pulumi.jsonStringify(
          pulumi.output(
            dashboardBody({
              ...args,
              region,
              tableOperations: this.tableAlarms.operations,
              alarmArns: this.alarms.map((a) => a.arn),
            }),
          ),
        ),
      },
      parent,
    );
    this.dashboardName = this.dashboard.dashboardName;

    this.registerOutputs({ dashboardName: this.dashboardName, alarmTopicArn: this.alarmTopicArn });
  }
}
