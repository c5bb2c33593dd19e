/**
 * MediaPipeline: the whole stack as one component.
 *
 *   upload -> ingest bucket --(S3 events)--> queue (+DLQ) -> extractor Lambda (+ffprobe layer)
 *          -> metadata table + raw JSON in the metadata bucket -> read API (Cognito JWT) -> dashboard
 *
 * Then the cost guard (budget -> SNS -> kill switch), the optional Synthetics health canary,
 * and observability (alarm topic, alarms on every function, queue, table and the API, log
 * metric filters, the dashboard) take the parts they need from the readonly fields here
 * (extractor.function, extractor.queue, api.function, ...) and are added at the end.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { buildDashboardSync, DASHBOARD_DIST_DIR, dashboardNeedsBuild } from "../build/dashboard";
import type { PipelineSettings } from "../lib/config-schema";
import {
  type DashboardConfig,
  DEFAULT_DASHBOARD_SCOPES,
  DEFAULT_REDIRECT_PATH,
  DEFAULT_UPLOAD_LIMITS,
} from "../lib/dashboard-config";
import { PROJECT_NAME, resourceName } from "../lib/naming";
import { REPO_ROOT } from "../lib/repo-root";
import { Backfill } from "./backfill";
import { CostGuard } from "./cost-guard";
import { type DashboardOrigins, DashboardSite } from "./dashboard-site";
import { FfprobeLayer } from "./ffprobe-layer";
import { HealthCanary } from "./health-canary";
import { MediaBucket } from "./media-bucket";
import { MetadataApi } from "./metadata-api";
import { MetadataExtractor } from "./metadata-extractor";
import { MetadataStats } from "./metadata-stats";
import { MetadataTable } from "./metadata-table";
import { PipelineObservability } from "./pipeline-observability";
import type { TableRef } from "./refs";

/** Shipped when the checkout has no dashboard sources, so the site (and its config.json) still deploy. */
export const DASHBOARD_PLACEHOLDER_DIR = path.join(__dirname, "assets", "dashboard-placeholder");

/** Methods a browser uses to upload through presigned URLs (single PUT, multipart POST/PUT). */
const UPLOAD_METHODS = ["PUT", "POST"];

/**
 * The pipeline's arguments: the stack's settings, as lib/config-schema.ts defines and documents
 * each (index.ts passes the parsed configuration through; defaults live there only), without the
 * ones the AWS provider takes (owner and costCenter tags, accountId), plus code overrides for tests.
 */
export interface MediaPipelineArgs extends Omit<PipelineSettings, "owner" | "costCenter" | "accountId"> {
  /** Stack (environment) name; physical names start with `mp-<stack>-`. */
  stack: string;
  /** Extractor code (tests). Default: the esbuild bundle of handlers/extractor. */
  extractorCode?: pulumi.asset.Archive;
  /** API code (tests). Default: the esbuild bundle of handlers/api. */
  apiCode?: pulumi.asset.Archive;
  /** A prebuilt ffprobe layer zip (tests). Default: built from lib/ffprobe-pin.ts. */
  layerZipPath?: string;
  /** Kill-switch code (tests). Default: the esbuild bundle of handlers/kill-switch. */
  killSwitchCode?: pulumi.asset.Archive;
  /** Backfill code (tests). Default: the esbuild bundle of handlers/backfill. */
  backfillCode?: pulumi.asset.Archive;
  /** Code of the stats aggregator (tests); default: its bundle. */
  statsCode?: pulumi.asset.Archive;
}

