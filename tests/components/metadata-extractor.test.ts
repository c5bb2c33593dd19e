import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { bundleArchive } from "../../build/lambda-code";
import { FfprobeLayer } from "../../components/ffprobe-layer";
import {
  MetadataExtractor,
  type MetadataExtractorArgs,
  VISIBILITY_TIMEOUT_FACTOR,
} from "../../components/metadata-extractor";
import { FFPROBE_PIN } from "../../lib/ffprobe-pin";
import { ENV, METRICS_NAMESPACE } from "../../lib/runtime-env";
import { fakeLayerZip, policyOf, settled, startMocks, statement, T, testCode } from "./helpers";

const INGEST_ARN = "arn:aws:s3:::ingest-bucket";
const METADATA = { name: "metadata-bucket", arn: "arn:aws:s3:::metadata-bucket" };
const TABLE = {
  name: "docs",
  arn: "arn:aws:dynamodb:us-east-1:123456789012:table/docs",
  listIndexArn: "arn:aws:dynamodb:us-east-1:123456789012:table/docs/index/byProcessedAt",
};

function extractorArgs(layer: FfprobeLayer, overrides: Partial<MetadataExtractorArgs> = {}): MetadataExtractorArgs {
  return {
    layer,
    ingestBucketArn: INGEST_ARN,
    metadataBucket: METADATA,
    table: TABLE,
    memoryMb: 1024,
    timeoutSeconds: 60,
    maximumConcurrency: 4,
    logRetentionDays: 14,
    code: testCode(),
    ...overrides,
  };
}

