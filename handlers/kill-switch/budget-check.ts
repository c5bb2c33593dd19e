/**
 * The kill switch's scheduled budget check: re-arming without relying on a notification.
 *
 * An AWS Budgets notification fires once, when its threshold is first crossed, and then
 * stays in state ALARM until the budget period resets (Budgets API, Notification.NotificationState).
 * After `npm run resume` in the middle of a month, no notification fires again that month,
 * however much more is spent. So an EventBridge schedule also invokes the kill switch
 * (hourly by default, components/cost-guard.ts); each time it reads the budget
 * (DescribeBudget: CalculatedSpend against BudgetLimit, which Budgets refreshes several times
 * a day) and applies the same decision as to an SNS alert. While the spend stays at or above
 * the threshold the pipeline pauses again within the hour of a resume; raising the budget
 * (or KILL_SWITCH_THRESHOLD_PERCENT) is how an operator keeps it running on purpose. A check
 * while the pipeline is paused changes nothing (pause() is idempotent).
 */
import { type Budget, type BudgetsClient, DescribeBudgetCommand } from "@aws-sdk/client-budgets";
import type { BudgetAlert } from "./budget-alert";
import type { KillSwitchPolicy } from "./config";
import { actOnAlert, decide, type KillSwitchDeps, type RecordOutcome } from "./kill-switch";

/** The budget the check reads. */
export interface BudgetRef {
  accountId: string;
  budgetName: string;
}

/** Where a check's outcome says it came from (instead of an SNS message id). */
export const SCHEDULED_CHECK_ID = "scheduled-budget-check";

function amountOf(spend: { Amount?: string } | undefined): number | undefined {
  if (spend?.Amount === undefined) return undefined;
  const n = Number(spend.Amount);
  return Number.isFinite(n) ? n : undefined;
}

/** The budget's actual (and, when Budgets has one, forecasted) spend as alerts, ACTUAL first. */
export function alertsFromBudget(budget: Budget): BudgetAlert[] {
  const limit = amountOf(budget.BudgetLimit);
  if (limit === undefined || limit <= 0) {
    throw new Error(`budget ${budget.BudgetName ?? "(unnamed)"} has no positive BudgetLimit`);
  }
  const unit = budget.BudgetLimit?.Unit;
  const alert = (notificationType: BudgetAlert["notificationType"], amount: number): BudgetAlert => ({
    format: "api",
    budgetName: budget.BudgetName ?? "",
    notificationType,
    budgetedAmount: limit,
    amount,
    unit,
    percentOfBudget: (amount / limit) * 100,
    basis: "amount",
  });
  const actual = amountOf(budget.CalculatedSpend?.ActualSpend) ?? 0;
  const forecast = amountOf(budget.CalculatedSpend?.ForecastedSpend);
  return [alert("ACTUAL", actual), ...(forecast === undefined ? [] : [alert("FORECASTED", forecast)])];
}

/** The alert that would pause under this policy, else the ACTUAL one (logged as not pausing). */
export function alertToActOn(alerts: BudgetAlert[], policy: KillSwitchPolicy): BudgetAlert {
  return alerts.find((a) => decide(a, policy).pause) ?? (alerts[0] as BudgetAlert);
}

export async function checkBudget(
  budgets: BudgetsClient,
  ref: BudgetRef,
  deps: KillSwitchDeps,
): Promise<RecordOutcome> {
  const out = await budgets.send(new DescribeBudgetCommand({ AccountId: ref.accountId, BudgetName: ref.budgetName }));
  if (!out.Budget) throw new Error(`DescribeBudget returned no budget ${ref.budgetName}`);
  const alert = alertToActOn(alertsFromBudget(out.Budget), deps.policy);
  const outcome = await actOnAlert(alert, { messageId: SCHEDULED_CHECK_ID, source: "schedule" }, deps);
  if (deps.metrics.hasStoredMetrics()) deps.metrics.publishStoredMetrics();
  return outcome;
}
