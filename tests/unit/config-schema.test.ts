/**
 * The one definition of the stack's configuration (lib/config-schema.ts): Pulumi.yaml's
 * `config:` block and the stack files hold together with it, its defaults are valid values,
 * and a bad value is refused with the key, what is wrong and what is allowed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { load } from "js-yaml";
import { readPipelineConfig } from "../../components/pipeline-config";
import { LOG_RETENTION_DAYS } from "../../lib/aws-limits";
import {
  CONFIG_DEFAULTS,
  CONFIG_KEYS,
  configSchema,
  fromConfigStrings,
  parsePipelineSettings,
  pulumiConfigDeclarations,
} from "../../lib/config-schema";
import { PROJECT_NAME } from "../../lib/naming";
import { REPO_ROOT } from "../../lib/repo-root";
import { configBlockMatches, withGeneratedConfig } from "../../tools/config-yaml";
import { loadStackConfig } from "../../tools/plan/stack-config";
import { startMocks } from "../components/helpers";

const PULUMI_YAML = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8");
const declaredInPulumiYaml = () => (load(PULUMI_YAML) as { config: Record<string, Record<string, unknown>> }).config;

/** The settings of a valid production stack, with `change` on top. */
function production(change: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    owner: "media-platform",
    costCenter: "media-production",
    accountId: "123456789012",
    alertEmail: "ops@example.com",
    ...change,
  };
}

