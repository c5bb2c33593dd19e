/**
 * The stack's configuration, read and checked in one place. Defaults live in Pulumi.yaml
 * (the CLI, and the offline plan tool, merge them under the stack's file), so keys declared
 * there with a default are required here: a missing one means Pulumi.yaml and this file
 * disagree, which should fail loudly.
 */
import * as pulumi from "@pulumi/pulumi";
import type { LambdaArchitecture } from "../lib/ffprobe-pin";
import { checkListShards } from "../lib/list-index";
import { PROJECT_NAME } from "../lib/naming";
import { type StandardTags, standardTags } from "../lib/tags";
import { BUDGET_SCOPES, type BudgetScope } from "./cost-guard";
import { checkLogRetention, UNRESERVED } from "./refs";

export interface PipelineConfig {
  project: string;
  /** Stack name; also the Environment tag. */
  stack: string;
  region: string;
  /** Tags every resource carries (through the AWS provider's default tags). */
  tags: StandardTags;
  lab: boolean;
  labObjectExpirationDays: number;
  architecture: LambdaArchitecture;
  extractorMemoryMb: number;
  extractorTimeoutSeconds: number;
  extractorReservedConcurrency: number;
  /** The SQS poller's maximum concurrency (2-1000). */
  extractorMaxConcurrency: number;
  apiReservedConcurrency: number;
  /** protect + retainOnDelete on the table, user pool and data buckets. */
  protectState: boolean;
  /** The AWS account the stack must run in; empty only in a lab stack. */
  accountId: string;
  /** Cognito mail through SES, when configured. */
  invitationSender?: { sesIdentityArn: string; fromAddress: string };
  logRetentionDays: number;
  deletionProtection: boolean;
  pointInTimeRecovery: boolean;
  ingestVersioning: boolean;
  allowedOrigins: string[];
  apiThrottleBurst: number;
  apiThrottleRate: number;
  /** The cost guard's monthly COST budget, in USD. */
  budgetLimitUsd: number;
  /** Whose costs the budget counts: the whole account, or the stack's (Environment tag). */
  budgetScope: BudgetScope;
  /** Where budget and alarm notifications go; empty for none. */
  alertEmail: string;
  /** The kill switch pauses at this percent of the budget. */
  killSwitchThresholdPercent: number;
  /** FORECASTED budget alerts pause too. */
  killSwitchPauseOnForecast: boolean;
  /** Run the Synthetics canary on GET /health. */
  syntheticsCanary: boolean;
  /** The canary's interval, in minutes. */
  syntheticsRateMinutes: number;
  /** Folder with a built dashboard; empty for web/dist (rebuilt when stale). */
  dashboardDir: string;
  /** Backfill: concurrent child executions of its Distributed Map. */
  backfillMaxConcurrency: number;
  /** Backfill: objects per batch (one function invocation). */
  backfillBatchSize: number;
  /** Backfill: percent of objects whose batch may fail without failing the run. */
  backfillToleratedFailurePercent: number;
  /** Partition values of the list index (lib/list-index.ts); may grow, never shrink. */
  listShards: number;
}

const ARCHITECTURES: readonly LambdaArchitecture[] = ["x86_64", "arm64"];

