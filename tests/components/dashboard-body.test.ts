/**
 * The dashboard body on its own (components/dashboard-body.ts), from plain names: every metric
 * names one of the given resources, every given resource and alarm is on it, optional sections
 * come and go with their inputs, and the widgets tile CloudWatch's 24-column grid. The checks
 * of dashboard-check.ts are the ones the observability and plan tests run on the whole stack.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { logMetricNames, PIPELINE_TABLE_OPERATIONS } from "../../components/alarms";
import {
  CLOUDFRONT_METRICS_REGION,
  type DashboardBodyArgs,
  dashboardBody,
  EXTRACTOR_OUTCOMES,
} from "../../components/dashboard-body";
import type { Outcome } from "../../lib/extractor-outcome";
import { coverage, type DashboardWidget, danglingReferences, metricsOf, type StackNames } from "./dashboard-check";
import { promiseOf } from "./helpers";

const REGION = "eu-west-1";
const ALARMS = [
  "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:extractor-errors",
  "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:queue-age",
  "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-5xx",
];

function fullArgs(overrides: Partial<DashboardBodyArgs> = {}): DashboardBodyArgs {
  return {
    title: "mp-x pipeline",
    functions: [
      { label: "Extractor", function: { name: "mp-x-extractor-1", timeout: 120 }, source: "mp-x-extractor" },
      // An Output, as a deployed function's name is.
      { label: "Read API", function: { name: pulumi.output("mp-x-api-2"), timeout: undefined }, source: "mp-x-api" },
    ],
    queue: { name: "mp-x-queue-3" },
    deadLetterQueue: { name: "mp-x-dlq-4" },
    table: { name: "mp-x-table-5" },
    httpApi: { id: "abc123" },
    distribution: { id: "E2EXAMPLE" },
    extractorMetrics: { serviceName: "mp-x-extractor" },
    killSwitchMetrics: { serviceName: "mp-x-kill-switch" },
    canary: { name: "mp-x-health" },
    region: REGION,
    tableOperations: PIPELINE_TABLE_OPERATIONS,
    alarmArns: ALARMS,
    ...overrides,
  };
}

/** The body as CloudWatch receives it: Outputs resolved, serialized and parsed back. */
async function bodyOf(args: DashboardBodyArgs): Promise<{ widgets: DashboardWidget[] }> {
  return JSON.parse(await promiseOf(pulumi.jsonStringify(pulumi.output(dashboardBody(args))))) as {
    widgets: DashboardWidget[];
  };
}

/** What a stack built from fullArgs() has, by dimension. */
function namesOf(args: DashboardBodyArgs, functionNames: string[]): StackNames {
  return {
    FunctionName: new Set(functionNames),
    QueueName: new Set([args.queue.name as string, args.deadLetterQueue.name as string]),
    TableName: new Set([args.table.name as string]),
    ApiId: new Set([args.httpApi.id as string]),
    DistributionId: new Set(args.distribution ? [args.distribution.id as string] : []),
    CanaryName: new Set(args.canary ? [args.canary.name as string] : []),
    service: new Set(
      [args.extractorMetrics?.serviceName, args.killSwitchMetrics?.serviceName].filter((s): s is string => !!s),
    ),
    logMetrics: new Set(args.functions.flatMap((f) => Object.values(logMetricNames(f.source)))),
    alarms: new Set(args.alarmArns as string[]),
  };
}

const FUNCTION_NAMES = ["mp-x-extractor-1", "mp-x-api-2"];

