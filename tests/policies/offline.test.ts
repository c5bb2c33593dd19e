/**
 * tools/plan/policy-engine/offline.ts on hand-made plans: how a PlannedResource becomes what the engine would
 * send (inputs for resource policies, state plus id for stack policies, the explicit or default
 * provider, assets in wire form) and which config applies.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { layerDescription } from "../../lib/ffprobe-pin";
import { evaluatePlan, evaluatePolicies, toEngineProperties } from "../../tools/plan/policy-engine/offline";
import type { PlannedResource } from "../../tools/plan/types";
import { STANDARD_TAGS as HARNESS_TAGS } from "./harness";

/** The standard tags of this test's stack (Environment = the stack name). */
const STANDARD_TAGS = { ...HARNESS_TAGS, Environment: "offline-test" };

const STACK = "offline-test";
const urn = (type: string, name: string, parentType?: string) =>
  `urn:pulumi:${STACK}::media-pipeline::${parentType ? `${parentType}$` : ""}${type}::${name}`;

function planned(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  extra: Partial<PlannedResource> = {},
): PlannedResource {
  return {
    urn: urn(type, name),
    aliases: [],
    type,
    name,
    custom: true,
    inputs,
    state: { ...inputs },
    dependencies: [],
    ...extra,
  };
}

describe("policies: offline runner", () => {
  it("gives resources without an explicit provider the default provider configured from the stack's aws: keys", async () => {
    const bucket = planned("aws:s3/bucket:Bucket", "b", {}, { id: "b-1" });
    const stackConfig = { "aws:region": "us-east-1", "aws:defaultTags": JSON.stringify({ tags: STANDARD_TAGS }) };
    const withTags = await evaluatePolicies([bucket], { stack: STACK, stackConfig, config: false });
    expect(withTags.filter((v) => v.policy === "required-tags")).to.deep.equal([]);
    const without = await evaluatePolicies([bucket], {
      stack: STACK,
      stackConfig: { "aws:region": "us-east-1" },
      config: false,
    });
    expect(without.filter((v) => v.policy === "required-tags").map((v) => v.resource)).to.deep.equal([bucket.urn]);
  });

  it("gives resources their explicit provider's inputs (defaultTags as @pulumi/aws serialises them)", async () => {
    const provider = planned("pulumi:providers:aws", "p", {
      region: "us-east-1",
      defaultTags: JSON.stringify({ tags: STANDARD_TAGS }),
    });
    const queue = planned("aws:sqs/queue:Queue", "q", {}, { provider: provider.urn });
    const out = await evaluatePolicies([provider, queue], { stack: STACK, config: false });
    expect(out.filter((v) => v.policy === "required-tags")).to.deep.equal([]);
  });

  it("turns the plan's asset descriptions back into the wire form the engine sends", () => {
    expect(
      toEngineProperties({ code: { archive: "file", path: "/x.zip" }, n: [1, { asset: "string", text: "t" }] }),
    ).to.deep.equal({
      code: { "4dabf18193072939515e22adb298388d": "0def7320c3a5731c473e5ecbe6d01bc7", path: "/x.zip" },
      n: [1, { "4dabf18193072939515e22adb298388d": "c44067f5952c0a294b673a41bacd8c17", text: "t" }],
    });
  });

  it("checks a planned layer's archive content (an asset archive naming a fake ffprobe)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-offline-"));
    try {
      const fake = path.join(dir, "ffprobe");
      fs.writeFileSync(fake, "not ffprobe");
      const component = { ...planned("media-pipeline:lambda:FfmpegLayer", "l", {}), custom: false };
      const layer = planned(
        "aws:lambda/layerVersion:LayerVersion",
        "l",
        {
          layerName: "l",
          compatibleArchitectures: ["x86_64"],
          description: layerDescription("x86_64"),
          code: { archive: "assets", assets: { "bin/ffprobe": { asset: "file", path: fake } } },
        },
        {
          urn: urn("aws:lambda/layerVersion:LayerVersion", "l", "media-pipeline:lambda:FfmpegLayer"),
          parent: component.urn,
        },
      );
      const out = await evaluatePolicies([component, layer], { stack: STACK, config: false });
      const pinned = out.filter((v) => v.policy === "ffmpeg-layer-pinned");
      expect(pinned).to.have.length(1);
      expect(pinned[0]?.message).to.contain("carries a bin/ffprobe whose SHA-256 is ");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("uses policies/config/<stack>.json when it exists, else the policies' defaults", async () => {
    const dev = await evaluatePlan([], { stack: "dev" });
    expect(dev.configFile).to.match(/policies\/config\/dev\.json$/);
    // dev.json sets no level: the policy's own level, mandatory, applies; the cap comes from the stack profile.
    expect(dev.config["budget-required"]?.enforcementLevel).to.equal("mandatory");
    expect(dev.config["budget-required"]?.properties?.maxLimit).to.equal(undefined);
    const none = await evaluatePlan([], { stack: STACK });
    expect(none.configFile).to.equal(undefined);
    expect(none.violations).to.deep.equal([
      {
        policy: "budget-required",
        level: "mandatory",
        message:
          'the stack has no COST budget; add an aws.budgets.Budget { budgetType: "COST", limitAmount <= 300, limitUnit: "USD", ' +
          'timeUnit: "MONTHLY" } with notifications at 10% ACTUAL, 25% ACTUAL, 100% ACTUAL, 100% FORECASTED that reach a ' +
          "subscriber (email or a subscribed SNS topic).",
      },
    ]);
  });

  it("judges a stack without a config file by its own lab setting (issue 16: a lab stack named `edge`)", async () => {
    const table = planned("aws:dynamodb/table:Table", "t", { deletionProtectionEnabled: false }, { id: "t-1" });
    table.urn = "urn:pulumi:edge::media-pipeline::aws:dynamodb/table:Table::t";
    const lab = await evaluatePolicies([table], { stack: "edge", stackConfig: { "media-pipeline:lab": "true" } });
    expect(lab.filter((v) => v.policy === "lab-destroyable")).to.deep.equal([]);
    const prod = await evaluatePolicies([table], { stack: "edge", stackConfig: { "media-pipeline:lab": "false" } });
    expect(prod.filter((v) => v.policy === "lab-destroyable").map((v) => v.level)).to.deep.equal([
      "mandatory",
      "mandatory",
    ]);
  });

  it("passes `protect` to the pack (a protected queue in a lab stack is refused)", async () => {
    const queue = planned(
      "aws:sqs/queue:Queue",
      "q",
      {},
      { options: { protect: true, retainOnDelete: false, ignoreChanges: [] } },
    );
    const out = await evaluatePolicies([queue], {
      stack: STACK,
      stackConfig: { "media-pipeline:lab": "true" },
      config: false,
    });
    expect(out.filter((v) => v.policy === "lab-destroyable").map((v) => v.message)).to.deep.equal([
      "q (aws:sqs/queue:Queue) is protected (protect: true), so `pulumi destroy` fails in this lab stack; remove protect.",
    ]);
  });
});
