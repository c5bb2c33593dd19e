import { expect } from "chai";
import { ERROR_LINES_PATTERN } from "../../components/alarms";
import { EXTRACTOR_OUTCOMES } from "../../components/dashboard-body";
import { MediaPipeline } from "../../components/media-pipeline";
import { ENV } from "../../lib/runtime-env";
import type { PlannedResource } from "../../tools/plan/types";
import { coverage, danglingReferences, metricsOf, parseDashboard, stackNames } from "./dashboard-check";
import { type Resources, settled, startMocks, startMocksIn, T, testPipelineArgs } from "./helpers";

const REGION = "eu-west-1";

describe("PipelineObservability (in MediaPipeline)", () => {
  let res: Resources;
  let pipeline: MediaPipeline;
  let topicArn: string;

  before(async () => {
    // Not us-east-1, so the CloudFront widgets' own region is visible.
    await startMocksIn({ region: REGION });
    pipeline = new MediaPipeline(
      "mp-test",
      testPipelineArgs({ syntheticsCanary: true, alertEmail: "ops@example.com" }),
    );
    res = await settled();
    topicArn = res.oneUnder(res.one(T.alarmTopic), T.topic).state.arn as string;
  });
  after(startMocks);

  const alarms = () => res.ofType(T.metricAlarm);
  /** Alarms whose metric (or one of whose metric-math metrics) has these dimensions. */
  function alarmsOn(dimensions: Record<string, unknown>): PlannedResource[] {
    const matches = (d: unknown) =>
      Object.entries(dimensions).every(([k, v]) => (d as Record<string, unknown> | undefined)?.[k] === v);
    return alarms().filter(
      (a) =>
        matches(a.inputs.dimensions) ||
        ((a.inputs.metricQueries as { metric?: { dimensions: unknown } }[] | undefined) ?? []).some((q) =>
          matches(q.metric?.dimensions),
        ),
    );
  }
  const metricsOfAlarms = (list: PlannedResource[]) =>
    list.map(
      (a) =>
        a.inputs.metricName ?? (a.inputs.metricQueries as { metric?: { metricName: string } }[])[0]?.metric?.metricName,
    );

  it("builds a dashboard whose body is valid JSON and whose every metric names a resource of this stack", async () => {
    const dashboard = res.one(T.cloudwatchDashboard);
    expect(dashboard.inputs.dashboardName).to.equal("mp-test-pipeline");
    const body = parseDashboard(dashboard);
    expect(body.widgets.length).to.be.greaterThan(20);
    for (const w of body.widgets) {
      expect(w.x + w.width, `${w.properties.title} fits the 24-column grid`).to.be.at.most(24);
    }
    const names = stackNames(res);
    expect(danglingReferences(body, names, REGION)).to.deep.equal([]);

    // ... and every function, queue, table, API, distribution and canary is on it.
    const seen = coverage(body);
    // (The stats table of GET /stats is not charted yet: its aggregator function is, errors included.)
    names.TableName = new Set([...names.TableName].filter((t) => !t.startsWith("mp-test-stats-table")));
    for (const key of ["FunctionName", "QueueName", "TableName", "ApiId", "DistributionId", "CanaryName"] as const) {
      expect([...(seen[key] ?? [])].sort(), key).to.deep.equal([...names[key]].sort());
    }
    // EMF: the extractor's and the kill switch's metrics (the API publishes none).
    expect([...(seen.service ?? [])].sort()).to.deep.equal(["mp-test-cost-guard-kill-switch", "mp-test-extractor"]);
    expect([...(seen.logMetrics ?? [])].sort()).to.deep.equal([...names.logMetrics].sort());
    // The alarm widget lists every alarm of the stack.
    const alarmWidget = body.widgets.find((w) => w.type === "alarm");
    expect([...(alarmWidget?.properties.alarms ?? [])].sort()).to.deep.equal([...names.alarms].sort());
  });

  it("catches a dangling name (the check itself is not vacuous)", () => {
    const body = parseDashboard(res.one(T.cloudwatchDashboard));
    const widget = body.widgets.find((w) => w.properties.metrics?.some((m) => m[2] === "FunctionName"));
    const row = widget?.properties.metrics?.[0] as unknown[];
    row[3] = "some-other-stacks-function";
    const emf = body.widgets.find((w) => w.properties.metrics?.some((m) => m[0] === "MediaPipeline"));
    (emf?.properties.metrics?.[0] as unknown[])[3] = "extractor";
    const problems = danglingReferences(body, stackNames(res), REGION);
    expect(problems.join("\n")).to.contain("FunctionName=some-other-stacks-function is not a resource of this stack");
    expect(problems.join("\n")).to.contain("service=extractor is not a resource of this stack");
  });

  it("shows per function invocations, errors, throttles, concurrency and p50/p90/p99 duration", () => {
    const { metrics } = metricsOf(parseDashboard(res.one(T.cloudwatchDashboard)));
    for (const fn of res.ofType(T.function)) {
      const mine = metrics.filter((m) => m.namespace === "AWS/Lambda" && m.dimensions.FunctionName === fn.state.name);
      expect(
        mine.map((m) => m.metricName),
        fn.name,
      ).to.include.members(["Invocations", "Errors", "Throttles", "ConcurrentExecutions", "Duration"]);
    }
    const body = parseDashboard(res.one(T.cloudwatchDashboard));
    const durationWidget = body.widgets.find((w) => w.properties.title === "Extractor: duration p50 / p90 / p99 (ms)");
    const stats = durationWidget?.properties.metrics?.map((m) => (m.at(-1) as { stat: string }).stat);
    expect(stats).to.deep.equal(["p50", "p90", "p99"]);
  });

  it("reads CloudFront metrics in us-east-1 and the rest in the stack's region", () => {
    const { metrics } = metricsOf(parseDashboard(res.one(T.cloudwatchDashboard)));
    const cloudfront = metrics.filter((m) => m.namespace === "AWS/CloudFront");
    expect(cloudfront.map((m) => m.metricName)).to.include.members(["4xxErrorRate", "5xxErrorRate", "TotalErrorRate"]);
    expect(new Set(cloudfront.map((m) => m.region))).to.deep.equal(new Set(["us-east-1"]));
    expect(new Set(metrics.filter((m) => m.namespace !== "AWS/CloudFront").map((m) => m.region))).to.deep.equal(
      new Set([REGION]),
    );
  });

  it("charts the extractor's EMF metrics with the dimension sets Powertools emits (service [+ Outcome])", () => {
    const service = (
      res.one(T.function, "mp-test-extractor").inputs.environment as { variables: Record<string, string> }
    ).variables[ENV.serviceName];
    expect(service).to.equal("mp-test-extractor");
    const body = parseDashboard(res.one(T.cloudwatchDashboard));
    const emf = metricsOf(body).metrics.filter(
      (m) => m.namespace === "MediaPipeline" && m.dimensions.service === service,
    );
    expect(emf.filter((m) => m.metricName === "Objects").map((m) => m.dimensions)).to.deep.equal(
      EXTRACTOR_OUTCOMES.map((o) => ({ service, Outcome: o })),
    );
    for (const name of ["ProbeTime", "BytesRead", "Failures", "TransientFailures", "MalformedMessages"]) {
      expect(emf.filter((m) => m.metricName === name).map((m) => m.dimensions)[0], name).to.deep.equal({ service });
    }
    const search = body.widgets
      .flatMap((w) => w.properties.metrics ?? [])
      .map((m) => (m[0] as { expression?: string }).expression)
      .find((e) => e?.startsWith("SEARCH("));
    expect(search).to.equal(
      `SEARCH('{MediaPipeline,FfprobeExit,service} MetricName="FfprobeRuns" service="${service}"', 'Sum', 300)`,
    );
  });

  it("alarms on every function, the queue, the dead-letter queue, the table and the API, all to the stack's topic", () => {
    for (const fn of res.ofType(T.function)) {
      expect(metricsOfAlarms(alarmsOn({ FunctionName: fn.state.name })).sort(), fn.name).to.deep.equal([
        "Duration",
        "Errors",
        "Throttles",
      ]);
    }
    const queue = res.one(T.queue, "-queue");
    const dlq = res.one(T.queue, "-dlq");
    expect(metricsOfAlarms(alarmsOn({ QueueName: queue.state.name }))).to.deep.equal(["ApproximateAgeOfOldestMessage"]);
    expect(metricsOfAlarms(alarmsOn({ QueueName: dlq.state.name }))).to.deep.equal([
      "ApproximateNumberOfMessagesVisible",
    ]);
    expect(metricsOfAlarms(alarmsOn({ TableName: res.one(T.table, "test-table").state.name })).sort()).to.deep.equal([
      "SystemErrors",
      "ThrottledRequests",
    ]);
    expect(alarmsOn({ ApiId: res.one(T.httpApi).id })).to.have.length(3);
    expect(alarmsOn({ CanaryName: res.one(T.canary).state.name })).to.have.length(1);
    expect(alarmsOn({ service: "mp-test-cost-guard-kill-switch" }).map((a) => a.inputs.metricName)).to.deep.equal([
      "PauseFailures",
    ]);
    for (const a of alarms()) {
      expect(a.inputs.alarmActions, a.name).to.deep.equal([topicArn]);
      expect(a.inputs.okActions, a.name).to.deep.equal([topicArn]);
    }
    expect(pipeline.observability.alarms).to.have.length(alarms().length);
  });

  it("sizes the queue-age alarm beyond the time a failing message takes to be dead-lettered", () => {
    const age = alarmsOn({ QueueName: res.one(T.queue, "-queue").state.name })[0] as PlannedResource;
    const visibility = res.one(T.queue, "-queue").inputs.visibilityTimeoutSeconds as number;
    expect(age.inputs.threshold).to.equal(5 * visibility + 600);
  });

  it("puts ERROR and DEBUG metric filters on every function's log group, with an alarm on each", () => {
    const extractorLogs = res.one(T.logGroup, "extractor-logs");
    const filters = res.ofType(T.metricFilter).filter((f) => f.inputs.logGroupName === extractorLogs.state.name);
    expect(filters.map((f) => f.inputs.pattern)).to.include(ERROR_LINES_PATTERN);
    expect(filters).to.have.length(2);
    const functionLogGroups = res
      .ofType(T.function)
      .map((f) => (f.inputs.loggingConfig as { logGroup: string }).logGroup)
      .sort();
    const filtered = [...new Set(res.ofType(T.metricFilter).map((f) => f.inputs.logGroupName as string))].sort();
    expect(filtered).to.deep.equal(functionLogGroups);
    for (const f of res.ofType(T.metricFilter)) {
      const name = (f.inputs.metricTransformation as { name: string }).name;
      expect(
        alarms().filter((a) => a.inputs.metricName === name),
        name,
      ).to.have.length(1);
    }
  });

  it("subscribes the alert e-mail to the alarm topic and exposes the outputs", async () => {
    const topic = res.oneUnder(res.one(T.alarmTopic), T.topic);
    expect(res.under(res.one(T.alarmTopic), T.topicSubscription).map((s) => s.inputs)).to.deep.equal([
      { topic: topic.state.arn, protocol: "email", endpoint: "ops@example.com" },
    ]);
    const value = <V>(o: { apply<U>(f: (v: V) => U): unknown }) => new Promise<V>((r) => o.apply((v) => r(v)));
    expect(await value(pipeline.alarmTopicArn)).to.equal(topic.state.arn);
    expect(await value(pipeline.dashboardName)).to.equal("mp-test-pipeline");
  });
});
