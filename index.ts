/**
 * The Pulumi program: read the stack's configuration, create the pipeline, export what a
 * user needs. Every resource goes through one explicit AWS provider whose default tags carry
 * Project, Environment, Owner and CostCenter (lib/tags.ts).
 */
import * as aws from "@pulumi/aws";
import { MediaPipeline } from "./components/media-pipeline";
import { readPipelineConfig } from "./components/pipeline-config";

const config = readPipelineConfig();

const provider = new aws.Provider(`mp-${config.stack}-aws`, {
  region: config.region as aws.Region,
  defaultTags: { tags: config.tags },
});

const pipeline = new MediaPipeline(
  `mp-${config.stack}`,
  {
    stack: config.stack,
    lab: config.lab,
    labObjectExpirationDays: config.labObjectExpirationDays,
    architecture: config.architecture,
    extractorMemoryMb: config.extractorMemoryMb,
    extractorTimeoutSeconds: config.extractorTimeoutSeconds,
    extractorReservedConcurrency: config.extractorReservedConcurrency,
    apiReservedConcurrency: config.apiReservedConcurrency,
    logRetentionDays: config.logRetentionDays,
    deletionProtection: config.deletionProtection,
    pointInTimeRecovery: config.pointInTimeRecovery,
    ingestVersioning: config.ingestVersioning,
    allowedOrigins: config.allowedOrigins,
    apiThrottleBurst: config.apiThrottleBurst,
    apiThrottleRate: config.apiThrottleRate,
    dashboardDir: config.dashboardDir || undefined,
  },
  { providers: [provider] },
);

/** Upload media here (aws s3 cp file s3://<uploadBucket>/...) or through the dashboard. */
export const uploadBucket = pipeline.uploadBucketName;
/** Base URL of the read API. */
export const apiUrl = pipeline.apiUrl;
/** The dashboard. */
export const dashboardUrl = pipeline.dashboardUrl;
/** The DynamoDB table of metadata documents. */
export const tableName = pipeline.tableName;
/** Cognito user pool: create users with `aws cognito-idp admin-create-user --user-pool-id <id> ...`. */
export const userPoolId = pipeline.userPoolId;
