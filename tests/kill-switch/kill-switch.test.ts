import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { LambdaServiceException, TooManyRequestsException } from "@aws-sdk/client-lambda";
import { expect } from "chai";
import { handleBudgetNotifications, type KillSwitchDeps } from "../../handlers/kill-switch/kill-switch";
import { createLambdaPipelineControl, PAUSE_TAGS } from "../../handlers/kill-switch/lambda-control";
import { PipelineControlError } from "../../lib/pipeline-control";
import { budgetText, snsEvent } from "../../media/budget-events";
import { captureOutput, metricNames } from "./capture";
import { API, arnOf, EXTRACTOR, type FakeLambda, fakeLambda, MAPPING_UUID } from "./fake-lambda";

const AT = new Date("2026-03-14T06:15:00.000Z");

describe("kill switch: budget alert -> pause", () => {
  let fake: FakeLambda;

  function deps(overrides: Partial<KillSwitchDeps["policy"]> = {}, now = AT): KillSwitchDeps {
    return {
      control: createLambdaPipelineControl({
        lambda: fake.client,
        functions: [EXTRACTOR, API],
        eventSourceMappingUuid: MAPPING_UUID,
        sleep: async () => {},
      }),
      policy: { thresholdPercent: 100, pauseOnForecast: false, ...overrides },
      logger: new Logger({ serviceName: "kill-switch" }),
      metrics: new Metrics({ namespace: "MediaPipelineTest", serviceName: "kill-switch" }),
      now: () => now,
    };
  }

  beforeEach(() => {
    // The extractor reserves 5; the API has no reservation; the mapping is running.
    fake = fakeLambda({ functions: { [EXTRACTOR]: { reserved: 5, tags: {} }, [API]: { tags: {} } } });
  });
  afterEach(() => fake.mock.restore());

  it("an ACTUAL alert at exactly the threshold pauses: mapping first, then tag-before-throttle per function", async () => {
    const event = snsEvent(budgetText({ budgeted: "$100.00", amount: "$100.00" }));
    const { result } = await captureOutput(() => handleBudgetNotifications(event, deps()));
    const reason = "budget media-pipeline-prod ACTUAL at 100 pct of 100 reached the kill-switch threshold of 100 pct";
    expect(fake.sent()).to.deep.equal([
      ["GetEventSourceMapping", { UUID: MAPPING_UUID }],
      ["UpdateEventSourceMapping", { UUID: MAPPING_UUID, Enabled: false }],
      ["GetEventSourceMapping", { UUID: MAPPING_UUID }], // still Disabling
      ["GetEventSourceMapping", { UUID: MAPPING_UUID }], // Disabled: only now throttle the consumer
      ["GetFunction", { FunctionName: EXTRACTOR }],
      [
        "TagResource",
        {
          Resource: arnOf(EXTRACTOR),
          Tags: {
            [PAUSE_TAGS.pausedAt]: "2026-03-14T06:15:00.000Z",
            [PAUSE_TAGS.reason]: reason,
            [PAUSE_TAGS.previousConcurrency]: "5",
          },
        },
      ],
      ["PutFunctionConcurrency", { FunctionName: EXTRACTOR, ReservedConcurrentExecutions: 0 }],
      ["GetFunction", { FunctionName: API }],
      // Unreserved before the pause: no previous-concurrency tag, so resume deletes the limit.
      [
        "TagResource",
        { Resource: arnOf(API), Tags: { [PAUSE_TAGS.pausedAt]: AT.toISOString(), [PAUSE_TAGS.reason]: reason } },
      ],
      ["PutFunctionConcurrency", { FunctionName: API, ReservedConcurrentExecutions: 0 }],
    ]);
    expect(result?.[0].outcome).to.equal("paused");
    expect(fake.mapping.state).to.equal("Disabled");
  });

  it("above the threshold it pauses, logs a warning with the alert and emits PipelinePaused", async () => {
    const { lines } = await captureOutput(() =>
      handleBudgetNotifications(snsEvent(budgetText({ amount: "$131.40" }), "msg-above"), deps()),
    );
    expect(fake.functions.get(EXTRACTOR)?.reserved).to.equal(0);
    expect(fake.functions.get(API)?.reserved).to.equal(0);
    const paused = lines.find((l) => l.message === "budget alert: pipeline paused");
    expect(paused).to.include({ level: "WARN", messageId: "msg-above", budgetName: "media-pipeline-prod" });
    expect(paused?.percentOfBudget).to.be.closeTo(131.4, 1e-9);
    expect(metricNames(lines)).to.include.members(["PipelinePaused", "BudgetAlerts"]);
  });

  it("below the threshold sends no command at all and logs why", async () => {
    const event = snsEvent(budgetText({ threshold: "$80.00", amount: "$99.99" }), "msg-below");
    const { result, lines } = await captureOutput(() => handleBudgetNotifications(event, deps()));
    expect(fake.sent()).to.deep.equal([]);
    expect(result?.[0]).to.include({ outcome: "ignored" });
    const logged = lines.find((l) => l.message === "budget alert does not pause the pipeline");
    expect(logged).to.include({ level: "INFO", messageId: "msg-below" });
    expect(String(logged?.why)).to.contain("below the kill-switch threshold of 100%");
  });

  it("a duplicate SNS delivery changes nothing and keeps the remembered concurrency", async () => {
    const event = snsEvent(budgetText());
    await captureOutput(() => handleBudgetNotifications(event, deps()));
    fake.mock.resetHistory();
    const { result } = await captureOutput(() => handleBudgetNotifications(event, deps()));
    expect(fake.writes()).to.deep.equal([]); // above all: no second PutFunctionConcurrency or TagResource
    expect(result?.[0].outcome).to.equal("already-paused");
    expect(fake.functions.get(EXTRACTOR)?.tags[PAUSE_TAGS.previousConcurrency]).to.equal("5");
    expect(fake.functions.get(EXTRACTOR)?.reserved).to.equal(0);
  });

  it("a later, higher alert while paused keeps the first pause's time, reason and previous concurrency", async () => {
    await captureOutput(() => handleBudgetNotifications(snsEvent(budgetText({ amount: "$101.00" }), "m1"), deps()));
    const first = { ...fake.functions.get(EXTRACTOR)?.tags };
    fake.mock.resetHistory();
    const later = new Date("2026-03-15T06:15:00.000Z");
    await captureOutput(() =>
      handleBudgetNotifications(snsEvent(budgetText({ amount: "$180.00" }), "m2"), deps({}, later)),
    );
    expect(fake.writes()).to.deep.equal([]);
    expect(fake.functions.get(EXTRACTOR)?.tags).to.deep.equal(first);
    expect(first[PAUSE_TAGS.pausedAt]).to.equal(AT.toISOString());
  });

  it("a FORECASTED breach does not pause by default, while the same ACTUAL breach does", async () => {
    const forecast = snsEvent(budgetText({ type: "FORECASTED", amount: "$150.00" }), "msg-forecast");
    const { result } = await captureOutput(() => handleBudgetNotifications(forecast, deps()));
    expect(result?.[0]).to.include({ outcome: "ignored" });
    expect(fake.sent()).to.deep.equal([]);

    const actual = snsEvent(budgetText({ type: "ACTUAL", amount: "$150.00" }), "msg-actual");
    const second = await captureOutput(() => handleBudgetNotifications(actual, deps()));
    expect(second.result?.[0].outcome).to.equal("paused");
  });

  it("with KILL_SWITCH_PAUSE_ON_FORECAST a FORECASTED breach pauses, and the tag says FORECASTED", async () => {
    const forecast = snsEvent(budgetText({ type: "FORECASTED", amount: "$150.00" }));
    const { result } = await captureOutput(() => handleBudgetNotifications(forecast, deps({ pauseOnForecast: true })));
    expect(result?.[0].outcome).to.equal("paused");
    expect(fake.functions.get(API)?.tags[PAUSE_TAGS.reason]).to.contain("FORECASTED at 150 pct");
  });

  it("an unparseable message is logged with its message id, pauses nothing and does not throw", async () => {
    const event = snsEvent("Test message published from the SNS console", "msg-garbage", "test");
    const { result, error, lines } = await captureOutput(() => handleBudgetNotifications(event, deps()));
    expect(error).to.equal(undefined);
    expect(result?.[0]).to.include({ outcome: "unparseable", messageId: "msg-garbage" });
    expect(fake.sent()).to.deep.equal([]);
    const logged = lines.find((l) => l.message === "unparseable budget notification; not pausing");
    expect(logged).to.include({ level: "ERROR", messageId: "msg-garbage" });
    expect(metricNames(lines)).to.include("UnparseableNotifications");
  });

  it("a throttled Lambda API call is thrown (the async invoke retries), and the retry finishes without re-tagging", async () => {
    fake.failNext(
      "PutFunctionConcurrency",
      new TooManyRequestsException({
        message: "Rate exceeded",
        $metadata: { httpStatusCode: 429 },
        Reason: "CallerRateLimitExceeded",
      }),
    );
    const event = snsEvent(budgetText());
    const first = await captureOutput(() => handleBudgetNotifications(event, deps()));
    expect(first.error).to.be.instanceOf(PipelineControlError);
    expect((first.error as PipelineControlError).transient).to.equal(true);
    expect((first.error as Error).message).to.contain(`PutFunctionConcurrency on ${EXTRACTOR} failed`);
    expect((first.error as Error).message).to.contain("Rate exceeded");
    expect(metricNames(first.lines)).to.include("PauseFailures");
    // Half done: tagged (previous 5 remembered), not yet throttled.
    expect(fake.functions.get(EXTRACTOR)).to.deep.include({ reserved: 5 });
    expect(fake.functions.get(EXTRACTOR)?.tags[PAUSE_TAGS.previousConcurrency]).to.equal("5");

    fake.mock.resetHistory();
    const retry = await captureOutput(() => handleBudgetNotifications(event, deps()));
    expect(retry.error).to.equal(undefined);
    expect(fake.writes()).to.deep.equal([
      ["PutFunctionConcurrency", { FunctionName: EXTRACTOR, ReservedConcurrentExecutions: 0 }],
      ["TagResource", { Resource: arnOf(API), Tags: fake.functions.get(API)?.tags }],
      ["PutFunctionConcurrency", { FunctionName: API, ReservedConcurrentExecutions: 0 }],
    ]);
    expect(fake.functions.get(EXTRACTOR)?.tags[PAUSE_TAGS.previousConcurrency]).to.equal("5");
  });

  it("a permanent failure (access denied) is logged with the resource and not thrown into a retry loop", async () => {
    fake.failNext(
      "UpdateEventSourceMapping",
      new LambdaServiceException({
        name: "AccessDeniedException",
        $fault: "client",
        message: "User is not authorized to perform: lambda:UpdateEventSourceMapping",
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const { result, error, lines } = await captureOutput(() =>
      handleBudgetNotifications(snsEvent(budgetText(), "msg-denied"), deps()),
    );
    expect(error).to.equal(undefined);
    expect(result?.[0].outcome).to.equal("failed");
    const logged = lines.find((l) => l.level === "ERROR");
    expect(String(logged?.error)).to.contain(`UpdateEventSourceMapping on event source mapping ${MAPPING_UUID} failed`);
    expect(String(logged?.error)).to.contain("not authorized");
    expect(logged).to.include({ messageId: "msg-denied", part: `event source mapping ${MAPPING_UUID}` });
  });
});
