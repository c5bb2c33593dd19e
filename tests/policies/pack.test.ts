/**
 * The pack as a whole: stable kebab-case names with actionable descriptions, one PolicyPack in
 * the entry point, and policy config files the CLI accepts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, PACK_VERSION, POLICIES } from "../../policies/pack";
import {
  configFileFor,
  PolicyConfigError,
  parseConfigFile,
  readConfigFile,
  reconcileConfig,
} from "../../tools/plan/policy-engine/pack-config";

const PACK_DIR = path.resolve(__dirname, "..", "..", "policies");

describe("policies: the pack", () => {
  it("has the issue's policies, named in kebab-case, each with a description and remediation steps", () => {
    expect(POLICIES.map((p) => p.name)).to.deep.equal([
      "required-tags",
      "s3-lifecycle",
      "s3-secure",
      "budget-required",
      "ffmpeg-layer-pinned",
      "lambda-log-retention",
      "api-authorized",
      "lab-destroyable",
      "no-escape-hatches",
    ]);
    for (const p of POLICIES) {
      expect(p.name).to.match(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(p.description.length, p.name).to.be.greaterThan(60);
      expect(p.remediationSteps?.length ?? 0, p.name).to.be.greaterThan(40);
      expect(p.configSchema, p.name).to.not.equal(undefined);
      expect(p.configSchema?.properties, p.name).to.not.have.property("enforcementLevel");
    }
  });

  it("defaults: every policy mandatory (lab and production limits come from the stack profile, not a softer level)", () => {
    const levels = Object.fromEntries(POLICIES.map((p) => [p.name, p.enforcementLevel]));
    expect(levels).to.deep.equal({
      "required-tags": "mandatory",
      "s3-lifecycle": "mandatory",
      "s3-secure": "mandatory",
      "budget-required": "mandatory",
      "ffmpeg-layer-pinned": "mandatory",
      "lambda-log-retention": "mandatory",
      "api-authorized": "mandatory",
      "lab-destroyable": "mandatory",
      "no-escape-hatches": "mandatory",
    });
  });

  it("is a real pack: PulumiPolicy.yaml, a versioned package.json, one PolicyPack constructed in index.ts", () => {
    expect(fs.readFileSync(path.join(PACK_DIR, "PulumiPolicy.yaml"), "utf8")).to.match(/^runtime: nodejs$/m);
    const pkg = JSON.parse(fs.readFileSync(path.join(PACK_DIR, "package.json"), "utf8"));
    expect(pkg.version)
      .to.equal(PACK_VERSION)
      .and.match(/^\d+\.\d+\.\d+$/);
    expect(pkg.dependencies["@pulumi/policy"]).to.equal("1.21.0");
    const index = fs.readFileSync(path.join(PACK_DIR, "index.ts"), "utf8");
    expect(index.match(/new PolicyPack\(/g)).to.have.length(1);
    expect(PACK_NAME).to.match(/^[a-zA-Z0-9-_.]{1,100}$/);
    // Only index.ts starts the server: nothing else in the pack may construct one.
    for (const f of fs.readdirSync(PACK_DIR).filter((n) => n.endsWith(".ts") && n !== "index.ts")) {
      expect(fs.readFileSync(path.join(PACK_DIR, f), "utf8"), f).to.not.match(/new PolicyPack\(/);
    }
  });

  it("holds rules only: what index.ts loads is policies/ and lib/, and every package it imports is the pack's dependency", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(PACK_DIR, "package.json"), "utf8"));
    const deps = Object.keys(pkg.dependencies ?? {});
    const root = path.dirname(PACK_DIR);
    const loaded = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      const text = fs.readFileSync(file, "utf8");
      // `import type ... from` is erased when compiled: it loads nothing.
      for (const [, typeOnly, spec = ""] of text.matchAll(
        /^(?:import|export)\s+(type\s+)?[^;]*?\bfrom\s+"([^"]+)"/gm,
      )) {
        if (typeOnly) continue;
        if (spec.startsWith(".")) {
          const target = path.resolve(path.dirname(file), spec);
          if (fs.existsSync(`${target}.ts`)) visit(`${target}.ts`);
          else expect(fs.existsSync(target), `${file} imports ${spec}`).to.equal(true);
        } else if (!spec.startsWith("node:")) {
          packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] ?? spec));
        }
      }
      // A lazy require() loads a package too (policies/api.ts loads js-yaml for YAML bodies).
      for (const [, spec = ""] of text.matchAll(/\brequire\("([^".][^"]*)"\)/g)) {
        if (!spec.startsWith("node:"))
          packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] ?? spec));
      }
    };
    visit(path.join(PACK_DIR, "index.ts"));
    const rooms = new Set([...loaded].map((f) => path.relative(root, f).split(path.sep)[0]));
    expect([...rooms].sort()).to.deep.equal(["lib", "policies"]);
    expect([...loaded].map((f) => path.relative(root, f))).to.include("policies/layer-content.ts");
    for (const p of packages) expect(deps, `${p} is imported by the pack`).to.include(p);
    expect(pkg.dependencies.yauzl).to.equal("3.4.0");
    // Nothing in policies/ reaches into tools/ (the offline engine lives there and imports the pack, not the reverse).
    for (const f of fs.readdirSync(PACK_DIR).filter((n) => n.endsWith(".ts"))) {
      expect(fs.readFileSync(path.join(PACK_DIR, f), "utf8"), f).to.not.match(/from "[./]*\/tools\//);
    }
  });

  for (const stack of ["dev", "prod"]) {
    it(`policies/config/${stack}.json is valid for --policy-pack-config`, () => {
      const config = reconcileConfig(POLICIES, PACK_ENFORCEMENT_LEVEL, readConfigFile(configFileFor(stack)));
      // Lab or production and its limits follow the stack's own config (stack-profile.ts), not the file.
      expect(config["s3-lifecycle"]?.properties?.lab).to.equal(undefined);
      expect(config["lab-destroyable"]?.properties?.lab).to.equal(undefined);
      expect(config["budget-required"]?.properties?.maxLimit).to.equal(undefined);
      // The CostGuard component adds the budget: the stacks run budget-required at its own level, mandatory.
      expect(config["budget-required"]?.enforcementLevel).to.equal("mandatory");
      expect(config["required-tags"]?.properties?.exceptions).to.deep.equal([]);
      expect(config["s3-secure"]?.enforcementLevel).to.equal("mandatory");
    });
  }

  it("rejects config the CLI would reject, naming the policy and the field", () => {
    expect(() =>
      reconcileConfig(POLICIES, "advisory", parseConfigFile({ "lambda-log-retention": { maxRetentionDays: 10 } })),
    ).to.throw(
      PolicyConfigError,
      "lambda-log-retention: maxRetentionDays: must be one of the following: 1, 3, 5, 7, 14, 30,",
    );
    expect(() => reconcileConfig(POLICIES, "advisory", parseConfigFile({ "s3-lifecycle": { lab: "yes" } }))).to.throw(
      "s3-lifecycle: lab: Invalid type. Expected: boolean, given: string",
    );
    expect(() => parseConfigFile({ "s3-secure": "strict" })).to.throw('"strict" is not a valid enforcement level');
    expect(() =>
      reconcileConfig(
        POLICIES,
        "advisory",
        parseConfigFile({ "budget-required": { thresholds: [{ threshold: 50 }] } }),
      ),
    ).to.throw("budget-required: thresholds.0: notificationType is required");
  });

  it("applies `all` and per-policy levels the way the CLI does", () => {
    const config = reconcileConfig(POLICIES, "advisory", parseConfigFile({ all: "advisory", "s3-secure": "disabled" }));
    expect(config["required-tags"]?.enforcementLevel).to.equal("advisory");
    expect(config["s3-secure"]?.enforcementLevel).to.equal("disabled");
    expect(config["api-authorized"]?.properties?.publicRoutes).to.deep.equal(["GET /health"]);
  });
});
