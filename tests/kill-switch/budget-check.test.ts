/**
 * Re-arming: a Budgets notification fires once per period, so after a resume mid-month only
 * the scheduled budget check (DescribeBudget against the threshold) can pause again.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { BudgetsClient, DescribeBudgetCommand } from "@aws-sdk/client-budgets";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { alertsFromBudget, checkBudget, SCHEDULED_CHECK_ID } from "../../handlers/kill-switch/budget-check";
import { readKillSwitchConfig } from "../../handlers/kill-switch/config";
import { isScheduledEvent } from "../../handlers/kill-switch/index";
import { handleBudgetNotifications, type KillSwitchDeps } from "../../handlers/kill-switch/kill-switch";
import { createLambdaPipelineControl, PAUSE_TAGS } from "../../handlers/kill-switch/lambda-control";
import { ENV } from "../../lib/runtime-env";
import { budgetText, snsEvent } from "../../media/budget-events";
import { captureOutput, metricNames } from "./capture";
import { API, EXTRACTOR, type FakeLambda, fakeLambda, MAPPING_UUID } from "./fake-lambda";

const BACKFILL = "mp-prod-backfill-77aa001";
const BUDGET = { accountId: "210987654321", budgetName: "media-pipeline-prod" };

describe("kill switch: scheduled budget check (re-arming after a resume)", () => {
  let fake: FakeLambda;
  const budgets = mockClient(BudgetsClient);
  const client = new BudgetsClient({ region: "us-east-1" });
  let spend: { limit: string; actual: string; forecast?: string };

  function deps(policy: Partial<KillSwitchDeps["policy"]> = {}): KillSwitchDeps {
    return {
      control: createLambdaPipelineControl({
        lambda: fake.client,
        functions: [EXTRACTOR, BACKFILL, API],
        eventSourceMappingUuid: MAPPING_UUID,
        sleep: async () => {},
      }),
      policy: { thresholdPercent: 100, pauseOnForecast: false, ...policy },
      logger: new Logger({ serviceName: "kill-switch" }),
      metrics: new Metrics({ namespace: "MediaPipelineTest", serviceName: "kill-switch" }),
      now: () => new Date("2026-03-14T06:15:00.000Z"),
    };
  }

  const check = (policy: Partial<KillSwitchDeps["policy"]> = {}) =>
    captureOutput(() => checkBudget(client, BUDGET, deps(policy)));

  beforeEach(() => {
    fake = fakeLambda({
      functions: { [EXTRACTOR]: { reserved: 5, tags: {} }, [BACKFILL]: { tags: {} }, [API]: { tags: {} } },
    });
    spend = { limit: "100.0", actual: "104.17" };
    budgets.reset();
    budgets.on(DescribeBudgetCommand).callsFake(async (input) => {
      expect(input).to.deep.equal({ AccountId: BUDGET.accountId, BudgetName: BUDGET.budgetName });
      return {
        Budget: {
          BudgetName: BUDGET.budgetName,
          BudgetType: "COST",
          TimeUnit: "MONTHLY",
          BudgetLimit: { Amount: spend.limit, Unit: "USD" },
          CalculatedSpend: {
            ActualSpend: { Amount: spend.actual, Unit: "USD" },
            ...(spend.forecast ? { ForecastedSpend: { Amount: spend.forecast, Unit: "USD" } } : {}),
          },
        },
      };
    });
  });
  afterEach(() => fake.mock.restore());

  it("pauses again after a mid-month resume while the spend is still over, with no new notification", async () => {
    // The month's one notification pauses the extractor, the backfill and the API...
    await captureOutput(() => handleBudgetNotifications(snsEvent(budgetText()), deps()));
    expect([...fake.functions.values()].map((f) => f.reserved)).to.deep.equal([0, 0, 0]);
    // ...the operator resumes; Budgets keeps that notification in ALARM: nothing arrives by SNS.
    await deps().control.resume();
    expect(fake.mapping.state).to.match(/^Enabl/);
    expect(fake.functions.get(BACKFILL)?.reserved).to.equal(undefined);

    const { result, lines } = await check();
    expect(result).to.include({ messageId: SCHEDULED_CHECK_ID, outcome: "paused" });
    expect(fake.mapping.state).to.equal("Disabled");
    expect([...fake.functions.values()].map((f) => f.reserved)).to.deep.equal([0, 0, 0]);
    expect(fake.functions.get(EXTRACTOR)?.tags[PAUSE_TAGS.previousConcurrency]).to.equal("5");
    expect(String(fake.functions.get(API)?.tags[PAUSE_TAGS.reason])).to.contain("ACTUAL at 104.17 pct of 100");
    expect(metricNames(lines)).to.include("PipelinePaused");
  });

  it("changes nothing while the spend is below the threshold, or once the budget was raised", async () => {
    spend = { limit: "100", actual: "99.99" };
    let { result } = await check();
    expect(result).to.include({ outcome: "ignored" });
    spend = { limit: "200", actual: "150" };
    ({ result } = await check());
    expect(result).to.include({ outcome: "ignored" });
    expect(fake.writes()).to.deep.equal([]);
  });

  it("a check while paused is a no-op that keeps the first pause", async () => {
    await check();
    const tags = { ...fake.functions.get(EXTRACTOR)?.tags };
    fake.mock.resetHistory();
    const { result } = await check();
    expect(result).to.include({ outcome: "already-paused" });
    expect(fake.writes()).to.deep.equal([]);
    expect(fake.functions.get(EXTRACTOR)?.tags).to.deep.equal(tags);
  });

  it("pauses on the forecast only when forecasts may pause", async () => {
    spend = { limit: "100", actual: "40", forecast: "130" };
    let { result } = await check();
    expect(result).to.include({ outcome: "ignored" });
    ({ result } = await check({ pauseOnForecast: true }));
    expect(result).to.include({ outcome: "paused" });
    expect(String(fake.functions.get(EXTRACTOR)?.tags[PAUSE_TAGS.reason])).to.contain("FORECASTED at 130 pct");
  });

  it("reads the budget's amounts as percent of its limit and refuses a budget without one", () => {
    const [actual, forecast] = alertsFromBudget({
      BudgetName: "b",
      BudgetType: "COST",
      TimeUnit: "MONTHLY",
      BudgetLimit: { Amount: "50", Unit: "USD" },
      CalculatedSpend: { ActualSpend: { Amount: "12.5", Unit: "USD" }, ForecastedSpend: { Amount: "75", Unit: "USD" } },
    });
    expect(actual).to.include({ notificationType: "ACTUAL", percentOfBudget: 25, format: "api" });
    expect(forecast).to.include({ notificationType: "FORECASTED", percentOfBudget: 150 });
    expect(() => alertsFromBudget({ BudgetName: "b", BudgetType: "COST", TimeUnit: "MONTHLY" })).to.throw(
      /no positive BudgetLimit/,
    );
  });

  it("the handler tells a schedule from SNS, and its configuration names the backfill and the budget", () => {
    expect(isScheduledEvent({ "detail-type": "Scheduled Event", source: "aws.events", detail: {} })).to.equal(true);
    expect(isScheduledEvent(snsEvent(budgetText()))).to.equal(false);
    const config = readKillSwitchConfig({
      [ENV.extractorFunctionName]: EXTRACTOR,
      [ENV.backfillFunctionName]: BACKFILL,
      [ENV.apiFunctionName]: API,
      [ENV.extractorEventSourceMappingUuid]: MAPPING_UUID,
      [ENV.budgetName]: BUDGET.budgetName,
      [ENV.budgetAccountId]: BUDGET.accountId,
    });
    expect(config.functions).to.deep.equal([EXTRACTOR, BACKFILL, API]);
    expect(config.budget).to.deep.equal(BUDGET);
    expect(() =>
      readKillSwitchConfig({
        [ENV.extractorFunctionName]: EXTRACTOR,
        [ENV.apiFunctionName]: API,
        [ENV.extractorEventSourceMappingUuid]: MAPPING_UUID,
        [ENV.budgetName]: "b",
      }),
    ).to.throw(/BUDGET_ACCOUNT_ID must be a 12-digit account id/);
  });
});
