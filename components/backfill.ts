/**
 * Backfill: re-processing the ingest bucket at scale. A STANDARD Step Functions state machine
 * whose Distributed Map lists the bucket (S3 ItemReader, ListObjectsV2 under the execution's
 * prefix), batches the listed objects (ItemBatcher) and hands each batch to the backfill
 * Lambda (handlers/backfill/index.ts: selection against the table, then the extractor's own
 * code with the pinned ffprobe layer), writing the Map Run's results to the metadata bucket
 * under BACKFILL_RESULTS_PREFIX. Plus the function's log group and two roles granting exactly
 * what the function and the state machine do.
 *
 * Execution input (all optional): { "prefix": "clips/", "onlyOutdated": false, "bucket": "<ingest>" }.
 * `bucket` may only name the ingest bucket (the roles grant nothing else); it exists so
 * callers that always send one (tools, consoles) get a clear `WrongBucket` failure instead of
 * a silent listing of another bucket. `npm run backfill -- --stack NAME` starts it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bundleArchive } from "../build/lambda-code";
import { RAW_METADATA_PREFIX } from "../lib/naming";
import { MIN_PROBE_MEMORY_MB, probeSlots } from "../lib/probe-limits";
import { DEFAULT_PROBE_TIMEOUT_MS, ENV } from "../lib/runtime-env";
import type { FfprobeLayer } from "./ffprobe-layer";
import { lambdaRuntimeStatements, type PolicyStatement, policyDocument, serviceTrustPolicy } from "./iam";
import { extractorEnvironment } from "./metadata-extractor";
import { createNodeFunction } from "./node-function";
import { type BucketRef, checkLogRetention, type TableRef } from "./refs";

/** Prefix (in the metadata bucket) under which each Map Run writes its manifest and results. */
export const BACKFILL_RESULTS_PREFIX = "backfill-results/";
/** The Distributed Map state's name, also its Label (map run and child execution ARNs carry it). */
export const BACKFILL_MAP_STATE = "Backfill";
/** Error names the Map's Task retries: the Lambda service's transient errors (AWS's recommended set). */
export const LAMBDA_TRANSIENT_ERRORS = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
] as const;
/** What handlers/backfill/step-functions.ts throws, after the whole batch ran, when items failed. */
export const BACKFILL_ITEMS_FAILED = "BackfillItemsFailed";

export const BACKFILL_DEFAULTS = {
  maxConcurrency: 10,
  /** Fits 900 s at 1024 MB: 36 rounds of a 25 s worst-case probe, 2 probes at a time. */
  batchSize: 72,
  toleratedFailurePercent: 5,
  itemConcurrency: 4,
  timeoutSeconds: 900,
} as const;

/** Step Functions' ceiling on a Distributed Map's concurrent child executions. */
const MAX_MAP_CONCURRENCY = 10_000;
/** Seconds an item needs besides its probe (the table read and writes, raw JSON upload). */
const ITEM_OVERHEAD_MS = 5_000;

export interface BackfillArgs {
  /** The ffprobe layer; the function runs on the layer's architecture. */
  layer: FfprobeLayer;
  /** The bucket re-processed: listed by the state machine, its objects read by the function. */
  ingestBucket: BucketRef;
  /** Receives raw ffprobe JSON (function, RAW_METADATA_PREFIX) and Map Run results (state machine, BACKFILL_RESULTS_PREFIX). */
  metadataBucket: BucketRef;
  /** Table of metadata documents (BatchGetItem for the selection, GetItem/PutItem for the writes). */
  table: TableRef;
  /** Function memory in MB; size it like the extractor (ffprobe is CPU-bound). */
  memoryMb: number;
  logRetentionDays: number;
  /** Concurrent child executions (each one running the function on one batch). Default 10. */
  maxConcurrency?: number;
  /** Objects per batch (ItemBatcher MaxItemsPerBatch), i.e. per invocation. Default 100. */
  batchSize?: number;
  /** Percent of items whose batch may fail (after retries) without failing the Map Run. Default 5. */
  toleratedFailurePercent?: number;
  /** Objects probed at the same time inside one invocation (BatchInput.concurrency). Default 4. */
  itemConcurrency?: number;
  /** Function timeout. Default 900 s; must cover a batch whose every probe times out. */
  timeoutSeconds?: number;
  /** Wall-clock limit of one ffprobe run (PROBE_TIMEOUT_MS). Default 20 s, as the extractor. */
  probeTimeoutMs?: number;
  /** Function code. Default: the esbuild bundle of handlers/backfill/index.ts. */
  code?: pulumi.asset.Archive;
  /** Powertools service name (log lines, EMF `service` dimension). Default: the component's name. */
  serviceName?: string;
}

