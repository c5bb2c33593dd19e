/**
 * The kill switch's settings, from the function's environment (names in lib/runtime-env).
 * A bad value fails the invocation loudly rather than pausing on a guess.
 */
import { ENV, requireEnv } from "../../lib/runtime-env";

export const DEFAULT_THRESHOLD_PERCENT = 100;

export interface KillSwitchPolicy {
  /** Pause when an alert stands for at least this percent of the budgeted amount. */
  thresholdPercent: number;
  /** Whether FORECASTED alerts pause too; by default only money actually spent does. */
  pauseOnForecast: boolean;
}

export interface KillSwitchConfig extends KillSwitchPolicy {
  /** Paused in this order: the consumer first, then the backfill (when set), then the API. */
  functions: string[];
  eventSourceMappingUuid: string;
  /** The budget the scheduled check reads; absent when the function has no schedule. */
  budget?: { accountId: string; budgetName: string };
}

/** The pause policy alone (threshold, forecasts), e.g. for the local lab, which has no functions to name. */
export function readKillSwitchPolicy(env: NodeJS.ProcessEnv = process.env): KillSwitchPolicy {
  const rawThreshold = env[ENV.killSwitchThresholdPercent]?.trim();
  const thresholdPercent = rawThreshold ? Number(rawThreshold) : DEFAULT_THRESHOLD_PERCENT;
  if (!Number.isFinite(thresholdPercent) || thresholdPercent <= 0) {
    throw new Error(`${ENV.killSwitchThresholdPercent} must be a positive number of percent, got "${rawThreshold}"`);
  }
  const rawForecast = (env[ENV.killSwitchPauseOnForecast] ?? "false").trim().toLowerCase();
  if (rawForecast !== "true" && rawForecast !== "false") {
    throw new Error(`${ENV.killSwitchPauseOnForecast} must be "true" or "false", got "${rawForecast}"`);
  }
  return { thresholdPercent, pauseOnForecast: rawForecast === "true" };
}

export function readKillSwitchConfig(env: NodeJS.ProcessEnv = process.env): KillSwitchConfig {
  const backfill = env[ENV.backfillFunctionName];
  const budgetName = env[ENV.budgetName];
  const accountId = env[ENV.budgetAccountId];
  if (budgetName && !/^\d{12}$/.test(accountId ?? "")) {
    throw new Error(`${ENV.budgetAccountId} must be a 12-digit account id when ${ENV.budgetName} is set`);
  }
  return {
    ...readKillSwitchPolicy(env),
    functions: [
      requireEnv(ENV.extractorFunctionName, env),
      ...(backfill ? [backfill] : []),
      requireEnv(ENV.apiFunctionName, env),
    ],
    eventSourceMappingUuid: requireEnv(ENV.extractorEventSourceMappingUuid, env),
    budget: budgetName ? { accountId: accountId as string, budgetName } : undefined,
  };
}
