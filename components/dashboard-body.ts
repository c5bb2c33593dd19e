/**
 * The body of the stack's CloudWatch dashboard (PipelineObservability's aws.cloudwatch.Dashboard),
 * built from the resources' outputs: every metric on it names a function, queue, table, API,
 * distribution or canary of this stack, or a `service` this stack's functions publish EMF
 * metrics under. Widgets list each metric in full (no "." shorthand), so the body can be
 * checked mechanically (tests/components/dashboard-body.test.ts, dashboard-check.ts).
 * The format: "Dashboard Body Structure and Syntax", Amazon CloudWatch API reference
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html):
 * up to 500 widgets on a grid 24 columns wide.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Outcome } from "../lib/extractor-outcome";
import { METRICS_NAMESPACE } from "../lib/runtime-env";
import { type FunctionRef, LOG_METRICS_NAMESPACE, logMetricNames } from "./alarms";

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

type Input<T> = pulumi.Input<T>;

/** A function on the dashboard. */
export interface DashboardFunction {
  /** Shown on the dashboard, e.g. "Extractor". */
  label: string;
  /** Its name (FunctionName dimension) and timeout (a line on the duration widget). */
  function: FunctionRef;
  /** Stack-unique name of the function: names its log metrics (logMetricNames). */
  source: string;
}

export interface DashboardBodyArgs {
  /** Shown in the heading. */
  title: string;
  /** The stack's functions, in dashboard order. */
  functions: DashboardFunction[];
  queue: { name: Input<string> };
  deadLetterQueue: { name: Input<string> };
  table: { name: Input<string> };
  /** The HTTP API (ApiId dimension). */
  httpApi: { id: Input<string> };
  /** The dashboard site's distribution: CloudFront widgets (metrics in us-east-1). Default: none. */
  distribution?: { id: Input<string> };
  /** The extractor's Powertools service name: its EMF widgets. Default: none. */
  extractorMetrics?: { serviceName: string };
  /** The kill switch's Powertools service name: its EMF widget. Default: none. */
  killSwitchMetrics?: { serviceName: string };
  /** The health canary: its widget. Default: none. */
  canary?: { name: Input<string> };
  /** The stack's region: every widget but CloudFront's reads its metrics there. */
  region: Input<string>;
  /** Table operations whose throttles and system errors are drawn (TableAlarms.operations). */
  tableOperations: readonly string[];
  /** ARNs of the alarms the alarm status widget lists. */
  alarmArns: Input<string>[];
}

export interface DashboardBody {
  widgets: Widget[];
}
/** A metric row: [namespace, metric, dimension, value, ..., options?] or [{ expression, ... }]. */
type MetricRow = Input<string | Record<string, unknown>>[];

export interface Widget {
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

/** An EMF metric of a service: Powertools adds the `service` dimension to every metric it publishes. */
function emfRow(service: string, metric: string, options: Record<string, unknown>, extra: string[]): MetricRow {
  return [METRICS_NAMESPACE, metric, "service", service, ...extra, options];
}

/**
 * The dashboard's body (the JSON CloudWatch's PutDashboard takes, before serialization): a
 * heading, the alarm status widget, then per function, the queues, the table, the API, the
 * distribution, the extractor's and kill switch's EMF metrics, the log-line metrics and the
 * canary, in CloudWatch's 24-column grid. Values may be Outputs: pass the result through
 * pulumi.output and pulumi.jsonStringify.
 */
export function dashboardBody(args: DashboardBodyArgs): DashboardBody {
  const layout = new Layout();
  const { region } = args;

  layout.add("text", 24, 2, {
    markdown:
      `# ${args.title}\n` +
      "Alarms notify the stack's SNS alarm topic (stack output `alarmTopicArn`). " +
      "What each widget and alarm means: docs/observability.md.",
  });
  layout.add("alarm", 24, 4, {
    title: "Alarms",
    alarms: args.alarmArns,
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
    args.tableOperations.map((op) => ddb("ThrottledRequests", { stat: "Sum", label: op }, op)),
    { region },
  );
  metricWidget(
    layout,
    "Table system errors",
    args.tableOperations.map((op) => ddb("SystemErrors", { stat: "Sum", label: op }, op)),
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
    const emf = (metric: string, options: Record<string, unknown>, extra: string[] = []) =>
      emfRow(service, metric, options, extra);
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
    const ks = (metric: string, options: Record<string, unknown>, extra: string[] = []) =>
      emfRow(service, metric, options, extra);
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
