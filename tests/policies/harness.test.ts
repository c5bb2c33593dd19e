/**
 * The harness builds the args the way @pulumi/policy's server does: these tests pin the
 * behaviours the policies rely on (proxy over unknowns, isType/asType, getConfig,
 * notApplicable, enforcement levels, the object form of reportViolation).
 */
import * as aws from "@pulumi/aws";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { expect } from "chai";
import { buildResourceArgs, buildStackArgs, res, runResource, runStack, UNKNOWN_STRING } from "./harness";

describe("policies: harness (engine-shaped args)", () => {
  it("builds resource args like the analyzer: type, name, urn, opts defaults, isType/asType, getConfig", () => {
    const args = buildResourceArgs(
      { type: "aws:s3/bucket:Bucket", name: "b", props: { bucket: "x", forceDestroy: true, gone: undefined } },
      { config: { lab: true } },
    );
    expect(args.type).to.equal("aws:s3/bucket:Bucket");
    expect(args.name).to.equal("b");
    expect(args.urn).to.equal("urn:pulumi:test::media-pipeline::aws:s3/bucket:Bucket::b");
    expect(args.opts).to.deep.equal({
      protect: false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
    });
    expect(args.props.bucket).to.equal("x");
    expect(Object.keys(args.props)).to.deep.equal(["bucket", "forceDestroy"]); // undefined keys dropped, as on the wire
    expect(args.isType(aws.s3.Bucket)).to.equal(true);
    expect(args.isType(aws.s3.BucketPolicy)).to.equal(false);
    expect(args.asType(aws.s3.Bucket)?.forceDestroy).to.equal(true);
    expect(args.asType(aws.sqs.Queue)).to.equal(undefined);
    expect(args.getConfig()).to.deep.equal({ lab: true });
    expect(args.stackTags.size).to.equal(0);
    expect(args.provider).to.equal(undefined);
    expect(() => args.notApplicable("nope")).to.throw("nope");
  });

  it("wraps props in unknownCheckingProxy: reading an unknown value throws UnknownValueError", () => {
    const args = buildResourceArgs({
      type: "aws:s3/bucket:Bucket",
      props: { bucket: UNKNOWN_STRING, tags: { A: "1" } },
    });
    expect(args.props.tags.A).to.equal("1");
    expect(() => args.props.bucket).to.throw("string value at .bucket can't be known during preview");
  });

  it("stack args resolve parents, dependencies and property dependencies to resource objects", () => {
    const parent = res("media-pipeline:storage:MediaBucket", "m");
    const bucket = res("aws:s3/bucket:Bucket", "b", {}, { parent: parent.urn });
    const pab = res(
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
      "p",
      { bucket: UNKNOWN_STRING },
      {
        dependencies: [bucket.urn as string, "urn:missing"],
        propertyDependencies: { bucket: [bucket.urn as string] },
      },
    );
    const args = buildStackArgs([parent, bucket, pab]);
    const [r0, r1, r2] = args.resources;
    expect(r1?.parent).to.equal(r0);
    expect(r2?.dependencies).to.deep.equal([r1]);
    expect(r2?.propertyDependencies.bucket).to.deep.equal([r1]);
    expect(r1?.isType(aws.s3.Bucket)).to.equal(true);
  });

  it("runs policies like the server: levels, remediate -> mandatory, disabled skipped, type fast path", async () => {
    const policy: ResourceValidationPolicy = {
      name: "p",
      description: "Desc.",
      enforcementLevel: "mandatory",
      validateResource: validateResourceOfType(aws.s3.Bucket, (_bucket, _args, report) => report("bad")),
    };
    const hit = await runResource(policy, res("aws:s3/bucket:Bucket", "b"));
    expect(hit.messages).to.deep.equal(["bad"]);
    expect(hit.diagnostics[0]?.message).to.equal("Desc.\nbad");
    expect(hit.levels).to.deep.equal(["mandatory"]);
    expect(
      (await runResource(policy, res("aws:s3/bucket:Bucket", "b"), { enforcementLevel: "remediate" })).levels,
    ).to.deep.equal(["mandatory"]);
    expect(
      (await runResource(policy, res("aws:s3/bucket:Bucket", "b"), { enforcementLevel: "disabled" })).messages,
    ).to.deep.equal([]);
    const miss = await runResource(policy, res("aws:sqs/queue:Queue", "q"));
    expect(miss.messages).to.deep.equal([]);
    expect(miss.notApplicable[0]?.reason).to.equal("Policy only applies to resources of type 'aws:s3/bucket:Bucket'");
  });

  it("turns an unknown value a policy could not read into an advisory, as `pulumi preview` does", async () => {
    const policy: StackValidationPolicy = {
      name: "reads-everything",
      description: "D.",
      enforcementLevel: "mandatory",
      validateStack: (args) => {
        for (const r of args.resources) void r.props.bucket;
      },
    };
    const out = await runStack(policy, [res("aws:s3/bucket:Bucket", "b", { bucket: UNKNOWN_STRING })]);
    expect(out.levels).to.deep.equal(["advisory"]);
    expect(out.messages[0]).to.match(
      /^can't run policy 'reads-everything' from policy pack 'media-pipeline-policies@v.*' during preview: string value at .bucket can't be known during preview$/,
    );
  });

  it("gives the pack the stack's environment the way the CLI does (PULUMI_CONFIG, PULUMI_NODEJS_*), then restores it", async () => {
    const before = { config: process.env.PULUMI_CONFIG, stack: process.env.PULUMI_NODEJS_STACK };
    let seen: Record<string, string | undefined> = {};
    const policy: ResourceValidationPolicy = {
      name: "reads-env",
      description: "D.",
      enforcementLevel: "mandatory",
      validateResource: () => {
        seen = {
          config: process.env.PULUMI_CONFIG,
          project: process.env.PULUMI_NODEJS_PROJECT,
          stack: process.env.PULUMI_NODEJS_STACK,
        };
      },
    };
    await runResource(policy, res("aws:s3/bucket:Bucket", "b"), {
      stack: "pr-7",
      stackConfig: { "media-pipeline:lab": "true" },
    });
    expect(seen).to.deep.equal({ config: '{"media-pipeline:lab":"true"}', project: "media-pipeline", stack: "pr-7" });
    expect({ config: process.env.PULUMI_CONFIG, stack: process.env.PULUMI_NODEJS_STACK }).to.deep.equal(before);
  });
});
