import type { StackValidationPolicy } from "@pulumi/policy";
import { expect } from "chai";
import { requiredTags } from "../../policies/tags";
import { awsProvider, res, runResource, runStack, STANDARD_TAGS, UNKNOWN_STRING } from "./harness";

const BUCKET = "aws:s3/bucket:Bucket";

describe("policies: required-tags", () => {
  it("passes a bucket whose provider's defaultTags carry every required tag", async () => {
    const out = await runResource(requiredTags, { ...res(BUCKET, "b"), provider: awsProvider(STANDARD_TAGS) });
    expect(out.messages).to.deep.equal([]);
  });

  it("passes when the resource's own tags complete the provider's defaults", async () => {
    const { Owner, CostCenter, ...defaults } = STANDARD_TAGS;
    const out = await runResource(requiredTags, {
      ...res(BUCKET, "b", { tags: { Owner, CostCenter } }),
      provider: awsProvider(defaults),
    });
    expect(out.messages).to.deep.equal([]);
  });

  it("counts tagsAll when the provider already computed it", async () => {
    const out = await runResource(requiredTags, res(BUCKET, "b", { tagsAll: STANDARD_TAGS }));
    expect(out.messages).to.deep.equal([]);
  });

  it("reports an untagged bucket with no provider default tags, naming the missing keys", async () => {
    const out = await runResource(requiredTags, { ...res(BUCKET, "media"), provider: awsProvider() });
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.messages).to.deep.equal([
      "media (aws:s3/bucket:Bucket): missing required tags: Project, Environment, Owner, CostCenter. Set them in the " +
        "AWS provider's defaultTags (lib/tags.ts standardTags) or in the resource's tags.",
    ]);
  });

  it("reports empty values, including a resource tag that blanks a default", async () => {
    const out = await runResource(requiredTags, {
      ...res(BUCKET, "b", { tags: { Owner: " " } }),
      provider: awsProvider(STANDARD_TAGS),
    });
    expect(out.messages[0]).to.contain("empty required tags: Owner");
  });

  it("uses the configured tag keys", async () => {
    const out = await runResource(
      requiredTags,
      { ...res(BUCKET, "b"), provider: awsProvider(STANDARD_TAGS) },
      {
        config: { requiredTags: ["Project", "DataClass"] },
      },
    );
    expect(out.messages[0]).to.contain("missing required tags: DataClass.");
  });

  it("treats a tag value unknown during preview as set, and a wholly unknown tags map as not checkable yet", async () => {
    const oneUnknown = await runResource(
      requiredTags,
      res(BUCKET, "b", { tags: { ...STANDARD_TAGS, Owner: UNKNOWN_STRING } }),
    );
    expect(oneUnknown.messages).to.deep.equal([]);
    const allUnknown = await runResource(requiredTags, res(BUCKET, "b", { tags: UNKNOWN_STRING }));
    expect(allUnknown.messages).to.deep.equal([]);
  });

  it("does not apply to non-taggable types, components or providers", async () => {
    for (const type of [
      "aws:s3/bucketPolicy:BucketPolicy",
      "media-pipeline:storage:MediaBucket",
      "pulumi:providers:aws",
    ]) {
      const out = await runResource(requiredTags, res(type, "x"));
      expect(out.messages, type).to.deep.equal([]);
      expect(out.notApplicable, type).to.have.length(1);
    }
  });

  // Class: a resource type missing from the pack's list got only an advisory (an untagged EC2 instance passed).
  it("refuses an untagged EC2 instance (taggability read from @pulumi/aws), and a type @pulumi/aws does not know", async () => {
    const vm = await runResource(requiredTags, { ...res("aws:ec2/instance:Instance", "vm"), provider: awsProvider() });
    expect(vm.levels).to.deep.equal(["mandatory"]);
    expect(vm.messages[0]).to.contain("vm (aws:ec2/instance:Instance): missing required tags: Project, Environment");
    const future = await runResource(requiredTags, {
      ...res("aws:future/gadget:Gadget", "g"),
      provider: awsProvider(),
    });
    expect(future.levels).to.deep.equal(["mandatory"]);
  });

  it("fair use: the same EC2 instance with the provider's default tags passes", async () => {
    const vm = await runResource(requiredTags, {
      ...res("aws:ec2/instance:Instance", "vm"),
      provider: awsProvider(STANDARD_TAGS),
    });
    expect(vm.messages).to.deep.equal([]);
  });

  // Class: tag values were only checked for being non-empty (Environment=prod in the dev stack passed).
  it("refuses Environment=prod in the dev stack, and a Project that is not the project", async () => {
    const out = await runResource(
      requiredTags,
      {
        ...res(BUCKET, "b"),
        urn: "urn:pulumi:dev::media-pipeline::aws:s3/bucket:Bucket::b",
        provider: awsProvider({ ...STANDARD_TAGS, Environment: "prod", Project: "other" }),
      },
      { stack: "dev" },
    );
    expect(out.messages).to.have.length(1);
    expect(out.messages[0]).to.contain('tag Environment is "prod", expected "dev"');
    expect(out.messages[0]).to.contain('tag Project is "other", expected "media-pipeline"');
  });

  it("fair use: Environment=dev in the dev stack passes; tagValues is configurable per stack", async () => {
    const dev = await runResource(
      requiredTags,
      { ...res(BUCKET, "b"), provider: awsProvider({ ...STANDARD_TAGS, Environment: "dev" }) },
      { stack: "dev" },
    );
    expect(dev.messages).to.deep.equal([]);
    const custom = await runResource(
      requiredTags,
      { ...res(BUCKET, "b"), provider: awsProvider({ ...STANDARD_TAGS, Environment: "review" }) },
      { stack: "pr-42", config: { tagValues: { Environment: "review" } } },
    );
    expect(custom.messages).to.deep.equal([]);
  });

  // Class: the provider's ignoreTags, which strips tags before they are written, was ignored.
  it("refuses a provider whose ignoreTags strips a required tag", async () => {
    const provider = awsProvider(STANDARD_TAGS);
    provider.props.ignoreTags = JSON.stringify({ keyPrefixes: ["Own"] });
    const out = await runResource(requiredTags, { ...res(BUCKET, "b"), provider });
    expect(out.messages[0]).to.contain("its provider's ignoreTags strips required tags: Owner");
  });

  it("fair use: ignoreTags on keys other teams manage (kubernetes.io/) passes", async () => {
    const provider = awsProvider(STANDARD_TAGS);
    provider.props.ignoreTags = JSON.stringify({ keys: ["LastScanned"], keyPrefixes: ["kubernetes.io/"] });
    expect((await runResource(requiredTags, { ...res(BUCKET, "b"), provider })).messages).to.deep.equal([]);
  });
});

