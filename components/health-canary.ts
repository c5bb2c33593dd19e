/**
 * HealthCanary: a CloudWatch Synthetics canary that calls GET /health of the read API on a
 * schedule (script: components/assets/health-canary/health-check.js, runtime
 * syn-nodejs-puppeteer), with its artifacts bucket (a MediaBucket: private, encrypted,
 * TLS-only, objects expire), its log group (retention set; the canary's Lambda is managed by
 * Synthetics, so the group is declared once its name is known) and a least-privilege role
 * (AWS's "basic canary" permissions, scoped to this canary and bucket prefix).
 *
 * Its alarm (SuccessPercent) is a CanaryAlarms made by PipelineObservability with the others.
 */
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { buildCanaryZip } from "../build/canary-zip";
import { API_ROUTES } from "../lib/api-routes";
import { REPO_ROOT } from "../lib/repo-root";
import { type PolicyStatement, policyDocument, serviceTrustPolicy } from "./iam";
import { MediaBucket } from "./media-bucket";
import { checkLogRetention } from "./refs";

/**
 * The Synthetics runtime: the most recent Node.js + Puppeteer runtime AWS documents
 * (CloudWatch_Synthetics_Library_nodejs_puppeteer). List the current ones with
 * `aws synthetics describe-runtime-versions`; the script works from 3.x on.
 */
export const SYNTHETICS_RUNTIME_VERSION = "syn-nodejs-puppeteer-15.0";

/** The canary script, and where the Node.js runtimes load it from inside the zip. */
export const CANARY_SCRIPT = path.join(__dirname, "assets", "health-canary", "health-check.js");
export const CANARY_SCRIPT_ZIP_PATH = "nodejs/node_modules/healthCheck.js";
export const CANARY_HANDLER = "healthCheck.handler";

/** Environment variable the script reads the URL from. */
export const HEALTH_URL_ENV = "HEALTH_URL";
/** Prefix of the artifacts (screenshots, HAR files, reports) in the artifacts bucket. */
export const ARTIFACTS_PREFIX = "canary/";
/**
 * Synthetics names the canary's function cwsyn-<canary>-<36-character id>, and a Lambda
 * function name has at most 64 characters: the canary's name can have 21.
 */
export const MAX_CANARY_NAME_LENGTH = 21;

/** The route the canary calls, from the API's route table ("GET /health" -> "/health"). */
export const HEALTH_PATH = API_ROUTES.health.replace(/^GET\s+/, "");

export interface HealthCanaryArgs {
  /** Base URL of the API, without a trailing slash; the canary calls <apiUrl>/health. */
  apiUrl: pulumi.Input<string>;
  /** Run every this many minutes (1-60). */
  rateMinutes: number;
  /** Let `pulumi destroy` delete the artifacts bucket with its objects (lab stacks). */
  forceDestroy: boolean;
  /** Days artifacts (and run data) are kept. Default 31, Synthetics' own default. */
  artifactRetentionDays?: number;
  logRetentionDays: number;
  /** Canary name (lowercase letters, digits, - and _, at most 21). Default: the component's name. */
  canaryName?: string;
  /** Default SYNTHETICS_RUNTIME_VERSION. */
  runtimeVersion?: string;
  /** Limit of one run. Default 60 s. */
  timeoutSeconds?: number;
}

export class HealthCanary extends pulumi.ComponentResource {
  public readonly artifacts: MediaBucket;
  public readonly role: aws.iam.Role;
  public readonly rolePolicy: aws.iam.RolePolicy;
  public readonly canary: aws.synthetics.Canary;
  /** /aws/lambda/<the canary's function>, with retention. */
  public readonly logGroup: aws.cloudwatch.LogGroup;
  public readonly canaryName: string;
  /** The URL the canary calls. */
  public readonly url: pulumi.Output<string>;
  /** The script zip (content-addressed, under .cache/health-canary/). */
  public readonly zipPath: string;
  /**
   * The zip as the canary's `zipFile` names it: relative to the project folder (where Pulumi
   * runs the program), so the input is the same in every checkout and only a changed script
   * changes it. An absolute path differed per checkout and showed as a diff on every machine.
   */
  public readonly zipFile: string;

  constructor(name: string, args: HealthCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:synthetics:HealthCanary", name, {}, opts);
    const parent = { parent: this };
    const settings = checkSettings(name, args);
    this.canaryName = settings.canaryName;
    this.zipPath = buildCanaryZip(CANARY_SCRIPT, CANARY_SCRIPT_ZIP_PATH);
    this.zipFile = projectRelative(this.zipPath);
    this.url = pulumi.output(args.apiUrl).apply((u) => `${u.replace(/\/+$/, "")}${HEALTH_PATH}`);

    this.artifacts = new MediaBucket(
      `${name}-artifacts`,
      { forceDestroy: args.forceDestroy, expireObjectsAfterDays: settings.retentionDays },
      parent,
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"),
        description: "media-pipeline health canary: writes its artifacts, logs and Synthetics metrics",
      },
      parent,
    );
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const region = aws.getRegionOutput({}, parent).region;
    const partition = aws.getPartitionOutput({}, parent).partition;
    this.rolePolicy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.name,
        policy: policyDocument(
          canaryStatements({
            canaryName: this.canaryName,
            artifactsBucketArn: this.artifacts.arn,
            logGroupPrefixArn: pulumi.interpolate`arn:${partition}:logs:${region}:${account}:log-group:/aws/lambda/cwsyn-${this.canaryName}-`,
          }),
        ),
      },
      parent,
    );
    this.canary = new aws.synthetics.Canary(
      name,
      {
        name: this.canaryName,
        runtimeVersion: settings.runtimeVersion,
        handler: CANARY_HANDLER,
        zipFile: this.zipFile,
        executionRoleArn: this.role.arn,
        artifactS3Location: pulumi.interpolate`s3://${this.artifacts.bucketName}/${ARTIFACTS_PREFIX}`,
        artifactConfig: { s3Encryption: { encryptionMode: "SSE_S3" } },
        schedule: { expression: settings.rateExpression },
        runConfig: {
          timeoutInSeconds: settings.timeoutSeconds,
          environmentVariables: { [HEALTH_URL_ENV]: this.url },
        },
        successRetentionPeriod: settings.retentionDays,
        failureRetentionPeriod: settings.retentionDays,
        startCanary: true,
        // The canary's function and layers are Synthetics', not the stack's: delete them with it.
        deleteLambda: true,
      },
      { parent: this, dependsOn: [this.rolePolicy] },
    );
    // The role has no logs:CreateLogGroup: this group, with its retention, is the only one
    // the canary can write to (runs before it exists lose their log lines, nothing else).
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: this.canary.engineArn.apply((arn) => `/aws/lambda/${functionNameOfArn(arn)}`),
        retentionInDays: args.logRetentionDays,
      },
      parent,
    );

    this.registerOutputs({ canaryName: this.canaryName, url: this.url, logGroupName: this.logGroup.name });
  }
}

