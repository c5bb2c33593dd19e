import { expect } from "chai";
import {
  CONTENT_SECURITY_POLICY,
  connectPolicy,
  type DashboardOrigins,
  DashboardSite,
  listSiteFiles,
  MANAGED_CACHE_POLICY,
} from "../../components/dashboard-site";
import type { DashboardConfig } from "../../lib/dashboard-config";
import { fakeDashboardDir, policyOf, promiseOf, settled, startMocks, statement, T } from "./helpers";

const CONFIG: DashboardConfig = {
  apiUrl: "https://abc.execute-api.us-east-1.amazonaws.com",
  auth: {
    authority: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc",
    clientId: "client",
    scopes: ["openid"],
    redirectPath: "/",
  },
  uploads: { maxBytes: 10, contentTypes: ["video/*"] },
};

const ORIGINS: DashboardOrigins = {
  api: "https://abc.execute-api.us-east-1.amazonaws.com",
  issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc",
  signIn: "https://media-1a2b.auth.us-east-1.amazoncognito.com",
  uploads: ["media-ingest-1.s3.us-east-1.amazonaws.com", "media-ingest-1.s3.amazonaws.com"],
};

describe("DashboardSite", () => {
  beforeEach(startMocks);

  it("serves a private bucket only through CloudFront with origin access control", async () => {
    const site = new DashboardSite("site", {
      contentDir: fakeDashboardDir(),
      runtimeConfig: CONFIG,
      origins: ORIGINS,
      forceDestroy: true,
    });
    const res = await settled();
    const component = res.one(T.dashboard);
    const bucket = res.one(T.bucket);
    const oac = res.one(T.originAccessControl);
    const cdn = res.one(T.distribution);
    expect(cdn.parent).to.equal(component.urn);
    expect(res.ancestorsOf(bucket).map((a) => a.type)).to.deep.equal([T.mediaBucket, T.dashboard]);
    expect(res.one(T.publicAccessBlock).inputs).to.include({ blockPublicPolicy: true, restrictPublicBuckets: true });
    expect(bucket.inputs.forceDestroy).to.equal(true);

    expect(oac.inputs).to.include({
      originAccessControlOriginType: "s3",
      signingBehavior: "always",
      signingProtocol: "sigv4",
    });
    const origins = cdn.inputs.origins as Record<string, unknown>[];
    expect(origins).to.have.length(1);
    expect(origins[0]).to.deep.include({
      domainName: bucket.state.bucketRegionalDomainName,
      originAccessControlId: oac.id,
    });
    expect(origins[0]).to.not.have.property("s3OriginConfig"); // no legacy origin access identity
    const behavior = cdn.inputs.defaultCacheBehavior as Record<string, unknown>;
    expect(behavior).to.deep.include({
      viewerProtocolPolicy: "redirect-to-https",
      cachePolicyId: MANAGED_CACHE_POLICY.cachingOptimized,
      responseHeadersPolicyId: res.one(T.responseHeadersPolicy).id,
    });
    const configBehavior = (cdn.inputs.orderedCacheBehaviors as Record<string, unknown>[])[0];
    expect(configBehavior).to.deep.include({
      pathPattern: "/config.json",
      cachePolicyId: MANAGED_CACHE_POLICY.cachingDisabled,
    });

    // The bucket policy names this distribution (resolved after the distribution exists).
    const read = statement(policyOf(res.one(T.bucketPolicy)), "AllowCloudFrontRead");
    expect(read).to.deep.include({
      Effect: "Allow",
      Principal: { Service: "cloudfront.amazonaws.com" },
      Action: "s3:GetObject",
      Resource: `${bucket.state.arn}/*`,
    });
    expect(read.Condition).to.deep.equal({ StringEquals: { "AWS:SourceArn": cdn.state.arn } });
    expect(await promiseOf(site.url)).to.equal(`https://${cdn.state.domainName}`);
  });

  it("lets the page connect only to this stack's API, issuer, sign-in domain and ingest bucket", async () => {
    const dir = fakeDashboardDir({
      "index.html": "<!doctype html><html><head><title>x</title></head><body></body></html>",
    });
    new DashboardSite("site", { contentDir: dir, runtimeConfig: CONFIG, origins: ORIGINS, forceDestroy: false });
    const index = (await settled()).all.find((r) => r.type === T.object && r.inputs.key === "index.html");
    const html = index?.inputs.content as string;
    const meta = /<head><meta http-equiv="Content-Security-Policy" content="([^"]*)"><title>/.exec(html)?.[1];
    expect(meta).to.equal(connectPolicy(ORIGINS));
    expect(meta?.split(" ")).to.deep.equal([
      "connect-src",
      "'self'",
      "https://abc.execute-api.us-east-1.amazonaws.com",
      "https://cognito-idp.us-east-1.amazonaws.com",
      "https://media-1a2b.auth.us-east-1.amazoncognito.com",
      "https://media-ingest-1.s3.us-east-1.amazonaws.com",
      "https://media-ingest-1.s3.amazonaws.com",
    ]);
  });

  it("adds security headers to every response", async () => {
    new DashboardSite("site", {
      contentDir: fakeDashboardDir(),
      runtimeConfig: CONFIG,
      origins: ORIGINS,
      forceDestroy: false,
    });
    const headers = (await settled()).one(T.responseHeadersPolicy).inputs.securityHeadersConfig as Record<
      string,
      Record<string, unknown>
    >;
    expect(headers.strictTransportSecurity).to.include({
      accessControlMaxAgeSec: 63_072_000,
      includeSubdomains: true,
      override: true,
    });
    expect(headers.contentSecurityPolicy).to.include({
      contentSecurityPolicy: CONTENT_SECURITY_POLICY,
      override: true,
    });
    expect(CONTENT_SECURITY_POLICY).to.contain("frame-ancestors 'none'").and.contain("object-src 'none'");
    expect(headers.frameOptions).to.include({ frameOption: "DENY" });
    expect(headers.contentTypeOptions).to.include({ override: true });
    expect(headers.referrerPolicy).to.include({ referrerPolicy: "no-referrer" });
  });

  it("uploads the folder's files with content types and cache headers, and writes config.json from its input", async () => {
    const dir = fakeDashboardDir({ "config.json": '{"stale":true}' });
    new DashboardSite("site", { contentDir: dir, runtimeConfig: CONFIG, origins: ORIGINS, forceDestroy: false });
    const res = await settled();
    const objects = new Map(res.ofType(T.object).map((o) => [o.inputs.key as string, o]));
    expect([...objects.keys()]).to.have.members(["index.html", "assets/app-ABC123.js", "config.json"]);
    const bucketId = res.one(T.bucket).id;
    for (const o of objects.values()) expect(o.inputs.bucket).to.equal(bucketId);
    expect(objects.get("index.html")?.inputs).to.include({
      contentType: "text/html; charset=utf-8",
      cacheControl: "no-cache",
    });
    expect(objects.get("assets/app-ABC123.js")?.inputs.cacheControl).to.contain("immutable");
    expect(objects.get("assets/app-ABC123.js")?.inputs.source).to.deep.include({ asset: "file" });
    // index.html is written with the page's own Content-Security-Policy (see the test above).
    expect(objects.get("index.html")?.inputs.content).to.match(
      /^<!doctype html><meta http-equiv="Content-Security-Policy"/,
    );

    const config = objects.get("config.json");
    expect(config?.inputs.cacheControl).to.equal("no-cache");
    expect(JSON.parse(config?.inputs.content as string)).to.deep.equal(CONFIG);
  });

  it("refuses a folder without index.html", () => {
    expect(() => listSiteFiles("/nonexistent-dashboard")).to.throw(/has no index.html/);
  });
});
