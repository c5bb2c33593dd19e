/**
 * DashboardSite: the dashboard's static files in a private S3 bucket, served only through
 * CloudFront (origin access control, SigV4-signed origin requests), with security headers
 * on every response, plus the generated `config.json` (lib/dashboard-config.ts) that tells
 * the page where the API and the sign-in are.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cacheControlFor, contentTypeFor } from "../build/dashboard";
import { DASHBOARD_CONFIG_PATH, type DashboardConfig } from "../lib/dashboard-config";
import { MediaBucket } from "./media-bucket";

/** AWS managed cache policies (fixed ids, documented by CloudFront). */
export const MANAGED_CACHE_POLICY = {
  cachingOptimized: "658327ea-f89d-4fab-a63d-7e88639e58f6",
  cachingDisabled: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
} as const;

/**
 * The security headers' policy: what the page may load, frame and talk to. Its connect-src
 * can only name services (the API's URL is not known when the distribution is created: the
 * API's CORS names the distribution's URL, and the distribution names this policy), so the
 * page carries a second, narrower policy in a <meta> tag (connectPolicy below), written
 * into index.html once the stack's API, sign-in and bucket exist. Browsers enforce every
 * policy a page has, so the narrower connect-src is the one in force (W3C CSP Level 3,
 * "Enforcing multiple policies").
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' https://*.amazonaws.com https://*.amazoncognito.com",
  "frame-src https://*.amazoncognito.com",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Where the page may connect: each an origin (scheme://host) or URL, nothing wider. */
export interface DashboardOrigins {
  /** The read API (API Gateway execute-api). */
  api: string;
  /** The OIDC issuer (Cognito: cognito-idp.<region>.amazonaws.com), for discovery and keys. */
  issuer: string;
  /** The hosted sign-in domain (<prefix>.auth.<region>.amazoncognito.com): token exchange and renewal. */
  signIn: string;
  /** The ingest bucket's hosts, for presigned uploads (regional and global forms). */
  uploads: string[];
}

/**
 * The page's own policy: it may connect only to this stack's API, issuer, sign-in domain and
 * ingest bucket. A wildcard over amazonaws.com would let an injected script send data to any
 * bucket or API of any account.
 */
export function connectPolicy(origins: DashboardOrigins): string {
  const connect = [origins.api, origins.issuer, origins.signIn, ...origins.uploads].map(originOf);
  return `connect-src 'self' ${[...new Set(connect)].join(" ")}`;
}