export class MediaPipeline extends pulumi.ComponentResource {
  public readonly metadataBucket: MediaBucket;
  public readonly table: MetadataTable;
  /** Running totals of GET /stats, kept from the table's stream. */
  public readonly stats: MetadataStats;
  public readonly layer: FfprobeLayer;
  public readonly extractor: MetadataExtractor;
  public readonly dashboard: DashboardSite;
  public readonly ingestBucket: MediaBucket;
  public readonly api: MetadataApi;
  /** Where users (and the dashboard, through presigned URLs) upload media. */
  public readonly uploadBucketName: pulumi.Output<string>;
  public readonly apiUrl: pulumi.Output<string>;
  public readonly dashboardUrl: pulumi.Output<string>;
  public readonly tableName: pulumi.Output<string>;
  /** The Cognito user pool: invite users into it. */
  public readonly userPoolId: pulumi.Output<string>;
  /** Budget, budget topic and the kill switch subscribed to it. */
  public readonly costGuard: CostGuard;
  /** The Synthetics canary on GET /health, when syntheticsCanary is on. */
  public readonly healthCanary?: HealthCanary;
  /** Alarm topic, alarms, log metric filters and the dashboard. */
  public readonly observability: PipelineObservability;
  /** What `npm run resume` needs (tools/resume.ts STACK_OUTPUTS). */
  public readonly extractorFunctionName: pulumi.Output<string>;
  public readonly backfillFunctionName: pulumi.Output<string>;
  /** The extractor's queue: `npm run reconcile -- --enqueue` sends events here. */
  public readonly queueUrl: pulumi.Output<string>;
  public readonly apiFunctionName: pulumi.Output<string>;
  public readonly extractorEventSourceMappingUuid: pulumi.Output<string>;
  public readonly alarmTopicArn: pulumi.Output<string>;
  public readonly budgetTopicArn: pulumi.Output<string>;
  public readonly dashboardName: pulumi.Output<string>;
  /** The backfill state machine (Distributed Map over the ingest bucket) and its function. */
  public readonly backfill: Backfill;
  /** What `npm run backfill -- --stack NAME` starts (tools/backfill.ts). */
  public readonly backfillStateMachineArn: pulumi.Output<string>;

