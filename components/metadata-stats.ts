/**
 * MetadataStats: the running totals behind GET /stats, kept as documents change instead of
 * scanning per request. The metadata table's stream (NEW_AND_OLD_IMAGES, enabled by
 * MetadataTable) feeds a small aggregator function (handlers/stats) through an event source
 * mapping; the function writes a small stats table that the read API reads with one GetItem.
 *
 * Mapping settings, from "Using AWS Lambda with Amazon DynamoDB" (Lambda developer guide):
 * - the poller reads each stream shard in order and retries a failing batch until it
 *   succeeds or its records expire (24 h of stream retention): bisectBatchOnFunctionError
 *   narrows a poison record, and the aggregator is idempotent, so replays are harmless;
 * - parallelizationFactor 1: one batch per shard at a time, so a document's changes are
 *   applied in the order they happened (the aggregator also skips older states);
 * - startingPosition TRIM_HORIZON: a mapping created after documents exist still sees the
 *   last 24 h of changes. Documents older than that are not in the stream: a table that had
 *   documents before this component was added needs its totals seeded once (docs/api.md).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bundleArchive } from "../build/lambda-code";
import type { LambdaArchitecture } from "../lib/ffprobe-pin";
import { ENV } from "../lib/runtime-env";
import { STATS_STREAM_BATCHING, STATS_TABLE } from "../lib/stats-table";
import { lambdaRuntimeStatements, type PolicyStatement } from "./iam";
import { createNodeFunction } from "./node-function";
import { checkLogRetention } from "./refs";

export interface MetadataStatsArgs {
  /** The metadata table's stream ARN (MetadataTable.streamArn). */
  streamArn: pulumi.Input<string>;
  architecture: LambdaArchitecture;
  logRetentionDays: number;
  /** Continuous backups of the stats table. */
  pointInTimeRecovery: boolean;
  /** Refuse DeleteTable on the stats table while on. */
  deletionProtection: boolean;
  /** Records per invocation (default 100: one transaction of 99 documents + the totals). */
  batchSize?: number;
  /** Code archive (tests); default: the stats bundle. */
  code?: pulumi.asset.Archive;
}

export class MetadataStats extends pulumi.ComponentResource {
  public readonly table: aws.dynamodb.Table;
  public readonly tableName: pulumi.Output<string>;
  public readonly tableArn: pulumi.Output<string>;
  public readonly logGroup: aws.cloudwatch.LogGroup;
  public readonly role: aws.iam.Role;
  public readonly rolePolicy: aws.iam.RolePolicy;
  public readonly function: aws.lambda.Function;
  public readonly eventSourceMapping: aws.lambda.EventSourceMapping;

  constructor(name: string, args: MetadataStatsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:storage:MetadataStats", name, {}, opts);
    const parent = { parent: this };
    checkLogRetention(args.logRetentionDays, `${name}: logRetentionDays`);

    this.table = new aws.dynamodb.Table(
      `${name}-table`,
      {
        billingMode: "PAY_PER_REQUEST",
        hashKey: STATS_TABLE.partitionKey.name,
        attributes: [{ name: STATS_TABLE.partitionKey.name, type: STATS_TABLE.partitionKey.type }],
        pointInTimeRecovery: { enabled: args.pointInTimeRecovery },
        deletionProtectionEnabled: args.deletionProtection,
        serverSideEncryption: { enabled: true },
      },
      parent,
    );
    this.tableName = this.table.name;
    this.tableArn = this.table.arn;

    const fn = createNodeFunction(
      name,
      {
        code: args.code ?? bundleArchive("stats"),
        architecture: args.architecture,
        memoryMb: 256,
        timeoutSeconds: 60,
        // Without active tracing, as it was deployed (the role may still send traces).
        tracing: false,
        logRetentionDays: args.logRetentionDays,
        roleDescription: "media-pipeline stats aggregator: reads the metadata table's stream, writes the stats table",
        statements: (logGroupArn) => statsStatements(args.streamArn, this.table.arn, logGroupArn),
        // The service name the dashboard's metric searches expect (PipelineObservability `source`).
        serviceName: name,
        environment: {
          [ENV.statsTableName]: this.table.name,
        },
      },
      this,
    );
    ({ logGroup: this.logGroup, role: this.role, rolePolicy: this.rolePolicy, function: this.function } = fn);
    this.eventSourceMapping = new aws.lambda.EventSourceMapping(
      `${name}-stream`,
      {
        eventSourceArn: args.streamArn,
        functionName: this.function.arn,
        startingPosition: "TRIM_HORIZON",
        batchSize: args.batchSize ?? STATS_STREAM_BATCHING.batchSize,
        maximumBatchingWindowInSeconds: STATS_STREAM_BATCHING.batchingWindowSeconds,
        parallelizationFactor: 1,
        bisectBatchOnFunctionError: true,
      },
      { parent: this, dependsOn: [this.rolePolicy] },
    );

    this.registerOutputs({ tableName: this.tableName, tableArn: this.tableArn, functionName: this.function.name });
  }
}

/** The aggregator's grants: read the stream, read and write the stats table, its logs. */
export function statsStatements(
  streamArn: pulumi.Input<string>,
  statsTableArn: pulumi.Input<string>,
  logGroupArn: pulumi.Input<string>,
): PolicyStatement[] {
  return [
    {
      // What the event source mapping's poller uses on the function's behalf, on this stream
      // only ("IAM policy to allow an AWS Lambda function to access DynamoDB stream records",
      // DynamoDB developer guide).
      Sid: "ReadTableStream",
      Effect: "Allow",
      Action: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
      Resource: streamArn,
    },
    {
      // TransactWriteItems is authorized per contained action, PutItem and UpdateItem here
      // ("Using IAM with DynamoDB transactions", DynamoDB developer guide).
      Sid: "KeepTotals",
      Effect: "Allow",
      Action: ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
      Resource: statsTableArn,
    },
    ...lambdaRuntimeStatements(logGroupArn),
  ];
}
