/**
 * Lambda entry for the kill switch (AWS Budgets -> SNS topic -> this function).
 * Settings and clients live at module scope (once per execution environment); a bad
 * setting fails the invocation loudly, and is read again on the next one.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { LambdaClient } from "@aws-sdk/client-lambda";
import type { SNSEvent } from "aws-lambda";
import type { PipelineControl } from "../../lib/pipeline-control";
import { ENV, METRICS_NAMESPACE } from "../../lib/runtime-env";
import { type KillSwitchConfig, readKillSwitchConfig } from "./config";
import { handleBudgetNotifications, type RecordOutcome } from "./kill-switch";
import { createLambdaPipelineControl } from "./lambda-control";

const serviceName = process.env[ENV.serviceName] ?? "kill-switch";
const logger = new Logger({ serviceName });
const metrics = new Metrics({ namespace: process.env[ENV.metricsNamespace] ?? METRICS_NAMESPACE, serviceName });
const lambda = new LambdaClient({});

let configured: { config: KillSwitchConfig; control: PipelineControl } | undefined;

export async function handler(event: SNSEvent): Promise<RecordOutcome[]> {
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
  return handleBudgetNotifications(event, {
    control: configured.control,
    policy: configured.config,
    logger,
    metrics,
  });
}
