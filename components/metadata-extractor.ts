/**
 * MetadataExtractor: the queue S3 events land in (with a dead-letter queue), the extractor
 * Lambda that consumes it (bundled ahead of time by esbuild, ffprobe from the FfprobeLayer),
 * its log group and a role granting exactly what handlers/extractor does.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bundleArchive } from "../build/lambda-code";
import { LIST_SHARDS } from "../lib/list-index";
import { RAW_METADATA_PREFIX } from "../lib/naming";
import { defaultBatchSize, MIN_PROBE_MEMORY_MB, probeSlots, worstBatchMs } from "../lib/probe-limits";
import { DEFAULT_PROBE_TIMEOUT_MS, ENV } from "../lib/runtime-env";
import type { FfprobeLayer } from "./ffprobe-layer";
import { lambdaRuntimeStatements, type PolicyStatement } from "./iam";
import { createNodeFunction } from "./node-function";
import { type BucketRef, checkLogRetention, KILL_SWITCH_OWNED, type TableRef, UNRESERVED } from "./refs";

/** AWS guidance for SQS event sources: visibility timeout at least six times the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
const SQS_MAX_VISIBILITY_SECONDS = 12 * 3600;
/** SQS's longest retention: events wait out a kill-switch pause of up to two weeks. */
export const QUEUE_RETENTION_SECONDS = 14 * 24 * 3600;
/** The range of an SQS event source mapping's maximum concurrency (Lambda's ScalingConfig). */
export const MAPPING_CONCURRENCY_RANGE = { min: 2, max: 1000 } as const;

