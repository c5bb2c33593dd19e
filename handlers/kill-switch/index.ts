/**
 * Lambda entry for the kill switch: AWS Budgets -> SNS topic -> this function, and an
 * EventBridge schedule -> this function (the budget check that re-arms it, budget-check.ts).
 * Settings and clients live at module scope (once per execution environment); a bad
 * setting fails the invocation loudly, and is read again on the next one.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { BudgetsClient } from "@aws-sdk/client-budgets";
import { LambdaClient } from "@aws-sdk/client-lambda";
import type { ScheduledEvent, SNSEvent } from "aws-lambda";
import type { PipelineControl } from "../../lib/pipeline-control";
import { ENV, METRICS_NAMESPACE } from "../../lib/runtime-env";
import { checkBudget } from "./budget-check";
import { type KillSwitchConfig, readKillSwitchConfig } from "./config";
import { handleBudgetNotifications, type RecordOutcome } from "./kill-switch";
import { createLambdaPipelineControl } from "./lambda-control";

const serviceName = process.env[ENV.serviceName] ?? "kill-switch";
const logger = new Logger({ serviceName });
const metrics = new Metrics({ namespace: process.env[ENV.metricsNamespace] ?? METRICS_NAMESPACE, serviceName });
const lambda = new LambdaClient({});

let configured: { config: KillSwitchConfig; control: PipelineControl } | undefined;

/** An EventBridge scheduled event (the budget check), as opposed to SNS records. */
export function isScheduledEvent(event: unknown): event is ScheduledEvent {
  const e = event as Partial<ScheduledEvent> | null;
  return typeof e === "object" && e !== null && e["detail-type"] === "Scheduled Event" && e.source === "aws.events";
}

export async function handler(event: SNSEvent | ScheduledEvent): Promise<RecordOutcome[]> {
  if (!configured) {
    const config = readKillSwitchConfig();
    configured = {
      config,
      control: createLambdaPipelineControl({
        lambda,
        functions: config.functions,
        eventSourceMappingUuid: config.eventSourceMappingUuid,
      }),
    };
  }
  const deps = { control: configured.control, policy: configured.config, logger, metrics };
  if (isScheduledEvent(event)) {
    const budget = configured.config.budget;
    if (!budget) throw new Error(`a scheduled check needs ${ENV.budgetName} and ${ENV.budgetAccountId}`);
    // Budgets is a global service whose endpoint is in us-east-1.
    return [await checkBudget(new BudgetsClient({ region: "us-east-1" }), budget, deps)];
  }
  return handleBudgetNotifications(event, deps);
}
