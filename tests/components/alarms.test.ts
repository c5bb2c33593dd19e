import { expect } from "chai";
import {
  AlarmTopic,
  CanaryAlarms,
  DEBUG_LINES_PATTERN,
  DeadLetterQueueAlarms,
  ERROR_LINES_PATTERN,
  HttpApiAlarms,
  LambdaAlarms,
  LOG_METRICS_NAMESPACE,
  LogAlarms,
  PIPELINE_TABLE_OPERATIONS,
  QueueAlarms,
  TableAlarms,
} from "../../components/alarms";
import type { PlannedResource } from "../../tools/plan/types";
import { policyOf, type Resources, settled, startMocks, T } from "./helpers";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms";
const actions = { topicArn: TOPIC };

/** The alarm of `res` whose logical name ends with `suffix`. */
function alarm(res: Resources, suffix: string): PlannedResource {
  return res.one(T.metricAlarm, suffix);
}

function expectNotifies(a: PlannedResource): void {
  expect(a.inputs.alarmActions, `${a.name} alarm actions`).to.deep.equal([TOPIC]);
  expect(a.inputs.okActions, `${a.name} OK actions`).to.deep.equal([TOPIC]);
  expect(a.inputs.actionsEnabled).to.equal(true);
  expect(a.inputs.insufficientDataActions ?? []).to.deep.equal([]);
}

interface MetricQuery {
  id: string;
  expression?: string;
  returnData?: boolean;
  metric?: { namespace: string; metricName: string; dimensions: Record<string, string>; stat: string; period: number };
}

