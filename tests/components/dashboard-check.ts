/**
 * Checks a CloudWatch dashboard body against the resources of the plan it belongs to: every
 * metric must name (by its dimensions) a function, queue, table, API, distribution or canary
 * of the stack, or a `service` the stack's functions publish EMF metrics under; log metrics
 * must be published by a metric filter of the stack; math expressions may only reference
 * metrics of their widget; SEARCH expressions only the stack's services. Used by the
 * observability component test and the plan's acceptance test.
 */
import { PIPELINE_TABLE_OPERATIONS } from "../../components/alarms";
import { BUDGET_ALERT_TYPES, CLOUDFRONT_METRICS_REGION, EXTRACTOR_OUTCOMES } from "../../components/dashboard-body";
import { ENV, METRICS_NAMESPACE } from "../../lib/runtime-env";
import type { PlannedResource } from "../../tools/plan/types";
import { type Resources, T } from "./helpers";

export interface DashboardWidget {
  type: string;
  x: number;
  y: number;
  width: number;
  height: number;
  properties: {
    title?: string;
    region?: string;
    metrics?: unknown[][];
    alarms?: string[];
    markdown?: string;
  };
}

export interface MetricRef {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  widget: string;
  region?: string;
}

/** What the stack has, by CloudWatch dimension. */
export interface StackNames {
  FunctionName: Set<string>;
  QueueName: Set<string>;
  TableName: Set<string>;
  ApiId: Set<string>;
  DistributionId: Set<string>;
  CanaryName: Set<string>;
  service: Set<string>;
  logMetrics: Set<string>;
  alarms: Set<string>;
}

/** Dimensions that qualify a resource rather than name one, with the values they may take. */
const QUALIFIERS: Record<string, readonly string[]> = {
  Operation: PIPELINE_TABLE_OPERATIONS,
  Region: ["Global"],
  Outcome: EXTRACTOR_OUTCOMES,
  NotificationType: BUDGET_ALERT_TYPES,
};

export function stackNames(res: Resources): StackNames {
  const names = (type: string, key = "name") => new Set(res.ofType(type).map((r) => String(r.state[key])));
  const env = (r: PlannedResource) =>
    (r.inputs.environment as { variables?: Record<string, string> } | undefined)?.variables;
  return {
    FunctionName: names(T.function),
    QueueName: names(T.queue),
    TableName: names(T.table),
    ApiId: new Set(res.ofType(T.httpApi).map((r) => r.id as string)),
    DistributionId: new Set(res.ofType(T.distribution).map((r) => r.id as string)),
    CanaryName: names(T.canary),
    service: new Set(
      res
        .ofType(T.function)
        .map((f) => env(f)?.[ENV.serviceName])
        .filter((s): s is string => !!s),
    ),
    logMetrics: new Set(
      res.ofType(T.metricFilter).map((f) => (f.inputs.metricTransformation as { name: string }).name),
    ),
    alarms: names(T.metricAlarm, "arn"),
  };
}

export function parseDashboard(dashboard: PlannedResource): { widgets: DashboardWidget[] } {
  const body = dashboard.inputs.dashboardBody;
  if (typeof body !== "string") throw new Error(`${dashboard.name} has no dashboardBody string`);
  return JSON.parse(body) as { widgets: DashboardWidget[] };
}

/** Every metric of the body's metric widgets, parsed from the [namespace, name, k, v, ..., options] form. */
export function metricsOf(body: { widgets: DashboardWidget[] }): { metrics: MetricRef[]; problems: string[] } {
  const metrics: MetricRef[] = [];
  const problems: string[] = [];
  for (const w of body.widgets.filter((w) => w.type === "metric")) {
    const title = w.properties.title ?? "(untitled)";
    const rows = w.properties.metrics ?? [];
    if (rows.length === 0) problems.push(`${title}: no metrics`);
    const ids = new Set(
      rows
        .map((r) => (r.at(-1) as { id?: string } | undefined)?.id)
        .filter((id): id is string => typeof id === "string"),
    );
    for (const row of rows) {
      const first = row[0];
      if (typeof first === "object" && first !== null) {
        const expression = (first as { expression?: string }).expression;
        if (typeof expression !== "string") problems.push(`${title}: a row is neither a metric nor an expression`);
        else problems.push(...checkExpression(title, expression, ids));
        continue;
      }
      const options = typeof row.at(-1) === "object" ? (row.at(-1) as Record<string, unknown>) : undefined;
      const parts = options ? row.slice(0, -1) : row;
      if (!parts.every((p) => typeof p === "string" && p !== "")) {
        problems.push(`${title}: metric row ${JSON.stringify(row)} has an empty or non-string part`);
        continue;
      }
      const [namespace, metricName, ...dims] = parts as string[];
      if (namespace === "." || metricName === "." || dims.includes(".")) {
        problems.push(`${title}: "." shorthand in ${JSON.stringify(row)}`);
      }
      if (dims.length % 2 !== 0) problems.push(`${title}: odd dimension list in ${JSON.stringify(row)}`);
      const dimensions: Record<string, string> = {};
      for (let i = 0; i < dims.length; i += 2) dimensions[dims[i] as string] = dims[i + 1] as string;
      metrics.push({
        namespace: namespace as string,
        metricName: metricName as string,
        dimensions,
        widget: title,
        region: (options?.region as string | undefined) ?? w.properties.region,
      });
    }
  }
  return { metrics, problems };
}