  constructor(name: string, args: MediaPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:index:MediaPipeline", name, {}, opts);
    const parent = { parent: this };
    const part = (p: string) => resourceName(args.stack, p);
    const labExpiry = args.lab ? args.labObjectExpirationDays : undefined;
    const protect = args.protectState;

    this.metadataBucket = new MediaBucket(
      part("metadata"),
      { forceDestroy: args.lab, expireObjectsAfterDays: labExpiry, protect },
      parent,
    );
    this.table = new MetadataTable(
      part("table"),
      {
        pointInTimeRecovery: args.pointInTimeRecovery,
        deletionProtection: args.deletionProtection,
        listShards: args.listShards,
        protect,
      },
      parent,
    );
    this.stats = new MetadataStats(
      part("stats"),
      {
        streamArn: this.table.streamArn,
        architecture: args.architecture,
        logRetentionDays: args.logRetentionDays,
        pointInTimeRecovery: args.pointInTimeRecovery,
        deletionProtection: args.deletionProtection,
        code: args.statsCode,
      },
      parent,
    );
    this.layer = new FfprobeLayer(
      part("ffprobe"),
      // A lab stack destroys to nothing: no layer versions left behind (skipDestroy off).
      { architecture: args.architecture, zipPath: args.layerZipPath, keepOldVersions: !args.lab },
      parent,
    );

    // The extractor's role needs the ingest bucket's ARN and the bucket's notification needs
    // the extractor's queue: the ARN is deferred until the bucket exists (no cycle between resources).
    const [ingestBucketArn, resolveIngestBucketArn] = pulumi.deferredOutput<string>();
    this.extractor = new MetadataExtractor(
      part("extractor"),
      {
        layer: this.layer,
        ingestBucketArn,
        metadataBucket: { name: this.metadataBucket.bucketName, arn: this.metadataBucket.arn },
        table: this.tableRef(),
        memoryMb: args.extractorMemoryMb,
        timeoutSeconds: args.extractorTimeoutSeconds,
        reservedConcurrency: args.extractorReservedConcurrency,
        maximumConcurrency: args.extractorMaxConcurrency,
        logRetentionDays: args.logRetentionDays,
        code: args.extractorCode,
      },
      parent,
    );

    // The dashboard's config.json names the API, which needs the dashboard's URL first.
    const [dashboardConfig, resolveDashboardConfig] = pulumi.deferredOutput<DashboardConfig>();
    const [dashboardOrigins, resolveDashboardOrigins] = pulumi.deferredOutput<DashboardOrigins>();
    this.dashboard = new DashboardSite(
      part("dashboard"),
      {
        contentDir: dashboardContentDir(args.dashboardDir),
        runtimeConfig: dashboardConfig,
        origins: dashboardOrigins,
        forceDestroy: args.lab,
      },
      parent,
    );
    const browserOrigins = [this.dashboard.url, ...args.allowedOrigins];

    this.ingestBucket = new MediaBucket(
      part("ingest"),
      {
        forceDestroy: args.lab,
        protect,
        versioning: args.ingestVersioning,
        expireObjectsAfterDays: labExpiry,
        cors: { allowedOrigins: browserOrigins, allowedMethods: UPLOAD_METHODS },
        notifyQueue: { queueArn: this.extractor.queue.arn, queueUrl: this.extractor.queue.url },
      },
      parent,
    );
    resolveIngestBucketArn(this.ingestBucket.arn);

    this.api = new MetadataApi(
      part("api"),
      {
        table: this.tableRef(),
        statsTable: { name: this.stats.tableName, arn: this.stats.tableArn },
        extractorEventSourceMapping: {
          uuid: this.extractor.eventSourceMapping.uuid,
          arn: this.extractor.eventSourceMapping.arn,
        },
        ingestBucket: { name: this.ingestBucket.bucketName, arn: this.ingestBucket.arn },
        metadataBucket: { name: this.metadataBucket.bucketName, arn: this.metadataBucket.arn },
        dashboardUrl: this.dashboard.url,
        extraOrigins: args.allowedOrigins,
        architecture: args.architecture,
        throttle: { burstLimit: args.apiThrottleBurst, rateLimit: args.apiThrottleRate },
        logRetentionDays: args.logRetentionDays,
        deletionProtection: args.deletionProtection,
        protect,
        invitationSender: args.invitationSesIdentityArn
          ? { sesIdentityArn: args.invitationSesIdentityArn, fromAddress: args.invitationFromAddress }
          : undefined,
        reservedConcurrency: args.apiReservedConcurrency,
        code: args.apiCode,
      },
      parent,
    );
    resolveDashboardConfig(
      pulumi.all([this.api.url, this.api.issuer, this.api.users.client.id]).apply(
        ([apiUrl, authority, clientId]): DashboardConfig => ({
          apiUrl,
          auth: { authority, clientId, scopes: DEFAULT_DASHBOARD_SCOPES, redirectPath: DEFAULT_REDIRECT_PATH },
          uploads: DEFAULT_UPLOAD_LIMITS,
        }),
      ),
    );
    resolveDashboardOrigins(
      pulumi
        .all([this.api.url, this.api.issuer, this.api.authDomainUrl, this.ingestBucket.bucket.bucketRegionalDomainName])
        .apply(
          ([api, issuer, signIn, regionalHost]): DashboardOrigins => ({
            api,
            issuer,
            signIn,
            // Presigned URLs name the bucket's regional host; the global one serves us-east-1 buckets too.
            uploads: [regionalHost, regionalHost.replace(/\.s3\.[a-z0-9-]+\.amazonaws\.com$/, ".s3.amazonaws.com")],
          }),
        ),
    );

    this.backfill = new Backfill(
      part("backfill"),
      {
        layer: this.layer,
        ingestBucket: { name: this.ingestBucket.bucketName, arn: this.ingestBucket.arn },
        metadataBucket: { name: this.metadataBucket.bucketName, arn: this.metadataBucket.arn },
        table: this.tableRef(),
        memoryMb: args.extractorMemoryMb,
        logRetentionDays: args.logRetentionDays,
        maxConcurrency: args.backfillMaxConcurrency,
        batchSize: args.backfillBatchSize,
        toleratedFailurePercent: args.backfillToleratedFailurePercent,
        code: args.backfillCode,
      },
      parent,
    );

    this.costGuard = new CostGuard(
      part("cost-guard"),
      {
        limitUsd: args.budgetLimitUsd,
        costFilterTag: args.budgetScope === "stack" ? { key: "Environment", value: args.stack } : undefined,
        alertEmail: args.alertEmail || undefined,
        extractorFunction: { name: this.extractor.function.name, arn: this.extractor.function.arn },
        apiFunction: { name: this.api.function.name, arn: this.api.function.arn },
        backfillFunction: { name: this.backfill.function.name, arn: this.backfill.function.arn },
        eventSourceMapping: {
          uuid: this.extractor.eventSourceMapping.uuid,
          arn: this.extractor.eventSourceMapping.arn,
        },
        killSwitchThresholdPercent: args.killSwitchThresholdPercent,
        killSwitchPauseOnForecast: args.killSwitchPauseOnForecast,
        architecture: args.architecture,
        logRetentionDays: args.logRetentionDays,
        code: args.killSwitchCode,
      },
      parent,
    );

    const canaryRateMinutes = args.syntheticsRateMinutes;
    if (args.syntheticsCanary) {
      this.healthCanary = new HealthCanary(
        part("health"),
        {
          apiUrl: this.api.url,
          rateMinutes: canaryRateMinutes,
          forceDestroy: args.lab,
          // Artifacts are disposable: a lab keeps them no longer than its other objects.
          artifactRetentionDays: labExpiry === undefined ? 31 : Math.min(31, labExpiry),
          logRetentionDays: args.logRetentionDays,
        },
        parent,
      );
    }

    this.observability = new PipelineObservability(
      part("observability"),
      {
        dashboardName: part("pipeline"),
        title: `${PROJECT_NAME} ${args.stack}`,
        alertEmail: args.alertEmail || undefined,
        functions: [
          {
            label: "Extractor",
            function: this.extractor.function,
            logGroup: this.extractor.logGroup,
            source: part("extractor"),
          },
          { label: "Read API", function: this.api.function, logGroup: this.api.logGroup, source: part("api") },
          {
            label: "Kill switch",
            function: this.costGuard.function,
            logGroup: this.costGuard.logGroup,
            source: part("kill-switch"),
          },
          {
            label: "Backfill",
            function: this.backfill.function,
            logGroup: this.backfill.logGroup,
            source: part("backfill"),
          },
          { label: "Stats", function: this.stats.function, logGroup: this.stats.logGroup, source: part("stats") },
        ],
        queue: {
          name: this.extractor.queue.name,
          // Older than the longest a failing message takes to be dead-lettered (every delivery
          // waits out the visibility timeout), plus 10 minutes: a backlog, not a retry.
          maxAgeSeconds: this.extractor.maxReceiveCount * this.extractor.queueVisibilityTimeoutSeconds + 600,
        },
        deadLetterQueue: { name: this.extractor.deadLetterQueue.name },
        table: { name: this.table.tableName },
        httpApi: { id: this.api.httpApi.id },
        distribution: { id: this.dashboard.distribution.id },
        extractorMetrics: { serviceName: this.extractor.serviceName },
        killSwitchMetrics: { serviceName: this.costGuard.serviceName },
        canary: this.healthCanary ? { name: this.healthCanary.canary.name, rateMinutes: canaryRateMinutes } : undefined,
      },
      parent,
    );

    this.uploadBucketName = this.ingestBucket.bucketName;
    this.apiUrl = this.api.url;
    this.dashboardUrl = this.dashboard.url;
    this.tableName = this.table.tableName;
    this.userPoolId = this.api.users.userPool.id;
    this.extractorFunctionName = this.extractor.function.name;
    this.backfillFunctionName = this.backfill.function.name;
    this.queueUrl = this.extractor.queue.url;
    this.apiFunctionName = this.api.function.name;
    this.extractorEventSourceMappingUuid = this.extractor.eventSourceMapping.uuid;
    this.alarmTopicArn = this.observability.alarmTopicArn;
    this.budgetTopicArn = this.costGuard.topic.arn;
    this.dashboardName = this.observability.dashboardName;
    this.backfillStateMachineArn = this.backfill.stateMachineArn;

    this.registerOutputs({
      uploadBucketName: this.uploadBucketName,
      apiUrl: this.apiUrl,
      dashboardUrl: this.dashboardUrl,
      tableName: this.tableName,
      userPoolId: this.userPoolId,
      extractorFunctionName: this.extractorFunctionName,
      backfillFunctionName: this.backfillFunctionName,
      queueUrl: this.queueUrl,
      apiFunctionName: this.apiFunctionName,
      extractorEventSourceMappingUuid: this.extractorEventSourceMappingUuid,
      alarmTopicArn: this.alarmTopicArn,
      budgetTopicArn: this.budgetTopicArn,
      dashboardName: this.dashboardName,
      backfillStateMachineArn: this.backfillStateMachineArn,
    });
  }

  /** What the functions need to know about the metadata table. */
  private tableRef(): TableRef {
    return {
      name: this.table.tableName,
      arn: this.table.arn,
      listIndexArn: this.table.listIndexArn,
      listShards: this.table.listShards,
    };
  }
}

/**
 * The folder to upload as the dashboard: the configured one; else web/dist, rebuilt first
 * (build/dashboard.ts) when its sources are newer, so a deploy never ships a stale page; else,
 * when this checkout has no dashboard sources at all, a placeholder page.
 */
export function dashboardContentDir(configured?: string): string {
  if (configured) return path.resolve(REPO_ROOT, configured);
  if (!fs.existsSync(path.join(REPO_ROOT, "web", "src"))) {
    pulumi.log.warn("this checkout has no dashboard sources (web/src): deploying a placeholder page");
    return DASHBOARD_PLACEHOLDER_DIR;
  }
  if (dashboardNeedsBuild()) {
    try {
      buildDashboardSync();
    } catch (err) {
      throw new Error(`building the dashboard (build/dashboard.ts) failed: ${(err as Error).message}`, { cause: err });
    }
  }
  return DASHBOARD_DIST_DIR;
}
