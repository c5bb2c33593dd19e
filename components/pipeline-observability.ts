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
 * (tests/components/pipeline-observability.test.ts). docs/observability.md describes it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Outcome } from "../handlers/extractor/process-change";
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
  LOG_METRICS_NAMESPACE,
  LogAlarms,
  type LogAlarmsArgs,
  logMetricNames,
  notifyingAlarm,
  QueueAlarms,
  TableAlarms,
} from "./alarms";
import { parseArn } from "./iam";

/** Every outcome the extractor counts in Objects (dimension Outcome); a new Outcome fails type checking here. */
const OUTCOME_LABELS: Record<Outcome, string> = {
  ok: "ok (document written)",
  unprocessable: "unprocessable (document written)",
  removed: "removed",
  "not-newer": "not newer (duplicate/out of order)",
  superseded: "superseded",
  "still-present": "still present (removal of an old version)",
};
export const EXTRACTOR_OUTCOMES = Object.keys(OUTCOME_LABELS) as Outcome[];

/** NotificationType values of the kill switch's BudgetAlerts metric. */
export const BUDGET_ALERT_TYPES = ["ACTUAL", "FORECASTED"] as const;

/** CloudFront publishes its metrics in us-east-1 only, under Region=Global. */
export const CLOUDFRONT_METRICS_REGION = "us-east-1";

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
            dashboardBody(args, { region, tableOperations: this.tableAlarms.operations, alarms: this.alarms }),
          ),
        ),
      },
      parent,
    );
    this.dashboardName = this.dashboard.dashboardName;

    this.registerOutputs({ dashboardName: this.dashboardName, alarmTopicArn: this.alarmTopicArn });
  }
}

// --- Dashboard body ----------------------------------------------------------------------

type Input<T> = pulumi.Input<T>;
/** A metric row: [namespace, metric, dimension, value, ..., options?] or [{ expression, ... }]. */
type MetricRow = Input<string | Record<string, unknown>>[];

interface Widget {
  type: "metric" | "text" | "alarm";
  x: number;
  y: number;
  width: number;
  height: number;
  properties: Record<string, unknown>;
}

/** Places widgets left to right in CloudWatch's 24-column grid. */
class Layout {
  readonly widgets: Widget[] = [];
  private x = 0;
  private y = 0;
  private rowHeight = 0;

  add(type: Widget["type"], width: number, height: number, properties: Record<string, unknown>): void {
    if (this.x + width > 24) this.newRow();
    this.widgets.push({ type, x: this.x, y: this.y, width, height, properties });
    this.x += width;
    this.rowHeight = Math.max(this.rowHeight, height);
  }

  newRow(): void {
    if (this.x === 0) return;
    this.y += this.rowHeight;
    this.x = 0;
    this.rowHeight = 0;
  }

  heading(markdown: string): void {
    this.newRow();
    this.add("text", 24, 1, { markdown });
    this.newRow();
  }
}

interface MetricWidgetOptions {
  region: Input<string>;
  stat?: string;
  period?: number;
  width?: number;
  height?: number;
  yAxis?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  stacked?: boolean;
}

function metricWidget(layout: Layout, title: string, metrics: MetricRow[], o: MetricWidgetOptions): void {
  layout.add("metric", o.width ?? 8, o.height ?? 6, {
    title,
    view: "timeSeries",
    stacked: o.stacked ?? false,
    region: o.region,
    period: o.period ?? 300,
    stat: o.stat ?? "Sum",
    metrics,
    ...(o.yAxis ? { yAxis: o.yAxis } : {}),
    ...(o.annotations ? { annotations: o.annotations } : {}),
  });
}