export interface BackfillSettings {
  maxConcurrency: number;
  batchSize: number;
  toleratedFailurePercent: number;
  itemConcurrency: number;
  timeoutSeconds: number;
  probeTimeoutMs: number;
}

export class Backfill extends pulumi.ComponentResource {
  public readonly logGroup: aws.cloudwatch.LogGroup;
  public readonly role: aws.iam.Role;
  public readonly rolePolicy: aws.iam.RolePolicy;
  public readonly function: aws.lambda.Function;
  public readonly stateMachineRole: aws.iam.Role;
  public readonly stateMachineRolePolicy: aws.iam.RolePolicy;
  public readonly stateMachine: aws.sfn.StateMachine;
  /** The Amazon States Language definition, as deployed. */
  public readonly definition: pulumi.Output<string>;
  public readonly stateMachineArn: pulumi.Output<string>;
  public readonly settings: BackfillSettings;
  public readonly serviceName: string;

  constructor(name: string, args: BackfillArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:backfill:Backfill", name, {}, opts);
    const parent = { parent: this };
    const settings = checkBackfillSettings(name, args);
    this.settings = settings;
    this.serviceName = args.serviceName ?? name;

    const layer = args.layer;
    const fn = createNodeFunction(
      name,
      {
        code: args.code ?? bundleArchive("backfill"),
        architecture: layer.architecture,
        layers: [layer.arn],
        memoryMb: args.memoryMb,
        timeoutSeconds: settings.timeoutSeconds,
        // A pause sets the reserved concurrency to 0: a deploy must not lift it (KILL_SWITCH_OWNED).
        pausedByKillSwitch: true,
        logRetentionDays: args.logRetentionDays,
        roleDescription: "media-pipeline backfill function: reads ingest objects, writes metadata",
        statements: (logGroupArn) => backfillFunctionStatements(args, logGroupArn),
        serviceName: this.serviceName,
        // The extractor's code runs here too: its environment, and the bucket it re-processes.
        environment: {
          ...extractorEnvironment({ ...args, probeTimeoutMs: settings.probeTimeoutMs }),
          [ENV.ingestBucket]: args.ingestBucket.name,
        },
      },
      this,
    );
    ({ logGroup: this.logGroup, role: this.role, rolePolicy: this.rolePolicy, function: this.function } = fn);

    this.stateMachineRole = new aws.iam.Role(
      `${name}-sfn-role`,
      {
        assumeRolePolicy: serviceTrustPolicy("states.amazonaws.com"),
        description: "media-pipeline backfill state machine: lists the ingest bucket, invokes the backfill function",
      },
      parent,
    );
    this.definition = pulumi.jsonStringify(
      backfillDefinition({
        ingestBucketName: args.ingestBucket.name,
        metadataBucketName: args.metadataBucket.name,
        functionArn: this.function.arn,
        ...settings,
      }),
    );
    // No logging configuration: a STANDARD execution keeps its history (map runs included) for
    // 90 days, and the function logs every item. CloudWatch logging would need log-delivery
    // grants on "*" and be checked at creation, before the role policy below can exist.
    this.stateMachine = new aws.sfn.StateMachine(
      `${name}-sfn`,
      { type: "STANDARD", roleArn: this.stateMachineRole.arn, definition: this.definition },
      parent,
    );
    // After the state machine: its grants name the state machine's own ARN (child executions).
    // Nothing runs before `pulumi up` has created it too.
    this.stateMachineRolePolicy = new aws.iam.RolePolicy(
      `${name}-sfn-policy`,
      {
        role: this.stateMachineRole.name,
        policy: policyDocument(
          stateMachineStatements({
            ingestBucketArn: args.ingestBucket.arn,
            metadataBucketArn: args.metadataBucket.arn,
            functionArn: this.function.arn,
            stateMachineArn: this.stateMachine.arn,
          }),
        ),
      },
      parent,
    );
    this.stateMachineArn = this.stateMachine.arn;

    this.registerOutputs({
      functionName: this.function.name,
      functionArn: this.function.arn,
      logGroupName: this.logGroup.name,
      stateMachineArn: this.stateMachineArn,
    });
  }
}

