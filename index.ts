/**
 * The Pulumi program: read the stack's configuration, create the pipeline, export what a
 * user needs. Every resource goes through one explicit AWS provider whose default tags carry
 * Project, Environment, Owner and CostCenter (lib/tags.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { MediaPipeline } from "./components/media-pipeline";
import { readPipelineConfig } from "./components/pipeline-config";
import { KILL_SWITCH_TAG_PREFIX } from "./lib/tags";

const config = readPipelineConfig();

// Deployed by the CI identity (bootstrap/, docs/ci.md), which may create IAM roles only with
// this permissions boundary: every role of the pipeline then carries it (a transformation on
// the top component applies to every resource under it).
const permissionsBoundary = new pulumi.Config().get("permissionsBoundaryArn");
const withBoundary: pulumi.ResourceTransformation = (args) =>
  permissionsBoundary && args.type === "aws:iam/role:Role"
    ? { props: { ...args.props, permissionsBoundary }, opts: args.opts }
    : undefined;

const provider = new aws.Provider(`mp-${config.stack}-aws`, {
  region: config.region as aws.Region,
  defaultTags: { tags: config.tags },
  // The provider refuses to act in any other account than the configured one (a lab stack may leave it open).
  allowedAccountIds: config.accountId ? [config.accountId] : undefined,
  // The kill switch's pause record (tags on the paused functions) is not Pulumi's: a deploy
  // must neither remove it nor report it as drift (docs/kill-switch.md).
  ignoreTags: { keyPrefixes: [KILL_SWITCH_TAG_PREFIX] },
});

// The parsed configuration goes through as it is: MediaPipelineArgs are the stack's settings.
const pipeline = new MediaPipeline(`mp-${config.stack}`, config, {
  providers: [provider],
  transformations: [withBoundary],
});

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

// Read by `npm run resume -- --stack NAME` (tools/resume.ts STACK_OUTPUTS) to undo a kill-switch pause.
/** The extractor function (paused by the kill switch). */
export const extractorFunctionName = pipeline.extractorFunctionName;
/** The read API's function (paused by the kill switch). */
export const apiFunctionName = pipeline.apiFunctionName;
/** The backfill function (paused by the kill switch). */
export const backfillFunctionName = pipeline.backfillFunctionName;
/** The extractor's SQS queue: `npm run reconcile -- --enqueue` sends the events it makes up here. */
export const extractorQueueUrl = pipeline.queueUrl;
/** UUID of the extractor's SQS event source mapping (disabled by the kill switch). */
export const extractorEventSourceMappingUuid = pipeline.extractorEventSourceMappingUuid;
/** SNS topic every alarm notifies (subscribe on-call tooling here). */
export const alarmTopicArn = pipeline.alarmTopicArn;
/** SNS topic the budget publishes to (the kill switch and alertEmail subscribe to it). */
export const budgetTopicArn = pipeline.budgetTopicArn;
/** The stack's CloudWatch dashboard. */
export const dashboardName = pipeline.dashboardName;
/** The backfill state machine: `npm run backfill -- --stack NAME [--prefix P] [--only-outdated]` starts it. */
export const backfillStateMachineArn = pipeline.backfillStateMachineArn;