function dashboardBody(
  args: PipelineObservabilityArgs,
  ctx: { region: Input<string>; tableOperations: readonly string[]; alarms: aws.cloudwatch.MetricAlarm[] },
): { widgets: Widget[] } {
  const layout = new Layout();
  const { region } = ctx;

  layout.add("text", 24, 2, {
    markdown:
      `# ${args.title}\n` +
      "Alarms notify the stack's SNS alarm topic (stack output `alarmTopicArn`). " +
      "What each widget and alarm means: docs/observability.md.",
  });
  layout.add("alarm", 24, 4, {
    title: "Alarms",
    alarms: ctx.alarms.map((a) => a.arn),
    sortBy: "stateUpdatedTimestamp",
    states: ["ALARM", "INSUFFICIENT_DATA", "OK"],
  });

  // --- Functions ------------------------------------------------------------------------
  for (const f of args.functions) {
    layout.heading(`## ${f.label} function`);
    const fn = f.function.name;
    const lambda = (metric: string, options: Record<string, unknown>): MetricRow => [
      "AWS/Lambda",
      metric,
      "FunctionName",
      fn,
      options,
    ];
    metricWidget(
      layout,
      `${f.label}: invocations, errors, throttles`,
      [
        lambda("Invocations", { stat: "Sum", label: "Invocations" }),
        lambda("Errors", { stat: "Sum", label: "Errors", color: "#d62728" }),
        lambda("Throttles", { stat: "Sum", label: "Throttles", color: "#ff7f0e" }),
      ],
      { region },
    );
    metricWidget(
      layout,
      `${f.label}: concurrency`,
      [lambda("ConcurrentExecutions", { stat: "Maximum", label: "Concurrent executions" })],
      {
        region,
        stat: "Maximum",
      },
    );
    metricWidget(
      layout,
      `${f.label}: duration p50 / p90 / p99 (ms)`,
      [
        lambda("Duration", { stat: "p50", label: "p50" }),
        lambda("Duration", { stat: "p90", label: "p90" }),
        lambda("Duration", { stat: "p99", label: "p99" }),
      ],
      {
        region,
        stat: "p99",
        annotations: {
          horizontal: [
            {
              label: "timeout",
              value: pulumi.output(f.function.timeout).apply((t) => (t ?? 3) * 1000),
              color: "#d62728",
            },
          ],
        },
      },
    );
  }

  // --- Queue ------------------------------------------------------------------------------
  layout.heading("## Queue");
  const sqs = (queue: Input<string>, metric: string, options: Record<string, unknown>): MetricRow => [
    "AWS/SQS",
    metric,
    "QueueName",
    queue,
    options,
  ];
  metricWidget(
    layout,
    "Queue backlog",
    [
      sqs(args.queue.name, "ApproximateNumberOfMessagesVisible", { stat: "Maximum", label: "Waiting" }),
      sqs(args.queue.name, "ApproximateNumberOfMessagesNotVisible", { stat: "Maximum", label: "In flight" }),
      sqs(args.queue.name, "ApproximateAgeOfOldestMessage", { stat: "Maximum", label: "Oldest (s)", yAxis: "right" }),
    ],
    { region, stat: "Maximum" },
  );
  metricWidget(
    layout,
    "Queue throughput",
    [
      sqs(args.queue.name, "NumberOfMessagesSent", { stat: "Sum", label: "Sent (S3 events)" }),
      sqs(args.queue.name, "NumberOfMessagesDeleted", { stat: "Sum", label: "Deleted (processed)" }),
    ],
    { region },
  );
  metricWidget(
    layout,
    "Dead-letter queue depth",
    [
      sqs(args.deadLetterQueue.name, "ApproximateNumberOfMessagesVisible", {
        stat: "Maximum",
        label: "Dead-lettered messages",
        color: "#d62728",
      }),
    ],
    { region, stat: "Maximum", annotations: { horizontal: [{ label: "alarm: > 0", value: 0 }] } },
  );

  // --- Table ------------------------------------------------------------------------------
  layout.heading("## Table");
  const ddb = (metric: string, options: Record<string, unknown>, operation?: string): MetricRow => [
    "AWS/DynamoDB",
    metric,
    "TableName",
    args.table.name,
    ...(operation ? ["Operation", operation] : []),
    options,
  ];
  metricWidget(
    layout,
    "Table consumed capacity (on demand)",
    [
      ddb("ConsumedReadCapacityUnits", { stat: "Sum", label: "Read units" }),
      ddb("ConsumedWriteCapacityUnits", { stat: "Sum", label: "Write units" }),
    ],
    { region },
  );
  metricWidget(
    layout,
    "Table throttled requests",
    ctx.tableOperations.map((op) => ddb("ThrottledRequests", { stat: "Sum", label: op }, op)),
    { region },
  );
  metricWidget(
    layout,
    "Table system errors",
    ctx.tableOperations.map((op) => ddb("SystemErrors", { stat: "Sum", label: op }, op)),
    { region },
  );

  // --- API --------------------------------------------------------------------------------
  layout.heading("## Read API");
  const api = (metric: string, options: Record<string, unknown>): MetricRow => [
    "AWS/ApiGateway",
    metric,
    "ApiId",
    args.httpApi.id,
    options,
  ];
  metricWidget(
    layout,
    "API requests, 4xx, 5xx",
    [
      api("Count", { stat: "Sum", label: "Requests", id: "requests" }),
      api("4xx", { stat: "Sum", label: "4xx", id: "clientErrors" }),
      api("5xx", { stat: "Sum", label: "5xx", id: "serverErrors", color: "#d62728" }),
    ],
    { region },
  );
  metricWidget(
    layout,
    "API error rates (%)",
    [
      api("Count", { stat: "Sum", id: "requests", visible: false }),
      api("4xx", { stat: "Sum", id: "clientErrors", visible: false }),
      api("5xx", { stat: "Sum", id: "serverErrors", visible: false }),
      [{ expression: "100 * clientErrors / requests", label: "4xx rate (%)", id: "clientRate" }],
      [{ expression: "100 * serverErrors / requests", label: "5xx rate (%)", id: "serverRate", color: "#d62728" }],
    ],
    { region, yAxis: { left: { label: "%", min: 0 } } },
  );
  metricWidget(
    layout,
    "API latency p90 / p99 (ms)",
    [
      api("Latency", { stat: "p90", label: "Latency p90" }),
      api("Latency", { stat: "p99", label: "Latency p99" }),
      api("IntegrationLatency", { stat: "p99", label: "Integration latency p99" }),
    ],
    { region, stat: "p99" },
  );

  // --- CloudFront -------------------------------------------------------------------------
  if (args.distribution) {
    layout.heading("## Dashboard site (CloudFront, metrics in us-east-1)");
    const cf = (metric: string, options: Record<string, unknown>): MetricRow => [
      "AWS/CloudFront",
      metric,
      "DistributionId",
      args.distribution?.id ?? "",
      "Region",
      "Global",
      options,
    ];
    metricWidget(
      layout,
      "CloudFront error rate (%)",
      [
        cf("4xxErrorRate", { stat: "Average", label: "4xx rate" }),
        cf("5xxErrorRate", { stat: "Average", label: "5xx rate", color: "#d62728" }),
        cf("TotalErrorRate", { stat: "Average", label: "Total error rate" }),
      ],
      { region: CLOUDFRONT_METRICS_REGION, stat: "Average", width: 12 },
    );
    metricWidget(layout, "CloudFront requests", [cf("Requests", { stat: "Sum", label: "Requests" })], {
      region: CLOUDFRONT_METRICS_REGION,
      width: 12,
    });
  }

  // --- Extractor EMF ------------------------------------------------------------------------
  if (args.extractorMetrics) {
    const service = args.extractorMetrics.serviceName;
    layout.heading(`## Extractor metrics (namespace ${METRICS_NAMESPACE}, service ${service})`);
    const emf = (metric: string, options: Record<string, unknown>, extra: string[] = []): MetricRow => [
      METRICS_NAMESPACE,
      metric,
      "service",
      service,
      ...extra,
      options,
    ];
    metricWidget(
      layout,
      "Objects by outcome",
      EXTRACTOR_OUTCOMES.map((o) => emf("Objects", { stat: "Sum", label: OUTCOME_LABELS[o] }, ["Outcome", o])),
      { region, stacked: true },
    );
    metricWidget(
      layout,
      "ffprobe runs by exit code",
      [
        [
          {
            // Exit codes are open-ended ("0", "1", "killed", ...): one line per code seen.
            // No label: each line is labelled with its FfprobeExit value.
            expression: `SEARCH('{${METRICS_NAMESPACE},FfprobeExit,service} MetricName="FfprobeRuns" service="${service}"', 'Sum', 300)`,
            id: "exits",
          },
        ],
      ],
      { region, stacked: true },
    );
    metricWidget(
      layout,
      "Failures",
      [
        emf("Failures", { stat: "Sum", label: "Failures (will dead-letter)", color: "#d62728" }),
        emf("TransientFailures", { stat: "Sum", label: "Transient failures (retried)" }),
        emf("MalformedMessages", { stat: "Sum", label: "Malformed messages" }),
      ],
      { region },
    );
    metricWidget(
      layout,
      "Probe time p50 / p99 (ms)",
      [emf("ProbeTime", { stat: "p50", label: "p50" }), emf("ProbeTime", { stat: "p99", label: "p99" })],
      { region, stat: "p99", width: 12 },
    );
    metricWidget(
      layout,
      "Bytes read per object (ffprobe)",
      [
        emf("BytesRead", { stat: "Average", label: "average" }),
        emf("BytesRead", { stat: "Maximum", label: "maximum" }),
        emf("BytesRead", { stat: "Sum", label: "total", yAxis: "right" }),
      ],
      { region, stat: "Average", width: 12 },
    );
  }

  // --- Logs -------------------------------------------------------------------------------
  layout.heading(`## Log lines (metric filters, namespace ${LOG_METRICS_NAMESPACE})`);
  const logMetric = (metricName: string, label: string): MetricRow => [
    LOG_METRICS_NAMESPACE,
    metricName,
    { stat: "Sum", label },
  ];
  metricWidget(
    layout,
    "ERROR lines",
    args.functions.map((f) => logMetric(logMetricNames(f.source).errorLines, f.label)),
    { region, width: 12 },
  );
  metricWidget(
    layout,
    "DEBUG lines (should be none: functions log at INFO)",
    args.functions.map((f) => logMetric(logMetricNames(f.source).debugLines, f.label)),
    { region, width: 12 },
  );

  // --- Cost guard and canary ------------------------------------------------------------
  if (args.killSwitchMetrics || args.canary) layout.heading("## Cost guard and health canary");
  if (args.killSwitchMetrics) {
    const service = args.killSwitchMetrics.serviceName;
    const ks = (metric: string, options: Record<string, unknown>, extra: string[] = []): MetricRow => [
      METRICS_NAMESPACE,
      metric,
      "service",
      service,
      ...extra,
      options,
    ];
    metricWidget(
      layout,
      "Kill switch",
      [
        ...BUDGET_ALERT_TYPES.map((t) =>
          ks("BudgetAlerts", { stat: "Sum", label: `Budget alerts ${t}` }, ["NotificationType", t]),
        ),
        ks("PipelinePaused", { stat: "Sum", label: "Pipeline paused", color: "#d62728" }),
        ks("PauseFailures", { stat: "Sum", label: "Pause failures", color: "#ff7f0e" }),
        ks("UnparseableNotifications", { stat: "Sum", label: "Unparseable notifications" }),
      ],
      { region, period: 3600, width: 12 },
    );
  }
  if (args.canary) {
    const canary = (metric: string, options: Record<string, unknown>): MetricRow => [
      "CloudWatchSynthetics",
      metric,
      "CanaryName",
      args.canary?.name ?? "",
      options,
    ];
    metricWidget(
      layout,
      "Health canary (GET /health)",
      [
        canary("SuccessPercent", { stat: "Average", label: "Success %" }),
        canary("Duration", { stat: "Average", label: "Duration (ms)", yAxis: "right" }),
      ],
      { region, stat: "Average", width: 12, yAxis: { left: { label: "%", min: 0, max: 100 } } },
    );
  }
  return { widgets: layout.widgets };
}