/** The function's grants, one statement per thing handlers/backfill does. */
export function backfillFunctionStatements(
  args: Pick<BackfillArgs, "ingestBucket" | "metadataBucket" | "table">,
  logGroupArn: pulumi.Input<string>,
): PolicyStatement[] {
  return [
    {
      // Ranged GETs pinned to the listed ETag; HeadObject (s3:GetObject too) for a removal's check.
      Sid: "ReadIngestObjects",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: pulumi.interpolate`${args.ingestBucket.arn}/*`,
    },
    {
      // Without ListBucket, S3 answers a GET of a key deleted since the listing with 403 instead
      // of 404: the item would fail (and its batch be retried) instead of being "changed".
      Sid: "SeeMissingIngestObjectsAs404",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: args.ingestBucket.arn,
    },
    {
      Sid: "WriteRawMetadata",
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: pulumi.interpolate`${args.metadataBucket.arn}/${RAW_METADATA_PREFIX}*`,
    },
    {
      // Selection (BatchGetItem per page), the extractor's re-read (GetItem), compare-and-swap puts.
      Sid: "ReadAndWriteMetadataItems",
      Effect: "Allow",
      Action: ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem"],
      Resource: args.table.arn,
    },
    ...lambdaRuntimeStatements(logGroupArn),
  ];
}

export interface StateMachineGrantArgs {
  ingestBucketArn: pulumi.Input<string>;
  metadataBucketArn: pulumi.Input<string>;
  functionArn: pulumi.Input<string>;
  stateMachineArn: pulumi.Input<string>;
}

/**
 * The state machine's grants, as AWS documents them for a Distributed Map (IAM policies for
 * using Distributed Map states): the ItemReader's listing, the ResultWriter's (multipart)
 * writes, the Lambda invocations, and the Map's own child executions.
 */
export function stateMachineStatements(args: StateMachineGrantArgs): PolicyStatement[] {
  return [
    {
      // ItemReader arn:aws:states:::s3:listObjectsV2. The prefix comes from the execution input,
      // so no s3:prefix condition narrows it; the bucket is fixed in the definition.
      Sid: "ListIngestBucket",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: args.ingestBucketArn,
    },
    {
      // arn:aws:states:::lambda:invoke with the unqualified ARN (and any version or alias of it).
      Sid: "InvokeBackfillFunction",
      Effect: "Allow",
      Action: "lambda:InvokeFunction",
      Resource: [args.functionArn, pulumi.interpolate`${args.functionArn}:*`],
    },
    {
      // ResultWriter arn:aws:states:::s3:putObject: manifest.json and SUCCEEDED/FAILED/PENDING
      // result files, large ones as multipart uploads.
      Sid: "WriteBackfillResults",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
      Resource: pulumi.interpolate`${args.metadataBucketArn}/${BACKFILL_RESULTS_PREFIX}*`,
    },
    {
      // The Distributed Map starts each batch as a child execution of this same state machine.
      Sid: "StartMapChildExecutions",
      Effect: "Allow",
      Action: "states:StartExecution",
      Resource: args.stateMachineArn,
    },
    {
      // ...and follows or stops them: arn:...:execution:<state machine>/<map run label>:<id>.
      Sid: "FollowMapChildExecutions",
      Effect: "Allow",
      Action: ["states:DescribeExecution", "states:StopExecution"],
      Resource: pulumi.output(args.stateMachineArn).apply(childExecutionsArn),
    },
  ];
}