describe("alarm templates", () => {
  beforeEach(startMocks);

  it("LambdaAlarms: Errors and Throttles sums, p99 Duration at 80% of the timeout, all notifying the topic", async () => {
    new LambdaAlarms("fn", { function: { name: "my-fn", timeout: 60 }, actions });
    const res = await settled();
    const errors = alarm(res, "-errors");
    expect(errors.inputs).to.deep.include({
      namespace: "AWS/Lambda",
      metricName: "Errors",
      statistic: "Sum",
      dimensions: { FunctionName: "my-fn" },
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      period: 300,
      treatMissingData: "notBreaching",
    });
    expect(alarm(res, "-throttles").inputs).to.deep.include({
      metricName: "Throttles",
      statistic: "Sum",
      threshold: 1,
    });
    const duration = alarm(res, "-duration");
    expect(duration.inputs).to.deep.include({
      metricName: "Duration",
      extendedStatistic: "p99",
      threshold: 48_000,
      comparisonOperator: "GreaterThanThreshold",
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    });
    expect(duration.inputs.statistic).to.equal(undefined);
    for (const a of res.ofType(T.metricAlarm)) expectNotifies(a);
    expect(res.ofType(T.metricAlarm).every((a) => a.parent === res.one(T.lambdaAlarms).urn)).to.equal(true);
  });

  it("LambdaAlarms: thresholds are arguments; Lambda's 3 s default timeout when none is set", async () => {
    new LambdaAlarms("fn", {
      function: { name: "f", timeout: undefined },
      actions,
      errorsThreshold: 5,
      throttlesThreshold: 2,
      durationPercentOfTimeout: 50,
    });
    const res = await settled();
    expect(alarm(res, "-errors").inputs.threshold).to.equal(5);
    expect(alarm(res, "-throttles").inputs.threshold).to.equal(2);
    expect(alarm(res, "-duration").inputs.threshold).to.equal(1500);
    expect(
      () => new LambdaAlarms("bad", { function: { name: "f", timeout: 3 }, actions, errorsThreshold: 0 }),
    ).to.throw(/errorsThreshold must be a positive number/);
  });

  it("QueueAlarms and DeadLetterQueueAlarms: age of the oldest message; any dead-lettered message, state kept when SQS goes quiet", async () => {
    new QueueAlarms("q", { queue: { name: "work" }, actions, maxAgeSeconds: 900 });
    new DeadLetterQueueAlarms("dlq", { queue: { name: "work-dlq" }, actions });
    const res = await settled();
    expect(alarm(res, "q-age").inputs).to.deep.include({
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: "work" },
      statistic: "Maximum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: 900,
      evaluationPeriods: 2,
      treatMissingData: "notBreaching",
    });
    expect(alarm(res, "dlq-depth").inputs).to.deep.include({
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: "work-dlq" },
      statistic: "Maximum",
      comparisonOperator: "GreaterThanThreshold",
      threshold: 0,
      treatMissingData: "ignore",
    });
    for (const a of res.ofType(T.metricAlarm)) expectNotifies(a);
  });

  it("TableAlarms: ThrottledRequests and SystemErrors summed over the operations with metric math", async () => {
    new TableAlarms("t", { table: { name: "docs" }, actions });
    const res = await settled();
    for (const [suffix, metricName] of [
      ["-throttles", "ThrottledRequests"],
      ["-system-errors", "SystemErrors"],
    ] as const) {
      const a = alarm(res, suffix);
      expect(a.inputs.metricName, "metric math alarms name no metric of their own").to.equal(undefined);
      expect(a.inputs).to.deep.include({ threshold: 1, comparisonOperator: "GreaterThanOrEqualToThreshold" });
      const queries = a.inputs.metricQueries as MetricQuery[];
      const metrics = queries.filter((q) => q.metric);
      expect(metrics.map((q) => q.metric?.dimensions)).to.deep.equal(
        PIPELINE_TABLE_OPERATIONS.map((op) => ({ TableName: "docs", Operation: op })),
      );
      expect(
        metrics.every((q) => q.metric?.metricName === metricName && q.metric.stat === "Sum" && !q.returnData),
      ).to.equal(true);
      expect(queries.filter((q) => q.returnData)).to.deep.equal([
        {
          id: "total",
          expression: "SUM(METRICS())",
          label: metricName === "SystemErrors" ? "System errors" : "Throttled requests",
          returnData: true,
        },
      ]);
      expectNotifies(a);
    }
    expect(() => new TableAlarms("x", { table: { name: "d" }, actions, operations: [] })).to.throw(/1 to 9 operations/);
  });

  it("HttpApiAlarms: 5xx rate = 5xx / Count (metric math, minimum traffic), p90 and p99 latency", async () => {
    new HttpApiAlarms("api", { api: { id: "abc123" }, actions });
    const res = await settled();
    const rate = alarm(res, "-5xx-rate");
    const queries = rate.inputs.metricQueries as MetricQuery[];
    expect(queries.find((q) => q.id === "requests")?.metric).to.deep.include({
      namespace: "AWS/ApiGateway",
      metricName: "Count",
      dimensions: { ApiId: "abc123" },
      stat: "Sum",
    });
    expect(queries.find((q) => q.id === "errors")?.metric).to.deep.include({ metricName: "5xx", stat: "Sum" });
    const returned = queries.filter((q) => q.returnData);
    expect(returned).to.have.length(1);
    expect(returned[0]?.expression).to.equal("IF(requests >= 10, 100 * errors / requests, 0)");
    expect(rate.inputs).to.deep.include({ threshold: 5, comparisonOperator: "GreaterThanThreshold" });
    for (const [suffix, stat, threshold] of [
      ["-latency-p90", "p90", 1000],
      ["-latency-p99", "p99", 2500],
    ] as const) {
      expect(alarm(res, suffix).inputs).to.deep.include({
        namespace: "AWS/ApiGateway",
        metricName: "Latency",
        dimensions: { ApiId: "abc123" },
        extendedStatistic: stat,
        threshold,
        treatMissingData: "notBreaching",
      });
    }
    for (const a of res.ofType(T.metricAlarm)) expectNotifies(a);
  });

  it("CanaryAlarms: SuccessPercent below 90, a silent canary counts as failing", async () => {
    new CanaryAlarms("c", { canary: { name: "health" }, actions });
    const res = await settled();
    const a = alarm(res, "-success");
    expect(a.inputs).to.deep.include({
      namespace: "CloudWatchSynthetics",
      metricName: "SuccessPercent",
      dimensions: { CanaryName: "health" },
      statistic: "Average",
      comparisonOperator: "LessThanThreshold",
      threshold: 90,
      treatMissingData: "breaching",
    });
    expectNotifies(a);
  });

  it("LogAlarms: metric filters on the log group for ERROR and DEBUG lines, and an alarm on each", async () => {
    new LogAlarms("logs", { logGroup: { name: "/aws/lambda/fn" }, source: "fn", actions });
    const res = await settled();
    const errorFilter = res.one(T.metricFilter, "-error-lines");
    expect(errorFilter.inputs).to.deep.include({ logGroupName: "/aws/lambda/fn", pattern: ERROR_LINES_PATTERN });
    expect(errorFilter.inputs.metricTransformation).to.deep.include({
      namespace: LOG_METRICS_NAMESPACE,
      name: "fn-ErrorLines",
      value: "1",
    });
    const debugFilter = res.one(T.metricFilter, "-debug-lines");
    expect(debugFilter.inputs.pattern).to.equal(DEBUG_LINES_PATTERN);
    expect(ERROR_LINES_PATTERN).to.contain('$.level = "ERROR"');
    expect(DEBUG_LINES_PATTERN).to.contain('$.level = "DEBUG"');
    const burst = alarm(res, "-error-burst");
    expect(burst.inputs).to.deep.include({
      namespace: LOG_METRICS_NAMESPACE,
      metricName: "fn-ErrorLines",
      statistic: "Sum",
      threshold: 10,
      evaluationPeriods: 1,
    });
    expect(burst.dependencies).to.include(errorFilter.urn);
    expect(alarm(res, "-debug-flood").inputs).to.deep.include({
      metricName: "fn-DebugLines",
      threshold: 1000,
      evaluationPeriods: 3,
      comparisonOperator: "GreaterThanThreshold",
    });
    for (const a of res.ofType(T.metricAlarm)) expectNotifies(a);
  });

  it("AlarmTopic: CloudWatch alarms of this account may publish; an e-mail subscription when an address is given", async () => {
    new AlarmTopic("alarms", { emailAddress: "ops@example.com" });
    new AlarmTopic("quiet", {});
    const res = await settled();
    const topic = res.one(T.topic, "alarms");
    const policy = policyOf(res.one(T.topicPolicy, "alarms-policy"));
    expect(res.one(T.topicPolicy, "alarms-policy").inputs.arn).to.equal(topic.state.arn);
    expect(policy.Statement).to.deep.equal([
      {
        Sid: "CloudWatchAlarmsOfThisAccount",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: "sns:Publish",
        Resource: topic.state.arn,
        Condition: {
          StringEquals: { "aws:SourceAccount": "123456789012" },
          ArnLike: { "aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*" },
        },
      },
    ]);
    expect(res.ofType(T.topicSubscription).map((s) => s.inputs)).to.deep.equal([
      { topic: topic.state.arn, protocol: "email", endpoint: "ops@example.com" },
    ]);
  });
});
