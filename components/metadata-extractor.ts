/**
 * MetadataExtractor: the queue S3 events land in (with a dead-letter queue), the extractor
 * Lambda that consumes it (bundled ahead of time by esbuild, ffprobe from the FfmpegLayer),
 * its log group and a role granting exactly what handlers/extractor does.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LIST_SHARDS } from "../lib/list-index";
import { RAW_METADATA_PREFIX } from "../lib/naming";
import { DEFAULT_PROBE_TIMEOUT_MS, ENV, METRICS_NAMESPACE } from "../lib/runtime-env";
import type { FfmpegLayer } from "./ffmpeg-layer";
import { lambdaRuntimeStatements, type PolicyStatement, policyDocument, serviceTrustPolicy } from "./iam";
import { bundleArchive } from "./lambda-code";
import { type BucketRef, checkLogRetention, type TableRef, UNRESERVED } from "./refs";

/** AWS guidance for SQS event sources: visibility timeout at least six times the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
const SQS_MAX_VISIBILITY_SECONDS = 12 * 3600;

export interface MetadataExtractorArgs {
  /** The ffprobe layer; the function runs on the layer's architecture. */
  layer: FfmpegLayer;
  /** ARN of the bucket whose objects are probed (read only). */
  ingestBucketArn: pulumi.Input<string>;
  /** Bucket receiving the gzip'd raw ffprobe JSON, under RAW_METADATA_PREFIX only. */
  metadataBucket: BucketRef;
  /** Table of metadata documents (item reads and conditional writes). */
  table: TableRef;
  memoryMb: number;
  timeoutSeconds: number;
  /** Concurrent executions reserved for (and capping) the function; -1 for none. */
  reservedConcurrency: number;
  logRetentionDays: number;
  /** Records per invocation; processed concurrently, each bounded by the probe timeout. Default 5. */
  batchSize?: number;
  /** How long the poller may wait to fill a batch. Default 1 s. */
  maximumBatchingWindowSeconds?: number;
  /** Deliveries of one message before it moves to the dead-letter queue. Default 5. */
  maxReceiveCount?: number;
  /** Wall-clock limit of one ffprobe run (PROBE_TIMEOUT_MS). Default 20 s; must leave the function time to write. */
  probeTimeoutMs?: number;
  /** Function code. Default: the esbuild bundle of handlers/extractor/index.ts. */
  code?: pulumi.asset.Archive;
  /**
   * Powertools service name (POWERTOOLS_SERVICE_NAME): the `service` key of its log lines and
   * the `service` dimension of its EMF metrics. Default: the component's name, so two stacks
   * in one account and region keep their metrics apart.
   */
  serviceName?: string;
}

export class MetadataExtractor extends pulumi.ComponentResource {
  public readonly queue: aws.sqs.Queue;
  public readonly deadLetterQueue: aws.sqs.Queue;
  public readonly logGroup: aws.cloudwatch.LogGroup;
  public readonly role: aws.iam.Role;
  public readonly rolePolicy: aws.iam.RolePolicy;
  public readonly function: aws.lambda.Function;
  public readonly eventSourceMapping: aws.lambda.EventSourceMapping;
  public readonly queueVisibilityTimeoutSeconds: number;
  /** Deliveries of a message before it is dead-lettered. */
  public readonly maxReceiveCount: number;
  /** The `service` dimension of the function's EMF metrics (namespace METRICS_NAMESPACE). */
  public readonly serviceName: string;

  constructor(name: string, args: MetadataExtractorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:extractor:MetadataExtractor", name, {}, opts);
    const parent = { parent: this };
    const settings = checkSettings(name, args);
    this.queueVisibilityTimeoutSeconds = settings.visibilityTimeoutSeconds;
    this.maxReceiveCount = settings.maxReceiveCount;
    this.serviceName = args.serviceName ?? name;

    this.deadLetterQueue = new aws.sqs.Queue(
      `${name}-dlq`,
      { messageRetentionSeconds: 14 * 24 * 3600, sqsManagedSseEnabled: true },
      parent,
    );
    this.queue = new aws.sqs.Queue(
      `${name}-queue`,
      {
        visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
        messageRetentionSeconds: 4 * 24 * 3600,
        receiveWaitTimeSeconds: 20,
        sqsManagedSseEnabled: true,
        redrivePolicy: pulumi.jsonStringify({
          deadLetterTargetArn: this.deadLetterQueue.arn,
          maxReceiveCount: settings.maxReceiveCount,
        }),
      },
      parent,
    );
    // Created before the function (and named for it), so no log line is lost and retention applies from the start.
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { namePrefix: `/aws/lambda/${name}-`, retentionInDays: args.logRetentionDays },
      parent,
    );

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"),
        description: "media-pipeline extractor: reads ingest objects, writes metadata",
      },
      parent,
    );
    this.rolePolicy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.name,
        policy: policyDocument(extractorStatements(args, this.queue.arn, this.logGroup.arn)),
      },
      parent,
    );

    const layer = args.layer;
    this.function = new aws.lambda.Function(
      name,
      {
        runtime: aws.lambda.Runtime.NodeJS22dX,
        architectures: [layer.architecture],
        handler: "index.handler",
        code: args.code ?? bundleArchive("extractor"),
        role: this.role.arn,
        layers: [layer.arn],
        memorySize: args.memoryMb,
        timeout: args.timeoutSeconds,
        reservedConcurrentExecutions: args.reservedConcurrency,
        tracingConfig: { mode: "Active" },
        loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name, applicationLogLevel: "INFO" },
        environment: {
          variables: {
            [ENV.tableName]: args.table.name,
            [ENV.listShards]: String(args.table.listShards ?? LIST_SHARDS.default),
            [ENV.metadataBucket]: args.metadataBucket.name,
            [ENV.ffprobePath]: layer.binaryPath,
            [ENV.ffprobeSha256]: layer.binarySha256,
            [ENV.probeTimeoutMs]: String(settings.probeTimeoutMs),
            [ENV.serviceName]: this.serviceName,
            [ENV.metricsNamespace]: METRICS_NAMESPACE,
            NODE_OPTIONS: "--enable-source-maps",
          },
        },
      },
      // The role's grants and the log group must exist before the first invocation.
      { parent: this, dependsOn: [this.rolePolicy, this.logGroup] },
    );

    this.eventSourceMapping = new aws.lambda.EventSourceMapping(
      `${name}-source`,
      {
        eventSourceArn: this.queue.arn,
        functionName: this.function.arn,
        batchSize: settings.batchSize,
        maximumBatchingWindowInSeconds: settings.batchingWindowSeconds,
        // Only the failed records of a batch are retried (the handler returns batchItemFailures).
        functionResponseTypes: ["ReportBatchItemFailures"],
        // Keep the poller below the reserved concurrency, so messages are not throttled into the DLQ.
        scalingConfig: settings.maximumConcurrency ? { maximumConcurrency: settings.maximumConcurrency } : undefined,
      },
      // Lambda checks the role's SQS permissions when the mapping is created.
      { parent: this, dependsOn: [this.rolePolicy] },
    );

    this.registerOutputs({
      functionName: this.function.name,
      functionArn: this.function.arn,
      queueArn: this.queue.arn,
      queueUrl: this.queue.url,
      deadLetterQueueArn: this.deadLetterQueue.arn,
      logGroupName: this.logGroup.name,
    });
  }
}