describe("dashboardBody", () => {
  it("names only the given resources, and every one of them", async () => {
    const args = fullArgs();
    const body = await bodyOf(args);
    const names = namesOf(args, FUNCTION_NAMES);
    expect(danglingReferences(body, names, REGION)).to.deep.equal([]);
    const seen = coverage(body);
    for (const key of ["FunctionName", "QueueName", "TableName", "ApiId", "DistributionId", "CanaryName"] as const) {
      expect([...(seen[key] ?? [])].sort(), key).to.deep.equal([...names[key]].sort());
    }
    expect([...(seen.service ?? [])].sort()).to.deep.equal(["mp-x-extractor", "mp-x-kill-switch"]);
    expect([...(seen.logMetrics ?? [])].sort()).to.deep.equal([...names.logMetrics].sort());
  });

  it("is caught by the check when it names another stack's function (the check is not vacuous)", async () => {
    const args = fullArgs();
    const body = await bodyOf(args);
    const problems = danglingReferences(body, namesOf(args, ["mp-x-extractor-1"]), REGION);
    expect(problems.join("\n")).to.contain("FunctionName=mp-x-api-2 is not a resource of this stack");
  });

  it("lists each alarm, exactly the given ones, in the alarm status widget", async () => {
    const body = await bodyOf(fullArgs());
    const alarmWidgets = body.widgets.filter((w) => w.type === "alarm");
    expect(alarmWidgets).to.have.length(1);
    expect(alarmWidgets[0]?.properties.alarms).to.deep.equal(ALARMS);
    const fewer = await bodyOf(fullArgs({ alarmArns: [pulumi.output(ALARMS[1] as string)] }));
    expect(fewer.widgets.find((w) => w.type === "alarm")?.properties.alarms).to.deep.equal([ALARMS[1]]);
  });

  it("draws each function's timeout on its duration widget (Lambda's 3 s when unset)", async () => {
    const body = await bodyOf(fullArgs());
    const timeoutOf = (title: string) =>
      (
        body.widgets.find((w) => w.properties.title === title)?.properties as {
          annotations?: { horizontal: { label: string; value: number }[] };
        }
      )?.annotations?.horizontal;
    expect(timeoutOf("Extractor: duration p50 / p90 / p99 (ms)")).to.deep.equal([
      { label: "timeout", value: 120_000, color: "#d62728" },
    ]);
    expect(timeoutOf("Read API: duration p50 / p90 / p99 (ms)")?.[0]?.value).to.equal(3000);
  });

  it("charts the given table operations and one Objects line per extractor outcome", async () => {
    const ops = ["GetItem", "Query"];
    const { metrics } = metricsOf(await bodyOf(fullArgs({ tableOperations: ops })));
    for (const metric of ["ThrottledRequests", "SystemErrors"]) {
      expect(metrics.filter((m) => m.metricName === metric).map((m) => m.dimensions.Operation)).to.deep.equal(ops);
    }
    const outcomes = metrics.filter((m) => m.metricName === "Objects").map((m) => m.dimensions.Outcome);
    const every: Record<Outcome, true> = {
      ok: true,
      unprocessable: true,
      removed: true,
      "not-newer": true,
      superseded: true,
      "still-present": true,
    };
    expect(outcomes).to.deep.equal(Object.keys(every));
    expect([...EXTRACTOR_OUTCOMES]).to.deep.equal(Object.keys(every));
  });

  it("reads CloudFront metrics in us-east-1, everything else in the stack's region", async () => {
    const { metrics } = metricsOf(await bodyOf(fullArgs()));
    const regions = (cf: boolean) =>
      new Set(metrics.filter((m) => (m.namespace === "AWS/CloudFront") === cf).map((m) => m.region));
    expect(regions(true)).to.deep.equal(new Set([CLOUDFRONT_METRICS_REGION]));
    expect(regions(false)).to.deep.equal(new Set([REGION]));
  });

  it("leaves out the CloudFront, EMF and canary sections when their inputs are absent", async () => {
    const args = fullArgs({
      distribution: undefined,
      extractorMetrics: undefined,
      killSwitchMetrics: undefined,
      canary: undefined,
    });
    const body = await bodyOf(args);
    const namespaces = new Set(metricsOf(body).metrics.map((m) => m.namespace));
    expect([...namespaces].sort()).to.deep.equal([
      "AWS/ApiGateway",
      "AWS/DynamoDB",
      "AWS/Lambda",
      "AWS/SQS",
      "MediaPipeline/Logs",
    ]);
    const headings = body.widgets.filter((w) => w.type === "text").map((w) => w.properties.markdown ?? "");
    expect(headings.some((h) => /CloudFront|Extractor metrics|Cost guard/.test(h))).to.equal(false);
    expect(danglingReferences(body, namesOf(args, FUNCTION_NAMES), REGION)).to.deep.equal([]);
  });

  it("tiles the 24-column grid: no widget overflows or overlaps another, headings span the width", async () => {
    const body = await bodyOf(fullArgs());
    expect(body.widgets.length).to.be.greaterThan(20);
    const cells = new Set<string>();
    for (const w of body.widgets) {
      expect(w.x + w.width, w.properties.title ?? w.type).to.be.at.most(24);
      for (let x = w.x; x < w.x + w.width; x++) {
        for (let y = w.y; y < w.y + w.height; y++) {
          const cell = `${x},${y}`;
          expect(cells.has(cell), `${w.properties.title ?? w.type} overlaps at ${cell}`).to.equal(false);
          cells.add(cell);
        }
      }
    }
    for (const w of body.widgets.filter((w) => w.type === "text")) expect(w.width).to.equal(24);
    expect(body.widgets[0]?.properties.markdown).to.match(/^# mp-x pipeline\n/);
  });
});