/** Identifiers a math expression uses must be ids of its widget's rows; SEARCH must stay in the stack. */
function checkExpression(title: string, expression: string, ids: Set<string>, services?: Set<string>): string[] {
  if (expression.startsWith("SEARCH(")) {
    const service = /service="([^"]+)"/.exec(expression)?.[1];
    if (!service) return [`${title}: SEARCH without a service filter: ${expression}`];
    return services && !services.has(service) ? [`${title}: SEARCH names service ${service}, not the stack's`] : [];
  }
  const used = expression.match(/\b[a-z][A-Za-z0-9_]*\b/g) ?? [];
  return used
    .filter((id) => !ids.has(id))
    .map((id) => `${title}: expression uses ${id}, which no row of the widget defines`);
}

/** Everything on the dashboard that does not name something of this stack. */
export function danglingReferences(
  body: { widgets: DashboardWidget[] },
  names: StackNames,
  stackRegion: string,
): string[] {
  const { metrics, problems } = metricsOf(body);
  for (const w of body.widgets) {
    for (const row of w.properties.metrics ?? []) {
      const expression = (row[0] as { expression?: string } | undefined)?.expression;
      if (typeof expression === "string" && expression.startsWith("SEARCH(")) {
        problems.push(...checkExpression(w.properties.title ?? "", expression, new Set(), names.service));
      }
    }
    for (const alarm of w.properties.alarms ?? []) {
      if (!names.alarms.has(alarm)) problems.push(`alarm widget lists ${alarm}, not an alarm of the stack`);
    }
  }
  for (const m of metrics) {
    const what = `${m.widget}: ${m.namespace} ${m.metricName}`;
    if (m.namespace === "AWS/CloudFront") {
      if (m.region !== CLOUDFRONT_METRICS_REGION) problems.push(`${what} is read in ${m.region}, not us-east-1`);
    } else if (m.region !== stackRegion) {
      problems.push(`${what} is read in ${m.region}, not the stack's region ${stackRegion}`);
    }
    if (m.namespace === "MediaPipeline/Logs") {
      if (!names.logMetrics.has(m.metricName)) problems.push(`${what}: no metric filter of the stack publishes it`);
      if (Object.keys(m.dimensions).length > 0) problems.push(`${what}: log metrics have no dimensions`);
      continue;
    }
    const named = Object.keys(m.dimensions).filter((k) => !(k in QUALIFIERS));
    if (named.length === 0) problems.push(`${what}: names no resource (dimensions ${JSON.stringify(m.dimensions)})`);
    if (m.namespace === METRICS_NAMESPACE && !("service" in m.dimensions)) {
      problems.push(`${what}: an EMF metric without the service dimension Powertools adds`);
    }
    for (const [key, value] of Object.entries(m.dimensions)) {
      if (key in QUALIFIERS) {
        if (!(QUALIFIERS[key] as readonly string[]).includes(value))
          problems.push(`${what}: ${key}=${value} is unexpected`);
        continue;
      }
      const known = names[key as keyof StackNames] as Set<string> | undefined;
      if (!known || key === "logMetrics" || key === "alarms") problems.push(`${what}: unknown dimension ${key}`);
      else if (!known.has(value)) problems.push(`${what}: ${key}=${value} is not a resource of this stack`);
    }
  }
  return problems;
}

/** Which of the stack's resources (by dimension) appear on the dashboard. */
export function coverage(body: { widgets: DashboardWidget[] }): Record<string, Set<string>> {
  const out: Record<string, Set<string>> = {};
  const add = (key: string, value: string) => {
    const set = out[key] ?? new Set<string>();
    set.add(value);
    out[key] = set;
  };
  for (const m of metricsOf(body).metrics) {
    for (const [k, v] of Object.entries(m.dimensions)) add(k, v);
    if (m.namespace === "MediaPipeline/Logs") add("logMetrics", m.metricName);
  }
  return out;
}