/** scheme://host[:port] of a URL, or of a bare host name (taken as https). */
export function originOf(urlOrHost: string): string {
  return new URL(/^[a-z]+:\/\//i.test(urlOrHost) ? urlOrHost : `https://${urlOrHost}`).origin;
}

/**
 * index.html with the page's own policy first in its head: right after <head>, or, where the
 * head is implied, right after the doctype (still in the head: nothing precedes it there).
 */
export function withConnectPolicy(html: string, origins: DashboardOrigins): string {
  const at = /<head[^>]*>/i.exec(html) ?? /^\s*<!doctype[^>]*>/i.exec(html);
  const cut = at ? at.index + at[0].length : 0;
  const meta = `<meta http-equiv="Content-Security-Policy" content="${connectPolicy(origins)}">`;
  return `${html.slice(0, cut)}${meta}${html.slice(cut)}`;
}

export interface DashboardSiteArgs {
  /** Folder whose files are the site (index.html at its root). Every file is uploaded but source maps (*.map) and a config.json, which are skipped. */
  contentDir: string;
  /** Content of config.json. May resolve late (the API is created after the site, whose URL it needs). */
  runtimeConfig: pulumi.Input<DashboardConfig>;
  /** Where the page may connect (the <meta> policy in index.html). May resolve late, like runtimeConfig. */
  origins: pulumi.Input<DashboardOrigins>;
  /** Let `pulumi destroy` delete the bucket with its files (lab stacks). */
  forceDestroy: boolean;
  /** CloudFront price class. Default PriceClass_100 (North America and Europe edges: the cheapest). */
  priceClass?: string;
}

export class DashboardSite extends pulumi.ComponentResource {
  public readonly siteBucket: MediaBucket;
  public readonly originAccessControl: aws.cloudfront.OriginAccessControl;
  public readonly responseHeadersPolicy: aws.cloudfront.ResponseHeadersPolicy;
  public readonly distribution: aws.cloudfront.Distribution;
  public readonly files: aws.s3.BucketObjectv2[];
  public readonly configObject: aws.s3.BucketObjectv2;
  /** https://<distribution>.cloudfront.net, no trailing slash. */
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: DashboardSiteArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:web:DashboardSite", name, {}, opts);
    const parent = { parent: this };
    const files = listSiteFiles(args.contentDir);

    // The bucket policy needs the distribution's ARN and the distribution needs the bucket:
    // the policy statement takes a deferred ARN, resolved once the distribution exists.
    const [distributionArn, resolveDistributionArn] = pulumi.deferredOutput<string>();
    this.siteBucket = new MediaBucket(
      `${name}-bucket`,
      {
        forceDestroy: args.forceDestroy,
        // Only this distribution, signing with the OAC, may read; nobody may list or write.
        policyStatements: (bucketArn) => [
          {
            Sid: "AllowCloudFrontRead",
            Effect: "Allow",
            Principal: { Service: "cloudfront.amazonaws.com" },
            Action: "s3:GetObject",
            Resource: pulumi.interpolate`${bucketArn}/*`,
            Condition: { StringEquals: { "AWS:SourceArn": distributionArn } },
          },
        ],
      },
      parent,
    );

    this.originAccessControl = new aws.cloudfront.OriginAccessControl(
      `${name}-oac`,
      {
        description: "media-pipeline dashboard: CloudFront signs its requests to the site bucket",
        originAccessControlOriginType: "s3",
        signingBehavior: "always",
        signingProtocol: "sigv4",
      },
      parent,
    );

    this.responseHeadersPolicy = new aws.cloudfront.ResponseHeadersPolicy(
      `${name}-security-headers`,
      {
        comment: "media-pipeline dashboard security headers",
        securityHeadersConfig: {
          contentSecurityPolicy: { contentSecurityPolicy: CONTENT_SECURITY_POLICY, override: true },
          strictTransportSecurity: {
            accessControlMaxAgeSec: 63_072_000,
            includeSubdomains: true,
            preload: true,
            override: true,
          },
          contentTypeOptions: { override: true },
          frameOptions: { frameOption: "DENY", override: true },
          referrerPolicy: { referrerPolicy: "no-referrer", override: true },
          xssProtection: { protection: true, modeBlock: true, override: true },
        },
      },
      parent,
    );

    const originId = "site-bucket";
    this.distribution = new aws.cloudfront.Distribution(
      `${name}-cdn`,
      {
        enabled: true,
        comment: "media-pipeline dashboard",
        isIpv6Enabled: true,
        httpVersion: "http2and3",
        priceClass: args.priceClass ?? "PriceClass_100",
        defaultRootObject: "index.html",
        origins: [
          {
            originId,
            domainName: this.siteBucket.bucket.bucketRegionalDomainName,
            originAccessControlId: this.originAccessControl.id,
          },
        ],
        defaultCacheBehavior: {
          targetOriginId: originId,
          viewerProtocolPolicy: "redirect-to-https",
          allowedMethods: ["GET", "HEAD"],
          cachedMethods: ["GET", "HEAD"],
          compress: true,
          cachePolicyId: MANAGED_CACHE_POLICY.cachingOptimized,
          responseHeadersPolicyId: this.responseHeadersPolicy.id,
        },
        orderedCacheBehaviors: [
          {
            // The configuration changes with every deploy: never cached at the edge.
            pathPattern: DASHBOARD_CONFIG_PATH,
            targetOriginId: originId,
            viewerProtocolPolicy: "redirect-to-https",
            allowedMethods: ["GET", "HEAD"],
            cachedMethods: ["GET", "HEAD"],
            compress: true,
            cachePolicyId: MANAGED_CACHE_POLICY.cachingDisabled,
            responseHeadersPolicyId: this.responseHeadersPolicy.id,
          },
        ],
        restrictions: { geoRestriction: { restrictionType: "none" } },
        viewerCertificate: { cloudfrontDefaultCertificate: true },
      },
      parent,
    );
    resolveDistributionArn(this.distribution.arn);
    this.url = pulumi.interpolate`https://${this.distribution.domainName}`;

    const bucket = this.siteBucket.bucket.id;
    this.files = files.map(
      (file) =>
        new aws.s3.BucketObjectv2(
          `${name}-file-${file}`,
          {
            bucket,
            key: file,
            ...(file === "index.html"
              ? {
                  content: pulumi
                    .output(args.origins)
                    .apply((o) =>
                      withConnectPolicy(
                        fs.readFileSync(path.join(args.contentDir, file), "utf8"),
                        o as DashboardOrigins,
                      ),
                    ),
                }
              : { source: new pulumi.asset.FileAsset(path.join(args.contentDir, file)) }),
            contentType: contentTypeFor(file),
            cacheControl: cacheControlFor(file),
          },
          parent,
        ),
    );
    const configKey = DASHBOARD_CONFIG_PATH.replace(/^\//, "");
    this.configObject = new aws.s3.BucketObjectv2(
      `${name}-file-${configKey}`,
      {
        bucket,
        key: configKey,
        content: pulumi.jsonStringify(args.runtimeConfig, undefined, 2),
        contentType: contentTypeFor(configKey),
        cacheControl: "no-cache",
      },
      parent,
    );

    this.registerOutputs({ url: this.url, bucketName: this.siteBucket.bucketName });
  }
}

/** Relative, "/"-separated paths of every file under dir except config.json (generated here). */
export function listSiteFiles(dir: string): string[] {
  if (!fs.existsSync(path.join(dir, "index.html"))) {
    throw new Error(
      `dashboard folder ${dir} has no index.html; build the dashboard (build/dashboard.ts) or point at another folder`,
    );
  }
  const walk = (d: string, prefix: string): string[] =>
    fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      return e.isDirectory() ? walk(path.join(d, e.name), rel) : e.isFile() ? [rel] : [];
    });
  const configKey = DASHBOARD_CONFIG_PATH.replace(/^\//, "");
  return (
    walk(dir, "")
      // Source maps stay in the build folder for offline symbolication: published, they would
      // hand anyone the dashboard's full sources.
      .filter((f) => f !== configKey && !f.endsWith(".map"))
      .sort()
  );
}
