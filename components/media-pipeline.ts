/**
 * MediaPipeline: the whole stack as one component.
 *
 *   upload -> ingest bucket --(S3 events)--> queue (+DLQ) -> extractor Lambda (+ffprobe layer)
 *          -> metadata table + raw JSON in the metadata bucket -> read API (Cognito JWT) -> dashboard
 *
 * Later components (observability, cost guard, backfill) take the parts they need from the
 * readonly fields here (extractor.function, extractor.queue, api.function, ...) and are added
 * at the end of the constructor.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
  type DashboardConfig,
  DEFAULT_DASHBOARD_SCOPES,
  DEFAULT_REDIRECT_PATH,
  DEFAULT_UPLOAD_LIMITS,
} from "../lib/dashboard-config";
import type { LambdaArchitecture } from "../lib/ffprobe-pin";
import { resourceName } from "../lib/naming";
import { buildDashboardSync, DASHBOARD_DIST_DIR, dashboardNeedsBuild } from "../web/build";
import { DashboardSite } from "./dashboard-site";
import { FfmpegLayer } from "./ffmpeg-layer";
import { MediaBucket } from "./media-bucket";
import { MetadataApi } from "./metadata-api";
import { MetadataExtractor } from "./metadata-extractor";
import { MetadataTable } from "./metadata-table";

const REPO_ROOT = path.resolve(__dirname, "..");
/** Shipped when the checkout has no dashboard sources, so the site (and its config.json) still deploy. */
export const DASHBOARD_PLACEHOLDER_DIR = path.join(__dirname, "assets", "dashboard-placeholder");

/** Methods a browser uses to upload through presigned URLs (single PUT, multipart POST/PUT). */
const UPLOAD_METHODS = ["PUT", "POST"];

export interface MediaPipelineArgs {
  /** Stack (environment) name; physical names start with `mp-<stack>-`. */
  stack: string;
  /**
   * A lab stack: buckets are emptied by `pulumi destroy` and their objects expire after
   * labObjectExpirationDays. Production keeps data.
   */
  lab: boolean;
  labObjectExpirationDays: number;
  /** CPU architecture of both functions (and of the ffprobe build). */
  architecture: LambdaArchitecture;
  extractorMemoryMb: number;
  extractorTimeoutSeconds: number;
  /** -1 for no reservation. */
  extractorReservedConcurrency: number;
  /** -1 for no reservation. */
  apiReservedConcurrency: number;
  logRetentionDays: number;
  /** Table and user pool refuse deletion while on. */
  deletionProtection: boolean;
  pointInTimeRecovery: boolean;
  /** Keep every version of uploaded objects (noncurrent versions expire after 30 days). */
  ingestVersioning: boolean;
  /** Browser origins besides the dashboard's own (CORS, sign-in callbacks), e.g. a local dashboard. */
  allowedOrigins: string[];
  apiThrottleBurst: number;
  apiThrottleRate: number;
  /** Folder with the built dashboard. Default: web/dist, (re)built by web/build.ts when stale. */
  dashboardDir?: string;
  /** Extractor code (tests). Default: the esbuild bundle of handlers/extractor. */
  extractorCode?: pulumi.asset.Archive;
  /** API code (tests). Default: the esbuild bundle of handlers/api. */
  apiCode?: pulumi.asset.Archive;
  /** A prebuilt ffprobe layer zip (tests). Default: built from lib/ffprobe-pin.ts. */
  layerZipPath?: string;
}

export class MediaPipeline extends pulumi.ComponentResource {
  public readonly metadataBucket: MediaBucket;
  public readonly table: MetadataTable;
  public readonly layer: FfmpegLayer;
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

  constructor(name: string, args: MediaPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:index:MediaPipeline", name, {}, opts);
    const parent = { parent: this };
    const part = (p: string) => resourceName(args.stack, p);
    const labExpiry = args.lab ? args.labObjectExpirationDays : undefined;

    this.metadataBucket = new MediaBucket(
      part("metadata"),
      { forceDestroy: args.lab, expireObjectsAfterDays: labExpiry },
      parent,
    );
    this.table = new MetadataTable(
      part("table"),
      { pointInTimeRecovery: args.pointInTimeRecovery, deletionProtection: args.deletionProtection },
      parent,
    );
    this.layer = new FfmpegLayer(
      part("ffprobe"),
      { architecture: args.architecture, zipPath: args.layerZipPath },
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
        table: { name: this.table.tableName, arn: this.table.arn, listIndexArn: this.table.listIndexArn },
        memoryMb: args.extractorMemoryMb,
        timeoutSeconds: args.extractorTimeoutSeconds,
        reservedConcurrency: args.extractorReservedConcurrency,
        logRetentionDays: args.logRetentionDays,
        code: args.extractorCode,
      },
      parent,
    );

    // The dashboard's config.json names the API, which needs the dashboard's URL first.
    const [dashboardConfig, resolveDashboardConfig] = pulumi.deferredOutput<DashboardConfig>();
    this.dashboard = new DashboardSite(
      part("dashboard"),
      { contentDir: dashboardContentDir(args.dashboardDir), runtimeConfig: dashboardConfig, forceDestroy: args.lab },
      parent,
    );
    const browserOrigins = [this.dashboard.url, ...args.allowedOrigins];

    this.ingestBucket = new MediaBucket(
      part("ingest"),
      {
        forceDestroy: args.lab,
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
        table: { name: this.table.tableName, arn: this.table.arn, listIndexArn: this.table.listIndexArn },
        ingestBucket: { name: this.ingestBucket.bucketName, arn: this.ingestBucket.arn },
        metadataBucket: { name: this.metadataBucket.bucketName, arn: this.metadataBucket.arn },
        dashboardUrl: this.dashboard.url,
        extraOrigins: args.allowedOrigins,
        architecture: args.architecture,
        throttle: { burstLimit: args.apiThrottleBurst, rateLimit: args.apiThrottleRate },
        logRetentionDays: args.logRetentionDays,
        deletionProtection: args.deletionProtection,
        reservedConcurrency: args.apiReservedConcurrency,
        code: args.apiCode,
      },
      parent,
    );
    resolveDashboardConfig(
      pulumi.all([this.api.url, this.api.issuer, this.api.userPoolClient.id]).apply(
        ([apiUrl, authority, clientId]): DashboardConfig => ({
          apiUrl,
          auth: { authority, clientId, scopes: DEFAULT_DASHBOARD_SCOPES, redirectPath: DEFAULT_REDIRECT_PATH },
          uploads: DEFAULT_UPLOAD_LIMITS,
        }),
      ),
    );

    this.uploadBucketName = this.ingestBucket.bucketName;
    this.apiUrl = this.api.url;
    this.dashboardUrl = this.dashboard.url;
    this.tableName = this.table.tableName;
    this.userPoolId = this.api.userPool.id;

    this.registerOutputs({
      uploadBucketName: this.uploadBucketName,
      apiUrl: this.apiUrl,
      dashboardUrl: this.dashboardUrl,
      tableName: this.tableName,
      userPoolId: this.userPoolId,
    });
  }
}

/**
 * The folder to upload as the dashboard: the configured one; else web/dist, rebuilt first
 * (web/build.ts) when its sources are newer, so a deploy never ships a stale page; else,
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
      throw new Error(`building the dashboard (web/build.ts) failed: ${(err as Error).message}`, { cause: err });
    }
  }
  return DASHBOARD_DIST_DIR;
}