describe("MetadataExtractor", () => {
  let layer: FfprobeLayer;
  beforeEach(async () => {
    await startMocks();
    layer = new FfprobeLayer("ffprobe", { architecture: "arm64", zipPath: fakeLayerZip("arm64") });
  });

  it("runs the bundled handler on nodejs22.x with the layer, X-Ray, its own log group and the handler's environment", async () => {
    new MetadataExtractor("extractor", extractorArgs(layer));
    const res = await settled();
    const component = res.one(T.extractor);
    const fn = res.one(T.function);
    expect(fn.parent).to.equal(component.urn);
    expect(fn.inputs).to.deep.include({
      runtime: "nodejs22.x",
      handler: "index.handler",
      memorySize: 1024,
      timeout: 60,
      // Nothing reserved unless asked: a reservation fails on accounts with a quota of 10.
      reservedConcurrentExecutions: -1,
    });
    expect(fn.inputs.architectures, "the layer's architecture").to.deep.equal(["arm64"]);
    expect(fn.inputs.layers).to.deep.equal([res.one(T.layer).state.arn]);
    expect(fn.inputs.tracingConfig).to.deep.equal({ mode: "Active" });
    expect(fn.inputs.role).to.equal(res.one(T.role).state.arn);
    expect(fn.inputs.code).to.have.property("archive", "assets");

    const logGroup = res.one(T.logGroup);
    expect(logGroup.inputs.retentionInDays).to.equal(14);
    expect(fn.inputs.loggingConfig).to.deep.include({ logFormat: "JSON", logGroup: logGroup.state.name });
    expect(fn.dependencies).to.include.members([res.one(T.rolePolicy).urn, logGroup.urn]);

    const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    expect(env).to.deep.include({
      [ENV.tableName]: TABLE.name,
      [ENV.metadataBucket]: METADATA.name,
      [ENV.ffprobePath]: FFPROBE_PIN.layerBinaryPath,
      [ENV.ffprobeSha256]: FFPROBE_PIN.binaries.arm64.sha256,
      [ENV.probeTimeoutMs]: "20000",
      [ENV.serviceName]: "extractor",
      [ENV.metricsNamespace]: METRICS_NAMESPACE,
    });
  });

  it("consumes a queue with a dead-letter queue, a visibility timeout of at least 6x the function timeout, and partial batch failures", async () => {
    const extractor = new MetadataExtractor("extractor", extractorArgs(layer, { timeoutSeconds: 90 }));
    const res = await settled();
    const queue = res.one(T.queue, "-queue");
    const dlq = res.one(T.queue, "-dlq");
    expect(queue.inputs.visibilityTimeoutSeconds).to.be.at.least(VISIBILITY_TIMEOUT_FACTOR * 90);
    expect(extractor.queueVisibilityTimeoutSeconds).to.equal(queue.inputs.visibilityTimeoutSeconds);
    expect(JSON.parse(queue.inputs.redrivePolicy as string)).to.deep.equal({
      deadLetterTargetArn: dlq.state.arn,
      maxReceiveCount: 5,
    });
    expect(queue.inputs.sqsManagedSseEnabled).to.equal(true);
    expect(dlq.inputs.sqsManagedSseEnabled).to.equal(true);
    expect(dlq.inputs.messageRetentionSeconds).to.equal(14 * 24 * 3600);
    expect(queue.inputs.messageRetentionSeconds, "events outlive a long pause").to.equal(14 * 24 * 3600);

    const esm = res.one(T.eventSourceMapping);
    expect(esm.inputs).to.deep.include({
      eventSourceArn: queue.state.arn,
      functionName: res.one(T.function).state.arn,
    });
    expect(esm.inputs.functionResponseTypes).to.deep.equal(["ReportBatchItemFailures"]);
    expect(esm.inputs.scalingConfig).to.deep.equal({ maximumConcurrency: 4 });
    expect(esm.dependencies, "Lambda checks the role's SQS grants when the mapping is created").to.include(
      res.one(T.rolePolicy).urn,
    );
  });

  it("grants exactly what the handler does, on its own resources", async () => {
    new MetadataExtractor("extractor", extractorArgs(layer));
    const res = await settled();
    const policy = policyOf(res.one(T.rolePolicy));
    expect(res.one(T.rolePolicy).inputs.role).to.equal(res.one(T.role).state.name);
    expect(policy.Statement.map((s) => s.Sid)).to.deep.equal([
      "ReadIngestObjects",
      "SeeMissingIngestObjectsAs404",
      "WriteRawMetadata",
      "WriteMetadataItems",
      "ConsumeQueue",
      "WriteOwnLogGroup",
      "SendTraces",
    ]);
    expect(statement(policy, "ReadIngestObjects").Resource).to.equal(`${INGEST_ARN}/*`);
    expect(statement(policy, "WriteRawMetadata").Resource).to.equal(`${METADATA.arn}/ffprobe/*`);
    expect(statement(policy, "WriteMetadataItems").Resource).to.equal(TABLE.arn);
    expect(statement(policy, "ConsumeQueue").Resource).to.equal(res.one(T.queue, "-queue").state.arn);
    expect(statement(policy, "WriteOwnLogGroup").Resource).to.equal(`${res.one(T.logGroup).state.arn}:*`);
    expect(policy.Statement.every((s) => s.Effect === "Allow")).to.equal(true);
    const trust = JSON.parse(res.one(T.role).inputs.assumeRolePolicy as string);
    expect(trust.Statement).to.deep.equal([
      { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
  });

  it("caps the SQS poller with maximumConcurrency, reserving only when asked", async () => {
    new MetadataExtractor("capped", extractorArgs(layer, { maximumConcurrency: 7 }));
    new MetadataExtractor("reserved", extractorArgs(layer, { reservedConcurrency: 10, maximumConcurrency: 10 }));
    const res = await settled();
    expect(res.one(T.function, "capped").inputs.reservedConcurrentExecutions).to.equal(-1);
    expect(res.one(T.eventSourceMapping, "capped-source").inputs.scalingConfig).to.deep.equal({
      maximumConcurrency: 7,
    });
    expect(res.one(T.function, "reserved").inputs.reservedConcurrentExecutions).to.equal(10);
    expect(res.one(T.eventSourceMapping, "reserved-source").inputs.scalingConfig).to.deep.equal({
      maximumConcurrency: 10,
    });
  });

  it("leaves the fields a kill-switch pause changes to the kill switch (ignoreChanges)", async () => {
    new MetadataExtractor("extractor", extractorArgs(layer));
    const res = await settled();
    expect(res.one(T.function).options?.ignoreChanges).to.deep.equal(["reservedConcurrentExecutions"]);
    expect(res.one(T.eventSourceMapping).options?.ignoreChanges).to.deep.equal(["enabled"]);
    expect(res.one(T.queue, "-queue").options?.ignoreChanges).to.deep.equal([]);
  });

  it("sizes the batch so that its probes, as many at a time as the memory holds, fit the timeout", async () => {
    new MetadataExtractor("dev", extractorArgs(layer, { memoryMb: 1024, timeoutSeconds: 60 }));
    new MetadataExtractor("prod", extractorArgs(layer, { memoryMb: 1769, timeoutSeconds: 120 }));
    const res = await settled();
    const batch = (name: string) =>
      res.ofType(T.eventSourceMapping).find((r) => r.name.startsWith(name))?.inputs.batchSize as number;
    // 1024 MB: 2 probes at a time, 2 rounds of 20 s + 5 s fit 60 s. 1769 MB: 3 at a time, 4 rounds fit 120 s.
    expect(batch("dev")).to.equal(4);
    expect(batch("prod")).to.equal(10);
  });

  it("refuses settings that cannot work", () => {
    expect(() => new MetadataExtractor("short", extractorArgs(layer, { timeoutSeconds: 20 }))).to.throw(
      /a batch of 1 probing 2 at a time may take 25000 ms, over the 20 s timeout/,
    );
    // Ten records at 1024 MB probe two at a time: five rounds of 20 s do not fit in 60 s.
    expect(() => new MetadataExtractor("batch", extractorArgs(layer, { timeoutSeconds: 60, batchSize: 10 }))).to.throw(
      /a batch of 10 probing 2 at a time/,
    );
    expect(() => new MetadataExtractor("retention", extractorArgs(layer, { logRetentionDays: 10 }))).to.throw(
      /log retention 10 days is not one CloudWatch accepts/,
    );
    expect(() => new MetadataExtractor("memory", extractorArgs(layer, { memoryMb: 64 }))).to.throw(
      /memory must be 640-10240/,
    );
    expect(() => new MetadataExtractor("one", extractorArgs(layer, { maximumConcurrency: 1 }))).to.throw(
      /maximum concurrency must be 2-1000, got 1/,
    );
    expect(
      () => new MetadataExtractor("over", extractorArgs(layer, { reservedConcurrency: 3, maximumConcurrency: 5 })),
    ).to.throw(/maximum concurrency \(5\) exceeds the reserved concurrency \(3\)/);
  });

  it("bundles handlers/extractor with esbuild when no code is given, shipping index.js without its source map", function () {
    this.timeout(60_000);
    const archive = bundleArchive("extractor") as unknown as { assets: Promise<Record<string, unknown>> };
    return archive.assets.then(async (assets) => {
      // The map stays in dist/ (offline symbolication); the function loads index.js only.
      expect(Object.keys(assets)).to.deep.equal(["index.js"]);
      const file = await (assets["index.js"] as { path: Promise<string> }).path;
      expect(fs.statSync(file).size).to.be.above(1000);
      expect(fs.readFileSync(file, "utf8")).to.contain("FFPROBE_SHA256");
      // build/bundles.ts writes it outside the function's folder: dist/sourcemaps/<name>/.
      const map = path.join(path.dirname(path.dirname(file)), "sourcemaps", "extractor", "index.js.map");
      expect(fs.existsSync(map), "the map is still built").to.equal(true);
      expect(fs.readFileSync(file, "utf8")).not.to.contain("sourceMappingURL");
    });
  });
});