describe("policies: named exceptions (required-tags)", () => {
  const vm = { ...res("aws:ec2/instance:Instance", "legacy-vm"), provider: awsProvider() };

  it("a named exception with a reason lets one resource through, and only that one", async () => {
    const config = { exceptions: [{ resource: "legacy-vm", reason: "OPS-7: imported VM, tagged by the old CMDB" }] };
    expect((await runResource(requiredTags, vm, { config })).messages).to.deep.equal([]);
    const other = { ...res("aws:ec2/instance:Instance", "new-vm"), provider: awsProvider() };
    expect((await runResource(requiredTags, other, { config })).messages).to.have.length(1);
  });

  it("reports an unused exception (the resource is gone or compliant) in the stack pass", async () => {
    const config = { exceptions: [{ resource: "legacy-vm", reason: "OPS-7: imported VM, tagged by the old CMDB" }] };
    const policy = requiredTags as unknown as StackValidationPolicy;
    const used = await runStack(policy, [vm], { config });
    expect(used.messages).to.deep.equal([]);
    const compliant = await runStack(policy, [{ ...vm, provider: awsProvider(STANDARD_TAGS) }], { config });
    expect(compliant.messages).to.deep.equal([
      'unused exception for "legacy-vm" (reason: OPS-7: imported VM, tagged by the old CMDB): legacy-vm ' +
        "(aws:ec2/instance:Instance) does not violate required-tags; remove it from the required-tags exceptions in " +
        "the stack's policy config, so it cannot silently cover a later resource.",
    ]);
    const gone = await runStack(policy, [], { config });
    expect(gone.messages[0]).to.contain("no resource of this stack has that name or URN");
  });

  it("refuses an exception without a reason (the config is invalid, as the CLI would refuse it)", async () => {
    let error: unknown;
    try {
      await runResource(requiredTags, vm, { config: { exceptions: [{ resource: "legacy-vm" }] } });
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.contain("reason is required");
  });
});
