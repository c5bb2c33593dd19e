import { expect } from "chai";
import { noEscapeHatches } from "../../policies/escape-hatches";
import { awsProvider, res, runResource, STANDARD_TAGS } from "./harness";

const withProvider = (type: string, name: string, props: Record<string, unknown> = {}) => ({
  ...res(type, name, props),
  provider: awsProvider(STANDARD_TAGS),
});

describe("policies: no-escape-hatches", () => {
  // Class: an aws.cloudformation.Stack (or another template deployer, or a dynamic provider) carried anything past every policy.
  it("refuses a CloudFormation stack that deploys an open bucket", async () => {
    const template = JSON.stringify({ Resources: { Open: { Type: "AWS::S3::Bucket" } } });
    const out = await runResource(
      noEscapeHatches,
      withProvider("aws:cloudformation/stack:Stack", "sneaky", { templateBody: template }),
    );
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.messages[0]).to.contain("sneaky (aws:cloudformation/stack:Stack) deploys a CloudFormation template");
  });

  it("refuses the siblings: stack sets, SAR and Service Catalog stacks, Cloud Control, deploy-time invocations", async () => {
    for (const type of [
      "aws:cloudformation/stackSet:StackSet",
      "aws:cloudformation/stackSetInstance:StackSetInstance",
      "aws:serverlessrepository/cloudFormationStack:CloudFormationStack",
      "aws:servicecatalog/provisionedProduct:ProvisionedProduct",
      "aws:cloudcontrol/resource:Resource",
      "aws:lambda/invocation:Invocation",
    ]) {
      expect((await runResource(noEscapeHatches, withProvider(type, "x"))).messages, type).to.have.length(1);
    }
  });

  it("refuses a dynamic provider resource and a resource of a provider outside allowedPackages", async () => {
    const dynamic = await runResource(noEscapeHatches, withProvider("pulumi-nodejs:dynamic:Resource", "d"));
    expect(dynamic.messages[0]).to.contain("is a dynamic provider resource");
    const native = await runResource(noEscapeHatches, withProvider("aws-native:s3:Bucket", "n"));
    expect(native.messages[0]).to.contain("comes from the aws-native provider, outside allowedPackages");
    const command = await runResource(noEscapeHatches, res("pulumi:providers:command", "cmd"));
    expect(command.messages[0]).to.contain("comes from the command provider");
  });

  it("fair use: @pulumi/aws and random resources, components and the aws provider pass", async () => {
    for (const r of [
      withProvider("aws:s3/bucket:Bucket", "b"),
      withProvider("random:index/randomPassword:RandomPassword", "p"),
      res("media-pipeline:storage:MediaBucket", "c"),
      res("pulumi:providers:aws", "aws"),
    ]) {
      expect((await runResource(noEscapeHatches, r)).messages, r.type).to.deep.equal([]);
    }
  });

  it("fair use: a justified CloudFormation stack passes with a named exception", async () => {
    const config = {
      exceptions: [{ resource: "vendor-stack", reason: "SEC-88: vendor-supplied template, reviewed 2026-11" }],
    };
    const out = await runResource(noEscapeHatches, withProvider("aws:cloudformation/stack:Stack", "vendor-stack"), {
      config,
    });
    expect(out.messages).to.deep.equal([]);
  });
});
