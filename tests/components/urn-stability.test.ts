/**
 * Nothing deployed is replaced by a refactoring: a stack deployed from the snapshot's commit
 * (tests/components/urn-snapshots/, see urn-snapshot.ts) must update in place. Every URN it
 * holds is still planned, or aliased by a planned resource, of the same type and with the
 * same physical names. URNs here are the mock monitor's (immediate parent type only) on both
 * sides, so they compare; the engine's URNs carry the whole parent chain, and aliases inherited
 * through a parent cover that.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { planProgram } from "../../tools/plan/run-program";
import type { PlannedResource } from "../../tools/plan/types";
import { physicalNames, readSnapshot } from "./urn-snapshot";

/**
 * Component resources this change adds on purpose (issue 11), by type: a component is no cloud
 * resource, so adding one replaces nothing; its moved children alias their old URNs.
 */
const ADDED_COMPONENTS: Record<string, number> = { "media-pipeline:auth:UserDirectory": 1 };

/** Where each URN of a snapshot went: the planned resource that has it, or an alias of it. */
function resolve(resources: PlannedResource[]): Map<string, PlannedResource> {
  const byUrn = new Map<string, PlannedResource>();
  for (const r of resources) for (const alias of r.aliases) byUrn.set(alias, r);
  for (const r of resources) byUrn.set(r.urn, r);
  return byUrn;
}

describe("URN stability: a stack deployed from the snapshot's commit updates in place", function () {
  this.timeout(120_000);

  for (const stack of ["dev", "prod"]) {
    it(`${stack}: every snapshot URN is planned or aliased, same type and physical names, same count`, async () => {
      const snapshot = readSnapshot(stack);
      const plan = await planProgram({ stack });
      const byUrn = resolve(plan.resources);
      const missing: string[] = [];
      const changed: string[] = [];
      for (const old of snapshot.resources) {
        const now = byUrn.get(old.urn);
        if (!now) {
          missing.push(old.urn);
          continue;
        }
        // A component may change its type when it aliases its old URN (which carries the old type):
        // it has no cloud state to replace. A custom resource of another type would be a new one.
        const retypedComponent = !now.custom && now.aliases.includes(old.urn);
        if (now.type !== old.type && !retypedComponent) changed.push(`${old.urn}: type ${old.type} -> ${now.type}`);
        const names = physicalNames(now);
        if (JSON.stringify(names) !== JSON.stringify(old.physicalNames))
          changed.push(`${old.urn}: physical names ${JSON.stringify(old.physicalNames)} -> ${JSON.stringify(names)}`);
      }
      expect(missing, "URNs neither planned nor aliased (the deploy would replace them)").to.deep.equal([]);
      expect(changed, "resources whose type or physical name changed").to.deep.equal([]);
      // Two planned resources claiming one old URN would leave the engine to pick one.
      const claims = new Map<string, string[]>();
      for (const r of plan.resources)
        for (const u of [r.urn, ...r.aliases]) claims.set(u, [...(claims.get(u) ?? []), r.urn]);
      const contested = snapshot.resources.filter((old) => (claims.get(old.urn)?.length ?? 0) > 1);
      expect(contested.map((c) => c.urn)).to.deep.equal([]);
      const custom = plan.resources.filter((r) => r.custom);
      const oldCustom = snapshot.resources.filter((r) => !r.type.startsWith("media-pipeline:"));
      expect(custom.length, "cloud resource count").to.equal(oldCustom.length);
      const added = Object.values(ADDED_COMPONENTS).reduce((a, b) => a + b, 0);
      expect(plan.resources.length, "resource count (with the components added on purpose)").to.equal(
        snapshot.resources.length + added,
      );
      for (const [type, count] of Object.entries(ADDED_COMPONENTS))
        expect(plan.resources.filter((r) => r.type === type).length, type).to.equal(count);
    });
  }

  it("resolves aliases as the engine does: own specs, and children follow a renamed parent", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "urn-alias-"));
    const program = path.join(dir, "index.ts");
    fs.writeFileSync(
      program,
      `import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
class Renamed extends pulumi.ComponentResource {
  constructor(name: string) {
    super("test:index:NewName", name, {}, { aliases: [{ type: "test:index:OldName" }] });
    new aws.sqs.Queue(name + "-queue", {}, { parent: this });
    new aws.sqs.Queue("moved", {}, { parent: this, aliases: [{ name: "before", parent: pulumi.rootStackResource }] });
    this.registerOutputs({});
  }
}
new Renamed("thing");
`,
    );
    try {
      const plan = await planProgram({ stack: "dev", program });
      const at = (type: string, name: string) => plan.resources.find((r) => r.type === type && r.name === name);
      const u = (chain: string, name: string) => `urn:pulumi:dev::media-pipeline::${chain}::${name}`;
      expect(at("test:index:NewName", "thing")?.aliases).to.deep.equal([u("test:index:OldName", "thing")]);
      expect(at("aws:sqs/queue:Queue", "thing-queue")?.aliases).to.deep.equal([
        u("test:index:OldName$aws:sqs/queue:Queue", "thing-queue"),
      ]);
      const moved = at("aws:sqs/queue:Queue", "moved")?.aliases ?? [];
      expect(moved).to.include(u("aws:sqs/queue:Queue", "before")); // a top-level URN has no parent type
      expect(moved).to.include(u("test:index:OldName$aws:sqs/queue:Queue", "moved"));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
