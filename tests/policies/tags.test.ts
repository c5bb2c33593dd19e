import { expect } from "chai";
import { requiredTags } from "../../policies/tags";
import { awsProvider, res, runResource, STANDARD_TAGS, UNKNOWN_STRING } from "./harness";

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

  it("reports a type missing from both lists as an advisory instead of passing it silently", async () => {
    const out = await runResource(requiredTags, res("aws:ec2/instance:Instance", "vm"));
    expect(out.levels).to.deep.equal(["advisory"]);
    expect(out.messages).to.deep.equal([
      "type aws:ec2/instance:Instance is not in the taggable-types list, so its tags were not checked; add it to " +
        "TAGGABLE_TYPES or NON_TAGGABLE_TYPES in policies/taggable-types.ts.",
    ]);
  });
});