function refusal(raw: Record<string, unknown>): string {
  try {
    parsePipelineSettings(raw);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be refused`);
}

describe("stack configuration: one definition (lib/config-schema.ts)", () => {
  describe("Pulumi.yaml holds together with the schema", () => {
    it("declares the same keys, in the same order, with the same types, defaults and descriptions", () => {
      const declared = declaredInPulumiYaml();
      expect(Object.keys(declared)).to.deep.equal(CONFIG_KEYS);
      const generated = pulumiConfigDeclarations();
      for (const key of CONFIG_KEYS) expect(declared[key], key).to.deep.equal(generated[key]);
      expect(configBlockMatches(PULUMI_YAML)).to.equal(true);
    });

    it("is what `npm run config:yaml -- --write` writes (the generated block is a fixed point)", () => {
      expect(withGeneratedConfig(PULUMI_YAML)).to.equal(PULUMI_YAML);
    });

    it("the check bites: a changed default, a dropped key or an extra key is drift", () => {
      const declared = declaredInPulumiYaml();
      const variants = [
        PULUMI_YAML.replace(/(\n {2}listShards:\n(?: {4}.*\n)*? {4}default: )4\n/, "$18\n"),
        PULUMI_YAML.replace(/\n {2}dashboardDir:\n(?: {4}.*\n?)*/, "\n"),
        `${PULUMI_YAML.replace(/\n*$/, "\n")}  newKey:\n    type: string\n    default: ""\n    description: x\n`,
      ];
      expect(variants[0]).to.not.equal(PULUMI_YAML);
      expect((load(variants[0] as string) as { config: typeof declared }).config.listShards?.default).to.equal(8);
      expect(variants[1]).to.not.contain("dashboardDir");
      for (const v of variants) expect(configBlockMatches(v as string)).to.equal(false);
      // ... and --write puts the schema's block back.
      for (const v of variants) expect(configBlockMatches(withGeneratedConfig(v as string))).to.equal(true);
    });

    it("gives a default to every key but the two tags a stack must name (the CLI requires keys declared without one)", () => {
      const withoutDefault = CONFIG_KEYS.filter((k) => !("default" in (declaredInPulumiYaml()[k] ?? {})));
      expect(withoutDefault).to.deep.equal(["owner", "costCenter"]);
      expect(Object.keys(CONFIG_DEFAULTS)).to.deep.equal(CONFIG_KEYS.filter((k) => !withoutDefault.includes(k)));
    });
  });

  it("docs/deploy.md's configuration table lists every key with the schema's type and default", () => {
    const doc = fs.readFileSync(path.join(REPO_ROOT, "docs", "deploy.md"), "utf8");
    const section = doc.slice(
      doc.indexOf("## Configuration"),
      doc.indexOf("\n## ", doc.indexOf("## Configuration") + 1),
    );
    const rows = section.split("\n").filter((l) => /^\| `/.test(l));
    const documented = new Map<string, { type: string; default: string }>();
    for (const row of rows) {
      const [keys = "", type = "", dflt = ""] = row
        .split("|")
        .slice(1)
        .map((c) => c.trim());
      for (const [, key] of keys.matchAll(/`([^`]+)`/g)) documented.set(key as string, { type, default: dflt });
    }
    const declarations = pulumiConfigDeclarations();
    const expected = (key: (typeof CONFIG_KEYS)[number]) => {
      const d = declarations[key];
      return {
        type: d.type === "array" ? "string[]" : d.type,
        default: !("default" in d)
          ? "required"
          : typeof d.default === "string"
            ? d.default || '""'
            : JSON.stringify(d.default),
      };
    };
    for (const key of CONFIG_KEYS) expect(documented.get(key), key).to.deep.equal(expected(key));
    expect([...documented.keys()].filter((k) => !(CONFIG_KEYS as string[]).includes(k))).to.deep.equal(["aws:region"]);
  });

  it("every default is a value the schema accepts (a lab with the tags and nothing else parses to the defaults)", () => {
    const lab = parsePipelineSettings({ owner: "me", costCenter: "lab", lab: true });
    expect(lab).to.deep.equal({ ...CONFIG_DEFAULTS, owner: "me", costCenter: "lab", lab: true });
    for (const [key, value] of Object.entries(CONFIG_DEFAULTS)) {
      expect(configSchema.shape[key as keyof typeof CONFIG_DEFAULTS].safeParse(value).success, key).to.equal(true);
    }
  });

  it("parses the dev and prod stack files (merged as the CLI merges them) and uses only declared keys", () => {
    for (const stack of ["dev", "prod"]) {
      const stackFile = load(fs.readFileSync(path.join(REPO_ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
        config: Record<string, unknown>;
      };
      const ours = Object.keys(stackFile.config)
        .filter((k) => k.startsWith(`${PROJECT_NAME}:`))
        .map((k) => k.slice(PROJECT_NAME.length + 1));
      expect(
        ours.filter((k) => !(CONFIG_KEYS as string[]).includes(k)),
        stack,
      ).to.deep.equal([]);
      const { config } = loadStackConfig(REPO_ROOT, stack);
      const settings = parsePipelineSettings(fromConfigStrings((k) => config[`${PROJECT_NAME}:${k}`]));
      expect(settings.lab, stack).to.equal(stack === "dev");
    }
    const { config } = loadStackConfig(REPO_ROOT, "prod");
    expect(parsePipelineSettings(fromConfigStrings((k) => config[`${PROJECT_NAME}:${k}`]))).to.deep.include({
      extractorMemoryMb: 1769,
      budgetScope: "stack",
      allowedOrigins: [],
      listShards: 4,
      accountId: "123456789012",
    });
  });

  describe("refuses a bad value, naming the key, the problem and what is allowed", () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        "a memory out of range",
        { extractorMemoryMb: 0 },
        /^config media-pipeline:extractorMemoryMb must be a whole number from 1 to 10240, got 0$/,
      ],
      [
        "a fractional timeout",
        { extractorTimeoutSeconds: 1.5 },
        /^config media-pipeline:extractorTimeoutSeconds must be a whole number from 1 to 900, got 1\.5$/,
      ],
      [
        "a timeout above Lambda's",
        { extractorTimeoutSeconds: 901 },
        /^config media-pipeline:extractorTimeoutSeconds must be a whole number from 1 to 900, got 901$/,
      ],
      [
        "a reservation below -1",
        { extractorReservedConcurrency: -2 },
        /^config media-pipeline:extractorReservedConcurrency must be -1 \(no reservation\) or a whole number >= 0, got -2$/,
      ],
      [
        "a poller cap above 1000",
        { extractorMaxConcurrency: 1001 },
        /^config media-pipeline:extractorMaxConcurrency must be a whole number from 1 to 1000, got 1001$/,
      ],
      [
        "a percent above 100",
        { backfillToleratedFailurePercent: 101 },
        /^config media-pipeline:backfillToleratedFailurePercent must be a whole number from 0 to 100, got 101$/,
      ],
      [
        "a list shard count beyond the index's",
        { listShards: 65 },
        /^config media-pipeline:listShards must be a whole number from 1 to 64, got 65$/,
      ],
      [
        "a log retention CloudWatch refuses",
        { logRetentionDays: 8 },
        new RegExp(
          `^config media-pipeline:logRetentionDays must be a retention CloudWatch accepts \\(${LOG_RETENTION_DAYS.join(", ")}\\), got 8$`,
        ),
      ],
      [
        "an unknown architecture",
        { architecture: "mips" },
        /^config media-pipeline:architecture must be one of x86_64, arm64, got "mips"$/,
      ],
      [
        "an unknown budget scope",
        { budgetScope: "team" },
        /^config media-pipeline:budgetScope must be one of account, stack, got "team"$/,
      ],
      [
        "an origin with a path",
        { allowedOrigins: ["https://ok.example.com", "https://example.com/app"] },
        /^config media-pipeline:allowedOrigins must be a list of origins like https:\/\/example\.com \(no path\), got \["https:\/\/ok\.example\.com","https:\/\/example\.com\/app"\]$/,
      ],
      [
        "an origin that is not a list",
        { allowedOrigins: "https://example.com" },
        /^config media-pipeline:allowedOrigins must be a list of origins like https:\/\/example\.com \(no path\), got "https:\/\/example\.com"$/,
      ],
      [
        "an e-mail address without @",
        { alertEmail: "ops.example.com" },
        /^config media-pipeline:alertEmail must be an email address or empty, got "ops\.example\.com"$/,
      ],
      [
        "a short account id",
        { accountId: "12345" },
        /^config media-pipeline:accountId must be a 12-digit AWS account id, got "12345"$/,
      ],
      [
        "an SES identity that is not an ARN",
        { invitationSesIdentityArn: "media@example.com", invitationFromAddress: "media@example.com" },
        /^config media-pipeline:invitationSesIdentityArn must be an SES identity ARN, got "media@example\.com"$/,
      ],
    ];
    for (const [what, change, message] of cases) {
      it(what, () => expect(refusal(production(change))).to.match(message));
    }

    it("a value of the wrong type, as Pulumi hands it over (a string)", () => {
      const strings: Record<string, string> = {
        owner: "me",
        costCenter: "lab",
        lab: "yes",
        listShards: "four",
        allowedOrigins: "[not json",
      };
      expect(refusal(fromConfigStrings((k) => strings[k])).split("\n")).to.deep.equal([
        'config media-pipeline:lab must be true or false, got "yes"',
        'config media-pipeline:allowedOrigins must be a list of origins like https://example.com (no path), got "[not json"',
        'config media-pipeline:listShards must be a whole number from 1 to 64, got "four"',
      ]);
    });

    it("every bad key at once, one line each", () => {
      const lines = refusal(production({ extractorMemoryMb: 0, apiThrottleBurst: 5001, budgetScope: "x" })).split("\n");
      expect(lines).to.have.length(3);
      expect(lines.map((l) => l.split(" ")[1])).to.have.members([
        "media-pipeline:extractorMemoryMb",
        "media-pipeline:apiThrottleBurst",
        "media-pipeline:budgetScope",
      ]);
      expect(lines.find((l) => l.includes("apiThrottleBurst"))).to.contain("from 1 to 5000, got 5001");
    });

    it("a missing tag, and a key nobody declared", () => {
      expect(refusal({ costCenter: "lab", lab: true })).to.match(
        /^config media-pipeline:owner is required \(it has no default\): Owner tag on every resource/,
      );
      expect(refusal({ owner: "me", costCenter: "lab", lab: true, extractorMemMb: 2048 })).to.contain(
        "unknown keys extractorMemMb",
      );
    });
  });

  describe("checks between keys", () => {
    it("alertEmail and accountId are required outside lab stacks, not in a lab", () => {
      const lines = refusal(production({ alertEmail: "", accountId: "" })).split("\n");
      expect(lines).to.deep.equal([
        "config media-pipeline:alertEmail is required outside lab stacks: without it nobody hears a budget alert or an alarm",
        "config media-pipeline:accountId is required outside lab stacks: the stack must only ever run in its own account",
      ]);
      expect(parsePipelineSettings(production({ alertEmail: "", accountId: "", lab: true })).lab).to.equal(true);
    });

    it("the SES identity and the From address go together", () => {
      const arn = "arn:aws:ses:us-east-1:123456789012:identity/example.com";
      expect(refusal(production({ invitationSesIdentityArn: arn }))).to.equal(
        "config media-pipeline:invitationSesIdentityArn and invitationFromAddress go together: set both or neither",
      );
      expect(refusal(production({ invitationFromAddress: "media@example.com" }))).to.contain("go together");
      const both = production({ invitationSesIdentityArn: arn, invitationFromAddress: "media@example.com" });
      expect(parsePipelineSettings(both).invitationSesIdentityArn).to.equal(arn);
    });
  });

  describe("the program reads Pulumi's configuration through it (components/pipeline-config.ts)", () => {
    let saved: Record<string, string>;
    beforeEach(async () => {
      await startMocks();
      saved = pulumi.runtime.allConfig();
    });
    afterEach(() => pulumi.runtime.setAllConfig(saved));

    const set = (values: Record<string, string>) =>
      pulumi.runtime.setAllConfig({
        "aws:region": "eu-west-1",
        ...Object.fromEntries(Object.entries(values).map(([k, v]) => [`${PROJECT_NAME}:${k}`, v])),
      });

    it("applies the schema's defaults to keys the stack leaves out, and adds stack, region and tags", () => {
      set({ owner: "me", costCenter: "lab", lab: "true", extractorMemoryMb: "2048", allowedOrigins: '["http://a:1"]' });
      const config = readPipelineConfig();
      expect(config).to.deep.include({
        ...CONFIG_DEFAULTS,
        lab: true,
        extractorMemoryMb: 2048,
        allowedOrigins: ["http://a:1"],
        stack: "test",
        region: "eu-west-1",
      });
      expect(config.tags).to.deep.equal({ Project: PROJECT_NAME, Environment: "test", Owner: "me", CostCenter: "lab" });
    });

    it("fails with the schema's message on a bad value", () => {
      set({ owner: "me", costCenter: "lab", lab: "true", syntheticsRateMinutes: "0" });
      expect(() => readPipelineConfig()).to.throw(
        /^config media-pipeline:syntheticsRateMinutes must be a whole number from 1 to 60, got 0$/,
      );
    });
  });
});
