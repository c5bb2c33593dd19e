import { expect } from "chai";
import { PAUSE_TAGS } from "../../handlers/kill-switch/lambda-control";
import { main, type PulumiRunner, STACK_OUTPUTS } from "../../tools/resume";
import { API, EXTRACTOR, type FakeLambda, fakeLambda, MAPPING_UUID } from "./fake-lambda";

const PAUSED_AT = "2026-03-14T06:15:00.000Z";
const FLAGS = ["--extractor-function", EXTRACTOR, "--api-function", API, "--event-source-mapping", MAPPING_UUID];

function pausedFake(): FakeLambda {
  const marks = { [PAUSE_TAGS.pausedAt]: PAUSED_AT, [PAUSE_TAGS.reason]: "budget prod ACTUAL at 104 pct" };
  return fakeLambda({
    functions: {
      [EXTRACTOR]: { reserved: 0, tags: { ...marks, [PAUSE_TAGS.previousConcurrency]: "5" } },
      [API]: { reserved: 0, tags: { ...marks } },
    },
    mappingState: "Disabled",
  });
}

describe("kill switch: npm run resume", () => {
  let fake: FakeLambda | undefined;
  let out: string[];
  let err: string[];
  let pulumiCalls: string[][];

  const noPulumi: PulumiRunner = async (args) => {
    pulumiCalls.push(args);
    return undefined;
  };

  function run(argv: string[], pulumi: PulumiRunner = noPulumi): Promise<number> {
    return main(argv, {
      pulumi,
      lambda: () => {
        if (!fake) throw new Error("test set up no fake Lambda");
        return fake.client;
      },
      out: (l) => out.push(l),
      err: (l) => err.push(l),
    });
  }

  beforeEach(() => {
    out = [];
    err = [];
    pulumiCalls = [];
  });
  afterEach(() => {
    fake?.mock.restore();
    fake = undefined;
  });

  it("--help names the stack-output route and the explicit flags for machines without Pulumi", async () => {
    expect(await run(["--help"])).to.equal(0);
    const help = out.join("\n");
    for (const flag of ["--stack", "--extractor-function", "--api-function", "--event-source-mapping", "--status"]) {
      expect(help).to.contain(flag);
    }
    expect(help).to.contain("Pulumi CLI is not installed");
  });

  it("with explicit flags: restores concurrency, re-enables the mapping and prints what changed", async () => {
    fake = pausedFake();
    expect(await run(FLAGS)).to.equal(0);
    expect(fake.functions.get(EXTRACTOR)).to.deep.equal({ reserved: 5, tags: {} });
    expect(fake.functions.get(API)).to.deep.equal({ reserved: undefined, tags: {} });
    expect(fake.mapping.state).to.equal("Enabling");
    expect(out).to.include(`resumed: ${EXTRACTOR}: reserved concurrency 5 restored`);
    expect(out).to.include(`resumed: event source mapping ${MAPPING_UUID}: enabled (was Disabled)`);
    expect(out.join("\n")).to.contain("pipeline: running");
    expect(pulumiCalls).to.deep.equal([]); // all three names given: Pulumi is not asked
  });

  it("run twice: the second run changes nothing and says so", async () => {
    fake = pausedFake();
    await run(FLAGS);
    fake.mock.resetHistory();
    out = [];
    expect(await run(FLAGS)).to.equal(0);
    expect(fake.writes()).to.deep.equal([]);
    expect(out[0]).to.equal("nothing to resume: the pipeline was not paused; nothing changed");
  });

  it("--stack reads the names from `pulumi stack output --json`", async () => {
    fake = pausedFake();
    const pulumi: PulumiRunner = async (args) => {
      pulumiCalls.push(args);
      return JSON.stringify({
        [STACK_OUTPUTS.extractorFunction]: EXTRACTOR,
        [STACK_OUTPUTS.apiFunction]: API,
        [STACK_OUTPUTS.eventSourceMapping]: MAPPING_UUID,
        apiUrl: "https://example.execute-api.us-east-1.amazonaws.com",
      });
    };
    expect(await run(["--stack", "prod"], pulumi)).to.equal(0);
    expect(pulumiCalls).to.deep.equal([["stack", "output", "--json", "--stack", "prod"]]);
    const asked = fake
      .sent()
      .filter(([n]) => n === "GetFunction")
      .map(([, input]) => input.FunctionName);
    expect(asked).to.include.members([EXTRACTOR, API]);
    expect(fake.mapping.state).to.equal("Enabling");
  });

  it("--stack also resumes the backfill function when the stack exports it", async () => {
    const marks = { [PAUSE_TAGS.pausedAt]: PAUSED_AT, [PAUSE_TAGS.reason]: "budget prod ACTUAL at 104 pct" };
    fake = fakeLambda({
      functions: {
        [EXTRACTOR]: { reserved: 0, tags: { ...marks, [PAUSE_TAGS.previousConcurrency]: "5" } },
        "mp-prod-backfill-1": { reserved: 0, tags: { ...marks } },
        [API]: { reserved: 0, tags: { ...marks } },
      },
      mappingState: "Disabled",
    });
    const pulumi: PulumiRunner = async () =>
      JSON.stringify({
        [STACK_OUTPUTS.extractorFunction]: EXTRACTOR,
        [STACK_OUTPUTS.apiFunction]: API,
        [STACK_OUTPUTS.eventSourceMapping]: MAPPING_UUID,
        [STACK_OUTPUTS.backfillFunction]: "mp-prod-backfill-1",
      });
    expect(await run(["--stack", "prod"], pulumi)).to.equal(0);
    expect(fake.functions.get("mp-prod-backfill-1")).to.deep.equal({ reserved: undefined, tags: {} });
    expect(fake.functions.get(EXTRACTOR)?.reserved).to.equal(5);
  });

  it("--stack without the Pulumi CLI fails with usage (2), naming the flags to use, and calls no AWS API", async () => {
    fake = pausedFake();
    expect(await run(["--stack", "prod"])).to.equal(2);
    expect(err[0]).to.equal(
      "resume: the pulumi CLI is not installed; pass --extractor-function, --api-function, --event-source-mapping instead (npm run resume -- --help)",
    );
    expect(fake.sent()).to.deep.equal([]);
  });

  it("--stack whose outputs lack a name says which output is missing", async () => {
    const pulumi: PulumiRunner = async () => JSON.stringify({ [STACK_OUTPUTS.extractorFunction]: EXTRACTOR });
    expect(await run(["--stack", "dev", "--api-function", API], pulumi)).to.equal(2);
    expect(err[0]).to.equal(
      `resume: stack dev has no output ${STACK_OUTPUTS.eventSourceMapping}; pass --event-source-mapping (npm run resume -- --help)`,
    );
  });

  it("--status prints paused, since when and why, and changes nothing", async () => {
    fake = pausedFake();
    expect(await run([...FLAGS, "--status"])).to.equal(0);
    const lines = out.join("\n").split("\n");
    expect(lines[0]).to.equal(`pipeline: PAUSED since ${PAUSED_AT} (budget prod ACTUAL at 104 pct)`);
    expect(lines).to.include(`  paused   ${EXTRACTOR}: reserved concurrency 0, paused (resume restores 5)`);
    expect(lines).to.include(`  paused   event source mapping ${MAPPING_UUID}: state Disabled`);
    expect(fake.writes()).to.deep.equal([]);
  });

  it("no target, or an unknown flag, is a usage error (2)", async () => {
    expect(await run([])).to.equal(2);
    expect(err[0]).to.contain("give --stack NAME");
    err = [];
    expect(await run(["--stak", "prod"])).to.equal(2);
    expect(err[0]).to.contain("--stak");
  });

  it("an AWS failure exits 1 with the resource and the cause", async () => {
    fake = pausedFake();
    expect(
      await run([
        "--extractor-function",
        "mp-prod-missing",
        "--api-function",
        API,
        "--event-source-mapping",
        MAPPING_UUID,
      ]),
    ).to.equal(1);
    expect(err[0]).to.contain("GetFunction on mp-prod-missing failed");
    expect(err[0]).to.contain("Function not found");
  });
});