/** `arn:aws:states:r:a:stateMachine:NAME` -> `arn:aws:states:r:a:execution:NAME/*` (a Map's child executions). */
export function childExecutionsArn(stateMachineArn: string): string {
  const m = /^(arn:[^:]+:states:[^:]*:[^:]*):stateMachine:([^:/]+)$/.exec(stateMachineArn);
  if (!m) throw new Error(`not an unqualified state machine ARN: ${stateMachineArn}`);
  return `${m[1]}:execution:${m[2]}/*`;
}

export interface BackfillDefinitionArgs extends Omit<BackfillSettings, "timeoutSeconds" | "probeTimeoutMs"> {
  ingestBucketName: pulumi.Input<string>;
  metadataBucketName: pulumi.Input<string>;
  functionArn: pulumi.Input<string>;
}

/**
 * The state machine (JSONPath Amazon States Language), with Outputs where names are not known
 * yet: pass it to pulumi.jsonStringify.
 *
 *   CheckInput (Choice) -> Defaults (Pass) -> ApplyDefaults (Pass) -> Backfill (Distributed Map)
 *        `-> WrongBucket / InvalidInput (Fail)
 */
export function backfillDefinition(a: BackfillDefinitionArgs) {
  const present = (field: string) => ({ Variable: `$.${field}`, IsPresent: true });
  return {
    Comment: "media-pipeline backfill: re-process the ingest bucket's objects (handlers/backfill)",
    StartAt: "CheckInput",
    States: {
      CheckInput: {
        Type: "Choice",
        Choices: [
          {
            And: [present("bucket"), { Not: { Variable: "$.bucket", StringEquals: a.ingestBucketName } }],
            Next: "WrongBucket",
          },
          { And: [present("prefix"), { Not: { Variable: "$.prefix", IsString: true } }], Next: "InvalidInput" },
          {
            And: [present("onlyOutdated"), { Not: { Variable: "$.onlyOutdated", IsBoolean: true } }],
            Next: "InvalidInput",
          },
        ],
        Default: "Defaults",
      },
      WrongBucket: {
        Type: "Fail",
        Error: "WrongBucket",
        Cause: "the backfill only processes the stack's ingest bucket: omit `bucket` or give the ingest bucket's name",
      },
      InvalidInput: {
        Type: "Fail",
        Error: "InvalidInput",
        Cause: 'expected input {"prefix"?: string, "onlyOutdated"?: boolean, "bucket"?: string}',
      },
      Defaults: {
        Type: "Pass",
        Result: { prefix: "", onlyOutdated: false },
        ResultPath: "$.backfillDefaults",
        Next: "ApplyDefaults",
      },
      ApplyDefaults: {
        Type: "Pass",
        Parameters: { "input.$": "States.JsonMerge($.backfillDefaults, $$.Execution.Input, false)" },
        OutputPath: "$.input",
        Next: BACKFILL_MAP_STATE,
      },
      [BACKFILL_MAP_STATE]: {
        Type: "Map",
        Label: BACKFILL_MAP_STATE,
        ItemReader: {
          Resource: "arn:aws:states:::s3:listObjectsV2",
          Parameters: { Bucket: a.ingestBucketName, "Prefix.$": "$.prefix" },
        },
        ItemBatcher: {
          MaxItemsPerBatch: a.batchSize,
          // handlers/backfill/step-functions.ts BackfillBatchInput
          BatchInput: {
            bucket: a.ingestBucketName,
            "onlyOutdated.$": "$.onlyOutdated",
            concurrency: a.itemConcurrency,
          },
        },
        ItemProcessor: {
          ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
          StartAt: "ProcessBatch",
          States: {
            ProcessBatch: {
              Type: "Task",
              Resource: "arn:aws:states:::lambda:invoke",
              Parameters: { FunctionName: a.functionArn, "Payload.$": "$" },
              OutputPath: "$.Payload",
              Retry: [
                {
                  ErrorEquals: [...LAMBDA_TRANSIENT_ERRORS],
                  IntervalSeconds: 2,
                  MaxAttempts: 6,
                  BackoffRate: 2,
                  JitterStrategy: "FULL",
                },
                {
                  // The batch runs again; what it already did is then "up-to-date" and skipped.
                  ErrorEquals: [BACKFILL_ITEMS_FAILED],
                  IntervalSeconds: 30,
                  MaxAttempts: 3,
                  BackoffRate: 2,
                  JitterStrategy: "FULL",
                },
              ],
              End: true,
            },
          },
        },
        MaxConcurrency: a.maxConcurrency,
        ToleratedFailurePercentage: a.toleratedFailurePercent,
        ResultWriter: {
          Resource: "arn:aws:states:::s3:putObject",
          Parameters: { Bucket: a.metadataBucketName, Prefix: BACKFILL_RESULTS_PREFIX.replace(/\/$/, "") },
        },
        End: true,
      },
    },
  };
}