export function readPipelineConfig(): PipelineConfig {
  const config = new pulumi.Config(PROJECT_NAME);
  const stack = pulumi.getStack();
  const positiveInt = (key: string, max = Number.MAX_SAFE_INTEGER): number => {
    const value = config.requireNumber(key);
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new Error(`config ${PROJECT_NAME}:${key} must be a whole number from 1 to ${max}, got ${value}`);
    }
    return value;
  };
  const percent = (key: string): number => {
    const value = config.requireNumber(key);
    if (!Number.isInteger(value) || value < 0 || value > 100) {
      throw new Error(`config ${PROJECT_NAME}:${key} must be a whole number from 0 to 100, got ${value}`);
    }
    return value;
  };
  const concurrency = (key: string): number => {
    const value = config.requireNumber(key);
    if (!Number.isInteger(value) || (value < 0 && value !== UNRESERVED)) {
      throw new Error(`config ${PROJECT_NAME}:${key} must be -1 (no reservation) or a whole number >= 0, got ${value}`);
    }
    return value;
  };

  const architecture = config.require(`architecture`) as LambdaArchitecture;
  if (!ARCHITECTURES.includes(architecture)) {
    throw new Error(
      `config ${PROJECT_NAME}:architecture must be one of ${ARCHITECTURES.join(", ")}, got ${architecture}`,
    );
  }
  const allowedOrigins = config.requireObject<string[]>("allowedOrigins");
  if (!Array.isArray(allowedOrigins) || !allowedOrigins.every((o) => /^https?:\/\/[^/]+$/.test(o))) {
    throw new Error(
      `config ${PROJECT_NAME}:allowedOrigins must be a list of origins like https://example.com (no path), got ${JSON.stringify(allowedOrigins)}`,
    );
  }
  const budgetScope = config.require("budgetScope") as BudgetScope;
  if (!BUDGET_SCOPES.includes(budgetScope)) {
    throw new Error(
      `config ${PROJECT_NAME}:budgetScope must be one of ${BUDGET_SCOPES.join(", ")}, got ${budgetScope}`,
    );
  }
  const lab = config.requireBoolean("lab");
  const alertEmail = config.require("alertEmail");
  if (alertEmail !== "" && !/^[^@\s]+@[^@\s]+$/.test(alertEmail)) {
    throw new Error(`config ${PROJECT_NAME}:alertEmail must be an email address or empty, got ${alertEmail}`);
  }
  if (!lab && alertEmail === "") {
    throw new Error(
      `config ${PROJECT_NAME}:alertEmail is required outside lab stacks: without it nobody hears a budget alert or an alarm`,
    );
  }
  const accountId = config.require("accountId");
  if (accountId !== "" && !/^\d{12}$/.test(accountId)) {
    throw new Error(`config ${PROJECT_NAME}:accountId must be a 12-digit AWS account id, got ${accountId}`);
  }
  if (!lab && accountId === "") {
    throw new Error(
      `config ${PROJECT_NAME}:accountId is required outside lab stacks: the stack must only ever run in its own account`,
    );
  }
  const sesIdentityArn = config.require("invitationSesIdentityArn");
  const fromAddress = config.require("invitationFromAddress");
  if ((sesIdentityArn === "") !== (fromAddress === "")) {
    throw new Error(`config ${PROJECT_NAME}:invitationSesIdentityArn and invitationFromAddress go together`);
  }
  if (sesIdentityArn !== "" && !/^arn:[^:]+:ses:[^:]+:\d{12}:identity\/.+$/.test(sesIdentityArn)) {
    throw new Error(
      `config ${PROJECT_NAME}:invitationSesIdentityArn must be an SES identity ARN, got ${sesIdentityArn}`,
    );
  }

  return {
    project: PROJECT_NAME,
    stack,
    region: new pulumi.Config("aws").require("region"),
    tags: standardTags({
      project: PROJECT_NAME,
      environment: stack,
      owner: config.require("owner"),
      costCenter: config.require("costCenter"),
    }),
    lab,
    labObjectExpirationDays: positiveInt("labObjectExpirationDays", 3650),
    architecture,
    extractorMemoryMb: positiveInt("extractorMemoryMb", 10240),
    extractorTimeoutSeconds: positiveInt("extractorTimeoutSeconds", 900),
    extractorReservedConcurrency: concurrency("extractorReservedConcurrency"),
    extractorMaxConcurrency: positiveInt("extractorMaxConcurrency", 1000),
    apiReservedConcurrency: concurrency("apiReservedConcurrency"),
    protectState: config.requireBoolean("protectState"),
    accountId,
    invitationSender: sesIdentityArn ? { sesIdentityArn, fromAddress } : undefined,
    logRetentionDays: checkLogRetention(
      config.requireNumber("logRetentionDays"),
      `config ${PROJECT_NAME}:logRetentionDays`,
    ),
    deletionProtection: config.requireBoolean("deletionProtection"),
    pointInTimeRecovery: config.requireBoolean("pointInTimeRecovery"),
    ingestVersioning: config.requireBoolean("ingestVersioning"),
    allowedOrigins,
    apiThrottleBurst: positiveInt("apiThrottleBurst", 5000),
    apiThrottleRate: positiveInt("apiThrottleRate", 10000),
    budgetLimitUsd: positiveInt("budgetLimitUsd"),
    budgetScope,
    alertEmail,
    killSwitchThresholdPercent: positiveInt("killSwitchThresholdPercent", 1000),
    killSwitchPauseOnForecast: config.requireBoolean("killSwitchPauseOnForecast"),
    syntheticsCanary: config.requireBoolean("syntheticsCanary"),
    syntheticsRateMinutes: positiveInt("syntheticsRateMinutes", 60),
    dashboardDir: config.require("dashboardDir"),
    backfillMaxConcurrency: positiveInt("backfillMaxConcurrency", 10_000),
    backfillBatchSize: positiveInt("backfillBatchSize", 1000),
    backfillToleratedFailurePercent: percent("backfillToleratedFailurePercent"),
    listShards: checkListShards(config.requireNumber("listShards"), `config ${PROJECT_NAME}:listShards`),
  };
}
