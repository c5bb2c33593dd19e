import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { expect } from "chai";
import {
  CANARY_HANDLER,
  CANARY_SCRIPT,
  CANARY_SCRIPT_ZIP_PATH,
  canaryNameFor,
  functionNameOfArn,
  HEALTH_URL_ENV,
  HealthCanary,
  type HealthCanaryArgs,
  SYNTHETICS_RUNTIME_VERSION,
} from "../../components/health-canary";
import { MediaPipeline } from "../../components/media-pipeline";
import { readZipEntries, readZipFile } from "../helpers/zip";
import { policyOf, settled, startMocks, statement, T, testPipelineArgs } from "./helpers";

function canaryArgs(overrides: Partial<HealthCanaryArgs> = {}): HealthCanaryArgs {
  return {
    apiUrl: "https://abc123.execute-api.us-east-1.amazonaws.com",
    rateMinutes: 5,
    forceDestroy: true,
    artifactRetentionDays: 7,
    logRetentionDays: 7,
    ...overrides,
  };
}

describe("HealthCanary", () => {
  beforeEach(startMocks);

  it("runs the health-check script on the Puppeteer runtime every N minutes against <api>/health", async () => {
    const component = new HealthCanary("mp-test-health", canaryArgs());
    const res = await settled();
    const canary = res.one(T.canary);
    expect(canary.parent).to.equal(res.one(T.healthCanary).urn);
    expect(canary.inputs).to.deep.include({
      name: "mp-test-health",
      runtimeVersion: SYNTHETICS_RUNTIME_VERSION,
      handler: CANARY_HANDLER,
      startCanary: true,
      deleteLambda: true,
      successRetentionPeriod: 7,
      failureRetentionPeriod: 7,
    });
    expect(SYNTHETICS_RUNTIME_VERSION).to.match(/^syn-nodejs-puppeteer-\d+\.\d+$/);
    expect(canary.inputs.schedule).to.deep.equal({ expression: "rate(5 minutes)" });
    expect(canary.inputs.runConfig).to.deep.include({
      timeoutInSeconds: 60,
      environmentVariables: { [HEALTH_URL_ENV]: "https://abc123.execute-api.us-east-1.amazonaws.com/health" },
    });
    expect(canary.inputs.executionRoleArn).to.equal(res.one(T.role).state.arn);
    expect(canary.dependencies).to.include(res.one(T.rolePolicy).urn);

    // The zip: the script where the Node.js runtimes load it from.
    const zipFile = canary.inputs.zipFile as string;
    // Relative to the project: the same input in every checkout (an absolute path diffed between machines).
    expect(zipFile).to.match(/^\.cache\/health-canary\/health-check-[0-9a-f]{16}\.zip$/);
    expect(path.resolve(__dirname, "..", "..", zipFile)).to.equal(component.zipPath);
    const zip = fs.readFileSync(component.zipPath);
    expect(zip.length).to.be.below(225 * 1024);
    expect((await readZipEntries(zip)).map((e) => e.name)).to.include(CANARY_SCRIPT_ZIP_PATH);
    expect((await readZipFile(zip, CANARY_SCRIPT_ZIP_PATH)).toString("utf8")).to.equal(
      fs.readFileSync(CANARY_SCRIPT, "utf8"),
    );
    expect(CANARY_HANDLER).to.equal(`${path.basename(CANARY_SCRIPT_ZIP_PATH, ".js")}.handler`);
  });

  it("stores artifacts in a private, encrypted bucket whose objects expire, under canary/ with SSE-S3", async () => {
    new HealthCanary("mp-test-health", canaryArgs());
    const res = await settled();
    const bucketComponent = res.one(T.mediaBucket, "-artifacts");
    const bucket = res.oneUnder(bucketComponent, T.bucket);
    expect(bucket.inputs.forceDestroy).to.equal(true);
    expect(res.oneUnder(bucketComponent, T.publicAccessBlock).inputs).to.deep.include({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(res.oneUnder(bucketComponent, T.encryption).inputs.rules).to.deep.equal([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
    ]);
    const rules = res.oneUnder(bucketComponent, T.lifecycle).inputs.rules as {
      id: string;
      expiration?: { days: number };
    }[];
    expect(rules.find((r) => r.id === "expire-objects")?.expiration).to.deep.equal({ days: 7 });
    const canary = res.one(T.canary);
    expect(canary.inputs.artifactS3Location).to.equal(`s3://${bucket.state.bucket}/canary/`);
    expect(canary.inputs.artifactConfig).to.deep.equal({ s3Encryption: { encryptionMode: "SSE_S3" } });
  });

  it("declares the log group of the canary's function (named from its engine ARN) with retention", async () => {
    new HealthCanary("mp-test-health", canaryArgs({ logRetentionDays: 30 }));
    const res = await settled();
    const canary = res.one(T.canary);
    const logGroup = res.one(T.logGroup);
    expect(logGroup.inputs.name).to.equal(`/aws/lambda/${functionNameOfArn(canary.state.engineArn as string)}`);
    expect(logGroup.inputs.name).to.match(/^\/aws\/lambda\/cwsyn-mp-test-health-/);
    expect(logGroup.inputs.retentionInDays).to.equal(30);
    expect(functionNameOfArn("arn:aws:lambda:us-east-1:1:function:cwsyn-a-b:3")).to.equal("cwsyn-a-b");
    expect(() => functionNameOfArn("arn:aws:s3:::bucket")).to.throw(/not a Lambda function ARN/);
  });

  it("gives its role AWS's basic canary permissions, scoped to its bucket prefix and its own log groups", async () => {
    new HealthCanary("mp-test-health", canaryArgs());
    const res = await settled();
    const bucketArn = res.oneUnder(res.one(T.mediaBucket, "-artifacts"), T.bucket).state.arn;
    const policy = policyOf(res.one(T.rolePolicy));
    expect(statement(policy, "WriteArtifacts").Resource).to.equal(`${bucketArn}/canary/*`);
    expect(statement(policy, "LocateArtifactsBucket").Resource).to.equal(bucketArn);
    expect(statement(policy, "WriteOwnLogs")).to.deep.include({
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/cwsyn-mp-test-health-*",
    });
    expect(statement(policy, "PublishSyntheticsMetrics").Condition).to.deep.equal({
      StringEquals: { "cloudwatch:namespace": "CloudWatchSynthetics" },
    });
    expect(JSON.stringify(policy)).to.not.contain("logs:CreateLogGroup");
  });

  it("checks its settings: name length, rate, timeout", () => {
    expect(canaryNameFor("mp-production-stack-health")).to.equal("mp-production-stack-h");
    expect(canaryNameFor("MP Dev.Health")).to.equal("mp-dev-health");
    expect(() => new HealthCanary("x", canaryArgs({ rateMinutes: 0 }))).to.throw(/rate must be 1-60 minutes/);
    expect(() => new HealthCanary("y", canaryArgs({ rateMinutes: 1, timeoutSeconds: 90 }))).to.throw(/run timeout/);
    expect(() => new HealthCanary("z", canaryArgs({ canaryName: "Way-Too-Long-For-A-Canary" }))).to.throw(
      /canary name/,
    );
  });

  it("exists in MediaPipeline only when syntheticsCanary is on, with its SuccessPercent alarm", async () => {
    new MediaPipeline("mp-test", testPipelineArgs());
    const off = await settled();
    expect(off.ofType(T.canary)).to.deep.equal([]);
    expect(off.ofType(T.healthCanary)).to.deep.equal([]);
    expect(off.ofType(T.metricAlarm).filter((a) => a.inputs.namespace === "CloudWatchSynthetics")).to.deep.equal([]);

    await startMocks();
    new MediaPipeline("mp-test", testPipelineArgs({ syntheticsCanary: true, syntheticsRateMinutes: 10 }));
    const on = await settled();
    const canary = on.one(T.canary);
    expect(canary.inputs.schedule).to.deep.equal({ expression: "rate(10 minutes)" });
    const apiUrl = on.one(T.httpApi).state.apiEndpoint;
    expect(
      (canary.inputs.runConfig as { environmentVariables: Record<string, string> }).environmentVariables,
    ).to.deep.equal({
      [HEALTH_URL_ENV]: `${apiUrl}/health`,
    });
    const alarm = on.ofType(T.metricAlarm).find((a) => a.inputs.namespace === "CloudWatchSynthetics");
    expect(alarm?.inputs).to.deep.include({
      metricName: "SuccessPercent",
      dimensions: { CanaryName: canary.state.name },
      period: 600,
      alarmActions: [on.oneUnder(on.one(T.alarmTopic), T.topic).state.arn],
    });
    // A lab keeps artifacts no longer than its other objects (labObjectExpirationDays: 3).
    expect(canary.inputs.successRetentionPeriod).to.equal(3);
  });
});

// --- The script itself, against a fake Synthetics library and a local HTTP server -----------

interface FakeSynthetics {
  steps: { name: string; passed: boolean; error?: string }[];
  config: Record<string, unknown>;
}

/** Loads health-check.js with `require("@aws/synthetics-puppeteer")` answered by a fake that runs real HTTP steps. */
function loadCanaryScript(fake: FakeSynthetics): { handler: () => Promise<unknown> } {
  const synthetics = {
    getConfiguration: () => ({ setConfig: (c: Record<string, unknown>) => Object.assign(fake.config, c) }),
    getCanaryUserAgentString: () => "CloudWatchSynthetics/fake",
    async executeHttpStep(
      name: string,
      options: http.RequestOptions & { body?: string },
      callback: (res: http.IncomingMessage) => Promise<void>,
    ) {
      const { body: _body, ...requestOptions } = options;
      try {
        await new Promise<void>((resolve, reject) => {
          const req = http.request(requestOptions, (res) => callback(res).then(resolve, reject));
          req.on("error", reject);
          req.end();
        });
        fake.steps.push({ name, passed: true });
      } catch (err) {
        fake.steps.push({ name, passed: false, error: (err as Error).message });
        throw err;
      }
    },
  };
  const source = fs.readFileSync(CANARY_SCRIPT, "utf8");
  const module = { exports: {} as Record<string, unknown> };
  const fakeRequire = (id: string) => {
    if (id === "@aws/synthetics-puppeteer") return synthetics;
    throw Object.assign(new Error(`Cannot find module '${id}'`), { code: "MODULE_NOT_FOUND" });
  };
  new Function("exports", "require", "module", source)(module.exports, fakeRequire, module);
  return module.exports as { handler: () => Promise<unknown> };
}

describe("health-check.js (the canary script)", () => {
  let server: http.Server;
  let answer: { status: number; body: string };
  const requests: http.IncomingHttpHeaders[] = [];
  let base: string;

  before(async () => {
    server = http.createServer((req, res) => {
      requests.push(req.headers);
      res.writeHead(req.url === "/health" ? answer.status : 404, { "content-type": "application/json" });
      res.end(req.url === "/health" ? answer.body : "{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  async function run(url: string): Promise<FakeSynthetics & { error?: string }> {
    const fake: FakeSynthetics = { steps: [], config: {} };
    const previous = process.env[HEALTH_URL_ENV];
    process.env[HEALTH_URL_ENV] = url;
    try {
      await loadCanaryScript(fake).handler();
      return fake;
    } catch (err) {
      return { ...fake, error: (err as Error).message };
    } finally {
      if (previous === undefined) delete process.env[HEALTH_URL_ENV];
      else process.env[HEALTH_URL_ENV] = previous;
    }
  }

  it("passes on 200 {status: ok}, sending the canary's user agent", async () => {
    answer = { status: 200, body: JSON.stringify({ status: "ok", schemaVersion: 1 }) };
    const result = await run(`${base}/health`);
    expect(result.error).to.equal(undefined);
    expect(result.steps).to.deep.equal([{ name: "GET /health", passed: true }]);
    expect(requests.at(-1)?.["user-agent"]).to.match(/^CloudWatchSynthetics\/fake media-pipeline-health-canary$/);
    expect(result.config).to.deep.include({ includeResponseBody: true, restrictedHeaders: ["authorization"] });
  });

  it("fails the step on a 5xx, on a body that is not ok, and on a body that is not JSON", async () => {
    for (const [status, body, message] of [
      [503, '{"message":"Service Unavailable"}', /answered 503/],
      [200, '{"status":"degraded"}', /status "degraded", not "ok"/],
      [200, "<html>", /not JSON/],
    ] as const) {
      answer = { status, body };
      const result = await run(`${base}/health`);
      expect(result.steps.map((s) => s.passed)).to.deep.equal([false]);
      expect(result.error).to.match(message);
    }
  });

  it("fails loudly without HEALTH_URL", async () => {
    const fake: FakeSynthetics = { steps: [], config: {} };
    const previous = process.env[HEALTH_URL_ENV];
    delete process.env[HEALTH_URL_ENV];
    try {
      let error: Error | undefined;
      await loadCanaryScript(fake)
        .handler()
        .catch((e: Error) => {
          error = e;
        });
      expect(error?.message).to.match(/HEALTH_URL is not set/);
    } finally {
      if (previous !== undefined) process.env[HEALTH_URL_ENV] = previous;
    }
  });
});