export function checkBackfillSettings(name: string, args: BackfillArgs): BackfillSettings {
  const fail = (what: string): never => {
    throw new Error(`Backfill ${name}: ${what}`);
  };
  const int = (what: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) fail(`${what} must be ${min}-${max}, got ${value}`);
    return value;
  };
  const s: BackfillSettings = {
    maxConcurrency: int(
      "max concurrency",
      args.maxConcurrency ?? BACKFILL_DEFAULTS.maxConcurrency,
      1,
      MAX_MAP_CONCURRENCY,
    ),
    batchSize: int("batch size", args.batchSize ?? BACKFILL_DEFAULTS.batchSize, 1, 1000),
    toleratedFailurePercent: int(
      "tolerated failure percent",
      args.toleratedFailurePercent ?? BACKFILL_DEFAULTS.toleratedFailurePercent,
      0,
      100,
    ),
    itemConcurrency: int("item concurrency", args.itemConcurrency ?? BACKFILL_DEFAULTS.itemConcurrency, 1, 64),
    timeoutSeconds: int("timeout", args.timeoutSeconds ?? BACKFILL_DEFAULTS.timeoutSeconds, 1, 900),
    probeTimeoutMs: int("probe timeout (ms)", args.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, 1000, 900_000),
  };
  int("memory (MB)", args.memoryMb, MIN_PROBE_MEMORY_MB, 10240);
  checkLogRetention(args.logRetentionDays, `Backfill ${name}`);
  // A batch must finish within one invocation even when every probe runs into its timeout. Its
  // objects probe itemConcurrency at a time, but never more than the memory holds
  // (probeSlots, lib/probe-limits.ts: the extractor code in the function enforces it).
  const atOnce = Math.min(s.itemConcurrency, probeSlots(args.memoryMb));
  const rounds = Math.ceil(s.batchSize / atOnce);
  const worstMs = rounds * (s.probeTimeoutMs + ITEM_OVERHEAD_MS);
  if (worstMs > s.timeoutSeconds * 1000) {
    fail(
      `a batch of ${s.batchSize} objects, ${atOnce} at a time, may take ${Math.ceil(worstMs / 1000)} s ` +
        `(${rounds} rounds of a ${s.probeTimeoutMs} ms probe + ${ITEM_OVERHEAD_MS / 1000} s) but the timeout is ` +
        `${s.timeoutSeconds} s: lower the batch size or raise the item concurrency (and memory: ${args.memoryMb} MB probes ${probeSlots(args.memoryMb)} at a time)`,
    );
  }
  return s;
}