export interface MetadataExtractorArgs {
  /** The ffprobe layer; the function runs on the layer's architecture. */
  layer: FfprobeLayer;
  /** ARN of the bucket whose objects are probed (read only). */
  ingestBucketArn: pulumi.Input<string>;
  /** Bucket receiving the gzip'd raw ffprobe JSON, under RAW_METADATA_PREFIX only. */
  metadataBucket: BucketRef;
  /** Table of metadata documents (item reads and conditional writes). */
  table: TableRef;
  memoryMb: number;
  timeoutSeconds: number;
  /**
   * Concurrent executions reserved for (and capping) the function; -1 (default) for none.
   * Any reservation must leave the account's minimum unreserved concurrency (100 by AWS's
   * rule), so it fails on new accounts whose quota is 10: reserve only when asked to.
   */
  reservedConcurrency?: number;
  /**
   * Most concurrent invocations the SQS poller starts (the event source mapping's
   * scalingConfig.maximumConcurrency, 2-1000): the cap on the extractor without reserving
   * anything. With a reservation it must not exceed it. Default 5.
   */
  maximumConcurrency?: number;
  logRetentionDays: number;
  /**
   * Records per invocation. They probe probeSlots(memoryMb) at a time (lib/probe-limits.ts),
   * each bounded by the probe timeout; the batch must finish within the function's timeout.
   * Default: the largest batch (up to 10) that does.
   */
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
      { messageRetentionSeconds: QUEUE_RETENTION_SECONDS, sqsManagedSseEnabled: true },
      parent,
    );
    this.queue = new aws.sqs.Queue(
      `${name}-queue`,
      {
        visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
        // As long as SQS allows: uploads queue here while the kill switch pauses the pipeline.
        messageRetentionSeconds: QUEUE_RETENTION_SECONDS,
        receiveWaitTimeSeconds: 20,
        sqsManagedSseEnabled: true,
        redrivePolicy: pulumi.jsonStringify({
          deadLetterTargetArn: this.deadLetterQueue.arn,
          maxReceiveCount: settings.maxReceiveCount,
        }),
      },
      parent,
    );
    const layer = args.layer;
    const fn = createNodeFunction(
      name,
      {
        code: args.code ?? bundleArchive("extractor"),
        architecture: layer.architecture,
        layers: [layer.arn],
        memoryMb: args.memoryMb,
        timeoutSeconds: args.timeoutSeconds,
        reservedConcurrency: settings.reservedConcurrency,
        // A pause sets the reserved concurrency to 0: a deploy must not lift it (KILL_SWITCH_OWNED).
        pausedByKillSwitch: true,
        logRetentionDays: args.logRetentionDays,
        roleDescription: "media-pipeline extractor: reads ingest objects, writes metadata",
        statements: (logGroupArn) => extractorStatements(args, this.queue.arn, logGroupArn),
        serviceName: this.serviceName,
        environment: extractorEnvironment({ ...args, probeTimeoutMs: settings.probeTimeoutMs }),
      },
      this,
    );
    ({ logGroup: this.logGroup, role: this.role, rolePolicy: this.rolePolicy, function: this.function } = fn);

    this.eventSourceMapping = new aws.lambda.EventSourceMapping(
      `${name}-source`,
      {
        eventSourceArn: this.queue.arn,
        functionName: this.function.arn,
        batchSize: settings.batchSize,
        maximumBatchingWindowInSeconds: settings.batchingWindowSeconds,
        // Only the failed records of a batch are retried (the handler returns batchItemFailures).
        functionResponseTypes: ["ReportBatchItemFailures"],
        // Caps the extractor without reserving concurrency (a reservation fails on new accounts);
        // with a reservation it stays at or below it, so messages are not throttled into the DLQ.
        scalingConfig: { maximumConcurrency: settings.maximumConcurrency },
      },
      // Lambda checks the role's SQS permissions when the mapping is created. A pause disables
      // the mapping: a deploy must not enable it again (KILL_SWITCH_OWNED).
      { parent: this, dependsOn: [this.rolePolicy], ignoreChanges: [...KILL_SWITCH_OWNED.eventSourceMapping] },
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

/**
 * What the extractor's code (handlers/extractor, also run by the backfill) reads from its
 * environment: the table, the metadata bucket, the pinned ffprobe of the layer and its timeout.
 */
export function extractorEnvironment(
  args: Pick<MetadataExtractorArgs, "table" | "metadataBucket" | "layer"> & { probeTimeoutMs: number },
): Record<string, pulumi.Input<string>> {
  return {
    [ENV.tableName]: args.table.name,
    [ENV.listShards]: String(args.table.listShards ?? LIST_SHARDS.default),
    [ENV.metadataBucket]: args.metadataBucket.name,
    [ENV.ffprobePath]: args.layer.binaryPath,
    [ENV.ffprobeSha256]: args.layer.binarySha256,
    [ENV.probeTimeoutMs]: String(args.probeTimeoutMs),
  };
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
  reservedConcurrency: number;
  maximumConcurrency: number;
}

function checkSettings(name: string, args: MetadataExtractorArgs): ExtractorSettings {
  const fail = (what: string) => {
    throw new Error(`MetadataExtractor ${name}: ${what}`);
  };
  const { timeoutSeconds, memoryMb } = args;
  const reservedConcurrency = args.reservedConcurrency ?? UNRESERVED;
  const maximumConcurrency = args.maximumConcurrency ?? 5;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 900) {
    fail(`timeout must be 1-900 seconds, got ${timeoutSeconds}`);
  }
  if (!Number.isInteger(memoryMb) || memoryMb < MIN_PROBE_MEMORY_MB || memoryMb > 10240) {
    fail(
      `memory must be ${MIN_PROBE_MEMORY_MB}-10240 MB (one ffprobe at its memory limit beside Node), got ${memoryMb}`,
    );
  }
  if (!Number.isInteger(reservedConcurrency) || (reservedConcurrency < 0 && reservedConcurrency !== UNRESERVED)) {
    fail(`reserved concurrency must be -1 (none) or >= 0, got ${reservedConcurrency}`);
  }
  const { min, max } = MAPPING_CONCURRENCY_RANGE;
  if (!Number.isInteger(maximumConcurrency) || maximumConcurrency < min || maximumConcurrency > max) {
    fail(`the SQS poller's maximum concurrency must be ${min}-${max}, got ${maximumConcurrency}`);
  }
  if (reservedConcurrency !== UNRESERVED && maximumConcurrency > reservedConcurrency) {
    fail(
      `the SQS poller's maximum concurrency (${maximumConcurrency}) exceeds the reserved concurrency (${reservedConcurrency}): ` +
        "throttled batches would drift into the dead-letter queue; lower it or reserve more",
    );
  }
  checkLogRetention(args.logRetentionDays, `MetadataExtractor ${name}`);
  const batchingWindowSeconds = args.maximumBatchingWindowSeconds ?? 1;
  const probeTimeoutMs = args.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const batchSize = args.batchSize ?? defaultBatchSize(memoryMb, timeoutSeconds, probeTimeoutMs);
  // Records probe a few at a time (as many as the memory holds); each round may take the whole
  // probe deadline, and the last one still needs a few seconds for S3 and DynamoDB.
  if (worstBatchMs(batchSize, memoryMb, probeTimeoutMs) > timeoutSeconds * 1000) {
    fail(
      `a batch of ${batchSize} probing ${probeSlots(memoryMb)} at a time may take ${worstBatchMs(batchSize, memoryMb, probeTimeoutMs)} ms, over the ${timeoutSeconds} s timeout; lower the batch size or raise the timeout or memory`,
    );
  }
  const visibilityTimeoutSeconds = VISIBILITY_TIMEOUT_FACTOR * timeoutSeconds + batchingWindowSeconds;
  if (visibilityTimeoutSeconds > SQS_MAX_VISIBILITY_SECONDS) {
    fail(`a ${timeoutSeconds} s timeout needs a visibility timeout over SQS's 12 hours`);
  }
  return {
    visibilityTimeoutSeconds,
    batchSize,
    batchingWindowSeconds,
    maxReceiveCount: args.maxReceiveCount ?? 5,
    probeTimeoutMs,
    reservedConcurrency,
    maximumConcurrency,
  };
}