/** The extractor's grants, one statement per thing handlers/extractor does. */
export function extractorStatements(
  args: Pick<MetadataExtractorArgs, "ingestBucketArn" | "metadataBucket" | "table">,
  queueArn: pulumi.Input<string>,
  logGroupArn: pulumi.Input<string>,
): PolicyStatement[] {
  return [
    {
      // Ranged GETs pinned to the event's ETag; GetObjectVersion when the event carries a versionId.
      Sid: "ReadIngestObjects",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion"],
      Resource: pulumi.interpolate`${args.ingestBucketArn}/*`,
    },
    {
      // Without ListBucket, S3 answers a GET of a deleted key with 403 instead of 404, and the
      // handler (s3-source.ts) would retry an object that is simply gone until it is dead-lettered.
      Sid: "SeeMissingIngestObjectsAs404",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: args.ingestBucketArn,
    },
    {
      Sid: "WriteRawMetadata",
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: pulumi.interpolate`${args.metadataBucket.arn}/${RAW_METADATA_PREFIX}*`,
    },
    {
      // Conditional puts ordered by sequencer, tombstones, reads of the current item.
      Sid: "WriteMetadataItems",
      Effect: "Allow",
      Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
      Resource: args.table.arn,
    },
    {
      Sid: "ConsumeQueue",
      Effect: "Allow",
      Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
      Resource: queueArn,
    },
    ...lambdaRuntimeStatements(logGroupArn),
  ];
}

interface ExtractorSettings {
  visibilityTimeoutSeconds: number;
  batchSize: number;
  batchingWindowSeconds: number;
  maxReceiveCount: number;
  probeTimeoutMs: number;
  maximumConcurrency?: number;
}

function checkSettings(name: string, args: MetadataExtractorArgs): ExtractorSettings {
  const fail = (what: string) => {
    throw new Error(`MetadataExtractor ${name}: ${what}`);
  };
  const { timeoutSeconds, memoryMb, reservedConcurrency } = args;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 900) {
    fail(`timeout must be 1-900 seconds, got ${timeoutSeconds}`);
  }
  if (!Number.isInteger(memoryMb) || memoryMb < 128 || memoryMb > 10240) {
    fail(`memory must be 128-10240 MB, got ${memoryMb}`);
  }
  if (!Number.isInteger(reservedConcurrency) || (reservedConcurrency < 0 && reservedConcurrency !== UNRESERVED)) {
    fail(`reserved concurrency must be -1 (none) or >= 0, got ${reservedConcurrency}`);
  }
  checkLogRetention(args.logRetentionDays, `MetadataExtractor ${name}`);
  const batchSize = args.batchSize ?? 5;
  const batchingWindowSeconds = args.maximumBatchingWindowSeconds ?? 1;
  const probeTimeoutMs = args.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  // Records of a batch run concurrently; each needs its probe plus a few seconds for S3 and DynamoDB.
  if (probeTimeoutMs + 5_000 > timeoutSeconds * 1000) {
    fail(`a ${timeoutSeconds} s timeout leaves no time to write after a ${probeTimeoutMs} ms probe; raise the timeout`);
  }
  const visibilityTimeoutSeconds = VISIBILITY_TIMEOUT_FACTOR * timeoutSeconds + batchingWindowSeconds;
  if (visibilityTimeoutSeconds > SQS_MAX_VISIBILITY_SECONDS) {
    fail(`a ${timeoutSeconds} s timeout needs a visibility timeout over SQS's 12 hours`);
  }
  // SQS pollers scale between 2 and 1000; a lower reservation cannot be honoured by the mapping.
  const maximumConcurrency = reservedConcurrency >= 2 ? Math.min(reservedConcurrency, 1000) : undefined;
  return {
    visibilityTimeoutSeconds,
    batchSize,
    batchingWindowSeconds,
    maxReceiveCount: args.maxReceiveCount ?? 5,
    probeTimeoutMs,
    maximumConcurrency,
  };
}
