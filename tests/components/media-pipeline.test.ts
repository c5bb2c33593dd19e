import { expect } from "chai";
import { MediaPipeline } from "../../components/media-pipeline";
import { policyOf, promiseOf, type Resources, settled, startMocks, statement, T, testPipelineArgs } from "./helpers";

describe("MediaPipeline", () => {
  beforeEach(startMocks);

  async function lab(): Promise<{ pipeline: MediaPipeline; res: Resources }> {
    const pipeline = new MediaPipeline("mp-test", testPipelineArgs());
    return { pipeline, res: await settled() };
  }

  it("composes the components under itself", async () => {
    const { res } = await lab();
    const root = res.one(T.pipeline);
    const children = res.childrenOf(root).map((c) => `${c.type} ${c.name}`);
    expect(children).to.have.members([
      `${T.mediaBucket} mp-test-metadata`,
      `${T.metadataTable} mp-test-table`,
      `${T.ffprobeLayer} mp-test-ffprobe`,
      `${T.extractor} mp-test-extractor`,
      `${T.dashboard} mp-test-dashboard`,
      `${T.mediaBucket} mp-test-ingest`,
      `${T.api} mp-test-api`,
      `${T.backfill} mp-test-backfill`,
      `${T.costGuard} mp-test-cost-guard`,
      "media-pipeline:storage:MetadataStats mp-test-stats",
      `${T.observability} mp-test-observability`,
    ]);
    for (const r of res.all.filter((r) => r !== root)) {
      expect(res.ancestorsOf(r).at(-1)?.urn, `${r.type} ${r.name} is under the pipeline`).to.equal(root.urn);
    }
  });

  it("wires bucket notification -> queue -> function -> layer", async () => {
    const { res } = await lab();
    const ingest = res.one(T.mediaBucket, "-ingest");
    const extractor = res.one(T.extractor);
    const queue = res.oneUnder(extractor, T.queue, "-queue");
    const notification = res.oneUnder(ingest, T.notification);
    expect(notification.inputs.queues).to.deep.equal([
      {
        queueArn: queue.state.arn,
        events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"],
      },
    ]);
    expect(notification.inputs.bucket).to.equal(res.oneUnder(ingest, T.bucket).id);

    const fn = res.oneUnder(extractor, T.function);
    expect(res.one(T.eventSourceMapping, "-extractor-source").inputs).to.deep.include({
      eventSourceArn: queue.state.arn,
      functionName: fn.state.arn,
    });
    expect(fn.inputs.layers).to.deep.equal([res.one(T.layer).state.arn]);
  });

  it("gives the extractor the ingest bucket's ARN once the bucket exists (deferred, no cycle)", async () => {
    const { res } = await lab();
    const ingestArn = res.oneUnder(res.one(T.mediaBucket, "-ingest"), T.bucket).state.arn;
    const policy = policyOf(res.oneUnder(res.one(T.extractor), T.rolePolicy));
    expect(statement(policy, "ReadIngestObjects").Resource).to.equal(`${ingestArn}/*`);
  });

  it("writes the dashboard's config.json from the API and sign-in it created", async () => {
    const { pipeline, res } = await lab();
    const config = res.ofType(T.object).find((o) => o.inputs.key === "config.json");
    const content = JSON.parse(config?.inputs.content as string);
    const pool = res.one(T.userPool);
    expect(content.apiUrl).to.equal(await promiseOf(pipeline.apiUrl));
    expect(content.auth).to.deep.include({
      authority: `https://cognito-idp.us-east-1.amazonaws.com/${pool.id}`,
      clientId: res.one(T.userPoolClient).id,
      redirectPath: "/",
    });
    const dashboardUrl = await promiseOf(pipeline.dashboardUrl);
    expect(res.one(T.userPoolClient).inputs.callbackUrls).to.include(`${dashboardUrl}/`);
    const cors = res.under(res.one(T.mediaBucket, "-ingest"), T.cors)[0]?.inputs.corsRules as {
      allowedOrigins: string[];
    }[];
    expect(cors[0]?.allowedOrigins).to.deep.equal([dashboardUrl, "http://localhost:5173"]);
  });

  it("makes a lab stack removable: buckets force-destroy and objects expire; nothing is deletion-protected", async () => {
    const { res } = await lab();
    for (const b of res.ofType(T.bucket)) expect(b.inputs.forceDestroy, b.name).to.equal(true);
    const ingestRules = res.oneUnder(res.one(T.mediaBucket, "-ingest"), T.lifecycle).inputs.rules as { id: string }[];
    expect(ingestRules.map((r) => r.id)).to.include("expire-objects");
    expect(res.one(T.table, "test-table").inputs.deletionProtectionEnabled).to.equal(false);
    expect(res.one(T.userPool).inputs.deletionProtection).to.equal("INACTIVE");
  });

  it("makes a production stack keep its data", async () => {
    new MediaPipeline(
      "mp-test",
      testPipelineArgs({ lab: false, deletionProtection: true, pointInTimeRecovery: true, ingestVersioning: true }),
    );
    const res = await settled();
    for (const b of res.ofType(T.bucket)) expect(b.inputs.forceDestroy, b.name).to.equal(false);
    for (const l of res.ofType(T.lifecycle)) {
      expect(
        (l.inputs.rules as { id: string }[]).map((r) => r.id),
        l.name,
      ).to.not.include("expire-objects");
    }
    expect(res.one(T.table, "test-table").inputs).to.deep.include({
      deletionProtectionEnabled: true,
      pointInTimeRecovery: { enabled: true },
    });
    expect(res.one(T.userPool).inputs.deletionProtection).to.equal("ACTIVE");
    expect(res.ofType(T.versioning).map((v) => v.name)).to.deep.equal(["mp-test-ingest-versioning"]);
  });
});