/** The canary role's grants: AWS's documented "basic canary" statements, without CreateLogGroup. */
export function canaryStatements(args: {
  canaryName: string;
  artifactsBucketArn: pulumi.Input<string>;
  /** ARN of its log groups up to the function's id: arn:...:log-group:/aws/lambda/cwsyn-<name>- */
  logGroupPrefixArn: pulumi.Input<string>;
}): PolicyStatement[] {
  return [
    {
      Sid: "WriteArtifacts",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:GetObject"],
      Resource: pulumi.interpolate`${args.artifactsBucketArn}/${ARTIFACTS_PREFIX}*`,
    },
    {
      Sid: "LocateArtifactsBucket",
      Effect: "Allow",
      Action: "s3:GetBucketLocation",
      Resource: args.artifactsBucketArn,
    },
    {
      // The Synthetics runtime lists buckets to check the artifact location; the action has no resource scope.
      Sid: "ListBucketsForSynthetics",
      Effect: "Allow",
      Action: "s3:ListAllMyBuckets",
      Resource: "*",
    },
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: pulumi.interpolate`${args.logGroupPrefixArn}*`,
    },
    {
      Sid: "PublishSyntheticsMetrics",
      Effect: "Allow",
      Action: "cloudwatch:PutMetricData",
      Resource: "*",
      Condition: { StringEquals: { "cloudwatch:namespace": "CloudWatchSynthetics" } },
    },
  ];
}

/** "arn:aws:lambda:us-east-1:123456789012:function:cwsyn-x-1234:3" -> "cwsyn-x-1234". */
export function functionNameOfArn(arn: string): string {
  const m = /:function:([^:]+)/.exec(arn);
  if (!m?.[1]) throw new Error(`not a Lambda function ARN: ${arn}`);
  return m[1];
}

/** A canary name from a component name: lowercase, [a-z0-9_-] only, at most 21 characters. */
export function canaryNameFor(raw: string): string {
  const cleaned = raw
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .slice(0, MAX_CANARY_NAME_LENGTH)
    .replace(/^-+|-+$/g, "");
  if (!cleaned) throw new Error(`no canary name can be made from "${raw}"`);
  return cleaned;
}

/** `file` relative to the project folder, with forward slashes (the same string on every machine). */
export function projectRelative(file: string): string {
  const rel = path.relative(REPO_ROOT, file);
  if (rel.startsWith("..") || path.isAbsolute(rel)) return file; // outside the project (tests' temp folders)
  return rel.split(path.sep).join("/");
}

interface CanarySettings {
  canaryName: string;
  rateExpression: string;
  retentionDays: number;
  timeoutSeconds: number;
  runtimeVersion: string;
}

function checkSettings(name: string, args: HealthCanaryArgs): CanarySettings {
  const fail = (what: string): never => {
    throw new Error(`HealthCanary ${name}: ${what}`);
  };
  const canaryName = args.canaryName ?? canaryNameFor(name);
  if (!/^[a-z0-9_-]{1,21}$/.test(canaryName)) {
    fail(`canary name "${canaryName}" must be 1-${MAX_CANARY_NAME_LENGTH} of a-z, 0-9, - and _`);
  }
  const minutes = args.rateMinutes;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) fail(`rate must be 1-60 minutes, got ${minutes}`);
  const retentionDays = args.artifactRetentionDays ?? 31;
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 455) {
    fail(`artifact retention must be 1-455 days, got ${retentionDays}`);
  }
  const timeoutSeconds = args.timeoutSeconds ?? 60;
  // Synthetics: at least 3 s (15 s recommended for cold starts), at most the interval.
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 15 || timeoutSeconds > Math.min(840, minutes * 60)) {
    fail(`run timeout must be 15 s up to the interval (${minutes * 60} s, at most 840), got ${timeoutSeconds}`);
  }
  checkLogRetention(args.logRetentionDays, `HealthCanary ${name}`);
  return {
    canaryName,
    rateExpression: `rate(${minutes} ${minutes === 1 ? "minute" : "minutes"})`,
    retentionDays,
    timeoutSeconds,
    runtimeVersion: args.runtimeVersion ?? SYNTHETICS_RUNTIME_VERSION,
  };
}
