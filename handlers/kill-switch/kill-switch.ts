/**
 * The kill switch as plain functions: SNS records in, a pause (or nothing) out.
 *
 * SNS invokes Lambda asynchronously, and a failed async invocation is retried twice. So:
 * - a message that is not a budget alert we can read is logged (with its message id) and
 *   dropped: a retry would read it the same way;
 * - an alert below the threshold (or a forecast, unless enabled) is logged and dropped;
 * - a pause that fails transiently (throttling, 5xx) is thrown, so the retry repeats it
 *   (pause is idempotent); a pause that fails for good (permissions, a wrong name) is
 *   logged with the part and the cause and counted in PauseFailures, to alarm on.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { SNSEvent } from "aws-lambda";
import { type PipelineControl, PipelineControlError } from "../../lib/pipeline-control";
import { describeError, isTransient } from "../extractor/errors";
import { type BudgetAlert, parseBudgetAlert, UnparseableAlertError } from "./budget-alert";
import type { KillSwitchPolicy } from "./config";

export type Decision = { pause: true; reason: string } | { pause: false; why: string };

/** Rounded for people; the comparison uses the exact value. */
function pct(n: number): string {
  return `${Math.round(n * 100) / 100}%`;
}

/** "$100", "100 USD", "100". */
function amount(value: number, unit?: string): string {
  if (!unit) return String(value);
  return /^\p{Sc}$/u.test(unit) ? `${unit}${value}` : `${value} ${unit}`;
}

export function decide(alert: BudgetAlert, policy: KillSwitchPolicy): Decision {
  const where = `budget "${alert.budgetName}" ${alert.notificationType} at ${pct(alert.percentOfBudget)} of ${amount(alert.budgetedAmount, alert.unit)}`;
  if (alert.notificationType === "FORECASTED" && !policy.pauseOnForecast) {
    return { pause: false, why: `${where}: a forecast, and forecasts do not pause (KILL_SWITCH_PAUSE_ON_FORECAST)` };
  }
  // A small tolerance, so 100.00 of 100.00 computed through floating point still counts as 100%.
  if (alert.percentOfBudget + 1e-9 < policy.thresholdPercent) {
    return { pause: false, why: `${where}: below the kill-switch threshold of ${pct(policy.thresholdPercent)}` };
  }
  return { pause: true, reason: `${where} reached the kill-switch threshold of ${pct(policy.thresholdPercent)}` };
}

export type RecordOutcome =
  | { messageId: string; outcome: "unparseable"; error: string }
  | { messageId: string; outcome: "ignored"; why: string }
  | { messageId: string; outcome: "paused" | "already-paused"; changes: string[] }
  | { messageId: string; outcome: "failed"; error: string };

export interface KillSwitchDeps {
  control: PipelineControl;
  policy: KillSwitchPolicy;
  logger: Logger;
  metrics: Metrics;
  now?: () => Date;
}

export async function handleBudgetNotifications(event: SNSEvent, deps: KillSwitchDeps): Promise<RecordOutcome[]> {
  const outcomes: RecordOutcome[] = [];
  try {
    for (const record of event.Records ?? []) outcomes.push(await handleRecord(record, deps));
  } finally {
    if (deps.metrics.hasStoredMetrics()) deps.metrics.publishStoredMetrics();
  }
  return outcomes;
}

async function handleRecord(record: SNSEvent["Records"][number], deps: KillSwitchDeps): Promise<RecordOutcome> {
  const { logger, metrics } = deps;
  const messageId = record.Sns?.MessageId ?? "(no message id)";
  const context = { messageId, topicArn: record.Sns?.TopicArn, subject: record.Sns?.Subject };

  let alert: BudgetAlert;
  try {
    alert = parseBudgetAlert(record.Sns?.Message ?? "");
  } catch (err) {
    if (!(err instanceof UnparseableAlertError)) throw err;
    // Not retried: the same text would fail the same way. Nothing is paused on a guess.
    logger.error("unparseable budget notification; not pausing", {
      ...context,
      error: err.message,
      messageStart: (record.Sns?.Message ?? "").slice(0, 300),
    });
    metrics.addMetric("UnparseableNotifications", MetricUnit.Count, 1);
    return { messageId, outcome: "unparseable", error: err.message };
  }

  return actOnAlert(alert, context, deps);
}

/**
 * Decides on one alert (from SNS, or made up by the scheduled budget check) and pauses when
 * it says so. `context.messageId` names where the alert came from in logs and outcomes.
 */
export async function actOnAlert(
  alert: BudgetAlert,
  context: { messageId: string } & Record<string, unknown>,
  deps: KillSwitchDeps,
): Promise<RecordOutcome> {
  const { logger, metrics } = deps;
  const { messageId } = context;
  const decision = decide(alert, deps.policy);
  const alertFields = { ...context, ...alert, thresholdPercent: deps.policy.thresholdPercent };
  const counted = metrics.singleMetric();
  counted.addDimension("NotificationType", alert.notificationType);
  counted.addMetric("BudgetAlerts", MetricUnit.Count, 1);
  if (!decision.pause) {
    logger.info("budget alert does not pause the pipeline", { ...alertFields, why: decision.why });
    return { messageId, outcome: "ignored", why: decision.why };
  }

  try {
    const result = await deps.control.pause(decision.reason, deps.now?.() ?? new Date());
    if (result.alreadyPaused) {
      logger.info("budget alert: pipeline already paused, nothing changed", {
        ...alertFields,
        pausedAt: result.status.pausedAt?.toISOString(),
      });
      return { messageId, outcome: "already-paused", changes: [] };
    }
    logger.warn("budget alert: pipeline paused", { ...alertFields, reason: decision.reason, changes: result.changes });
    metrics.addMetric("PipelinePaused", MetricUnit.Count, 1);
    return { messageId, outcome: "paused", changes: result.changes };
  } catch (err) {
    const transient = err instanceof PipelineControlError ? err.transient : isTransient(err);
    const part = err instanceof PipelineControlError ? err.part : undefined;
    metrics.addMetric("PauseFailures", MetricUnit.Count, 1);
    if (transient) {
      logger.error("pause failed transiently; the invocation is retried", {
        ...alertFields,
        part,
        error: describeError(err),
      });
      throw err;
    }
    logger.error("pause failed and a retry would not help; pipeline NOT (fully) paused", {
      ...alertFields,
      part,
      error: describeError(err),
    });
    return { messageId, outcome: "failed", error: describeError(err) };
  }
}
