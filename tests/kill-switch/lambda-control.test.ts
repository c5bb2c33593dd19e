import { GetFunctionCommand } from "@aws-sdk/client-lambda";
import { expect } from "chai";
import {
  createLambdaPipelineControl,
  type LambdaPipelineControlOptions,
  PAUSE_TAGS,
  toTagValue,
} from "../../handlers/kill-switch/lambda-control";
import { type PipelineControl, PipelineControlError } from "../../lib/pipeline-control";
import { API, arnOf, EXTRACTOR, type FakeFunction, type FakeLambda, fakeLambda, MAPPING_UUID } from "./fake-lambda";

const AT = new Date("2026-03-14T06:15:00.000Z");
const ALL_TAG_KEYS = [PAUSE_TAGS.pausedAt, PAUSE_TAGS.reason, PAUSE_TAGS.previousConcurrency];

/** The state a kill-switch pause leaves: extractor had 5 reserved, the API none. */
function pausedFunctions(): Record<string, FakeFunction> {
  const marks = { [PAUSE_TAGS.pausedAt]: AT.toISOString(), [PAUSE_TAGS.reason]: "budget over" };
  return {
    [EXTRACTOR]: { reserved: 0, tags: { Project: "media-pipeline", ...marks, [PAUSE_TAGS.previousConcurrency]: "5" } },
    [API]: { reserved: 0, tags: { Project: "media-pipeline", ...marks } },
  };
}

describe("kill switch: Lambda pipeline control (pause, resume, status)", () => {
  let fake: FakeLambda;
  let sleeps: number;

  function control(options: Partial<LambdaPipelineControlOptions> = {}): PipelineControl {
    return createLambdaPipelineControl({
      lambda: fake.client,
      functions: [EXTRACTOR, API],
      eventSourceMappingUuid: MAPPING_UUID,
      sleep: async () => {
        sleeps += 1;
      },
      ...options,
    });
  }

  beforeEach(() => {
    sleeps = 0;
  });
  afterEach(() => fake.mock.restore());

  describe("resume", () => {
    it("restores the remembered concurrency, deletes the limit that was not there, untags, then enables the mapping", async () => {
      fake = fakeLambda({ functions: pausedFunctions(), mappingState: "Disabled" });
      const result = await control().resume();
      expect(fake.writes()).to.deep.equal([
        ["PutFunctionConcurrency", { FunctionName: EXTRACTOR, ReservedConcurrentExecutions: 5 }],
        ["UntagResource", { Resource: arnOf(EXTRACTOR), TagKeys: ALL_TAG_KEYS }],
        ["DeleteFunctionConcurrency", { FunctionName: API }],
        ["UntagResource", { Resource: arnOf(API), TagKeys: ALL_TAG_KEYS }],
        ["UpdateEventSourceMapping", { UUID: MAPPING_UUID, Enabled: true }],
      ]);
      expect(result.wasRunning).to.equal(false);
      expect(result.status.state).to.equal("running");
      expect(fake.functions.get(EXTRACTOR)).to.deep.equal({ reserved: 5, tags: { Project: "media-pipeline" } });
      expect(fake.functions.get(API)).to.deep.equal({ reserved: undefined, tags: { Project: "media-pipeline" } });
    });

    it("does nothing when the pipeline is not paused", async () => {
      fake = fakeLambda({ functions: { [EXTRACTOR]: { reserved: 5, tags: {} }, [API]: { tags: {} } } });
      const result = await control().resume();
      expect(fake.writes()).to.deep.equal([]);
      expect(result).to.deep.include({ wasRunning: true, changes: [] });
    });

    it("is idempotent: a second resume changes nothing", async () => {
      fake = fakeLambda({ functions: pausedFunctions(), mappingState: "Disabled" });
      await control().resume();
      fake.mock.resetHistory();
      const again = await control().resume();
      expect(fake.writes()).to.deep.equal([]);
      expect(again.wasRunning).to.equal(true);
    });

    it("leaves a function it did not pause alone, even at concurrency 0", async () => {
      fake = fakeLambda({ functions: { [EXTRACTOR]: { reserved: 0, tags: {} }, [API]: { tags: {} } } });
      await control().resume();
      expect(fake.writes()).to.deep.equal([]);
      expect(fake.functions.get(EXTRACTOR)?.reserved).to.equal(0);
    });

    it("refuses to guess when the remembered concurrency is not a number", async () => {
      const functions = pausedFunctions();
      functions[EXTRACTOR].tags[PAUSE_TAGS.previousConcurrency] = "five";
      fake = fakeLambda({ functions, mappingState: "Disabled" });
      const error = await control()
        .resume()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).to.be.instanceOf(PipelineControlError);
      expect(error).to.include({ part: EXTRACTOR, transient: false });
      expect((error as Error).message).to.contain('tag media-pipeline:previous-concurrency is "five"');
      expect(fake.writes()).to.deep.equal([]); // and the mapping stays disabled
    });
  });

  describe("pause", () => {
    it("round trip: pause then resume gives back exactly the original functions and mapping", async () => {
      const original = { [EXTRACTOR]: { reserved: 5, tags: { Project: "media-pipeline" } }, [API]: { tags: {} } };
      fake = fakeLambda({ functions: structuredClone(original) });
      const paused = await control().pause("budget over", AT);
      expect(paused.status.state).to.equal("paused");
      await control().resume();
      expect(Object.fromEntries(fake.functions)).to.deep.equal({
        [EXTRACTOR]: { reserved: 5, tags: { Project: "media-pipeline" } },
        [API]: { reserved: undefined, tags: {} },
      });
      expect(fake.mapping.state).to.equal("Enabling");
    });

    it("waits until the mapping is Disabled before throttling any function", async () => {
      fake = fakeLambda({ settleAfterReads: 3 });
      await control().pause("budget over", AT);
      const names = fake.sent().map(([name]) => name);
      const firstPut = names.indexOf("PutFunctionConcurrency");
      expect(names.lastIndexOf("GetEventSourceMapping")).to.be.lessThan(firstPut);
      // The initial read, three polls that still see Disabling, one that sees Disabled.
      expect(names.filter((n) => n === "GetEventSourceMapping")).to.have.length(5);
      expect(sleeps).to.equal(4);
    });

    it("throttles anyway, and says so, when the mapping does not settle in time", async () => {
      fake = fakeLambda({ settleAfterReads: 100 });
      const result = await control({ mappingSettleMs: 0 }).pause("budget over", AT);
      expect(result.changes).to.include(
        `event source mapping ${MAPPING_UUID}: still Disabling after 0 ms; throttling anyway`,
      );
      expect(fake.functions.get(EXTRACTOR)?.reserved).to.equal(0);
    });

    it("remembers a concurrency of 0 set by hand before the pause, without a needless PutFunctionConcurrency", async () => {
      fake = fakeLambda({ functions: { [EXTRACTOR]: { reserved: 0, tags: {} }, [API]: { reserved: 2, tags: {} } } });
      await control().pause("budget over", AT);
      expect(fake.writes().filter(([n]) => n === "PutFunctionConcurrency")).to.deep.equal([
        ["PutFunctionConcurrency", { FunctionName: API, ReservedConcurrentExecutions: 0 }],
      ]);
      expect(fake.functions.get(EXTRACTOR)?.tags[PAUSE_TAGS.previousConcurrency]).to.equal("0");
    });

    it("drops a stray previous-concurrency tag from an unreserved function before pausing it", async () => {
      fake = fakeLambda({
        functions: { [EXTRACTOR]: { tags: { [PAUSE_TAGS.previousConcurrency]: "7" } }, [API]: { tags: {} } },
        mappingState: "Disabled",
      });
      await control().pause("budget over", AT);
      expect(fake.writes().slice(0, 3)).to.deep.equal([
        ["UntagResource", { Resource: arnOf(EXTRACTOR), TagKeys: [PAUSE_TAGS.previousConcurrency] }],
        [
          "TagResource",
          {
            Resource: arnOf(EXTRACTOR),
            Tags: { [PAUSE_TAGS.pausedAt]: AT.toISOString(), [PAUSE_TAGS.reason]: "budget over" },
          },
        ],
        ["PutFunctionConcurrency", { FunctionName: EXTRACTOR, ReservedConcurrentExecutions: 0 }],
      ]);
      await control().resume();
      expect(fake.functions.get(EXTRACTOR)?.reserved).to.equal(undefined);
    });

    it("re-disables a mapping enabled by hand while the functions stay paused, without re-tagging them", async () => {
      fake = fakeLambda({ functions: pausedFunctions(), mappingState: "Enabled" });
      const result = await control().pause("second alert", new Date("2026-03-20T00:00:00Z"));
      expect(fake.writes()).to.deep.equal([["UpdateEventSourceMapping", { UUID: MAPPING_UUID, Enabled: false }]]);
      expect(result.status.reason).to.equal("budget over");
      expect(result.status.pausedAt?.toISOString()).to.equal(AT.toISOString());
    });

    it("names the mapping, and calls it permanent, when the UUID does not exist", async () => {
      fake = fakeLambda({});
      const error = await control({ eventSourceMappingUuid: "00000000-0000-0000-0000-000000000000" })
        .pause("budget over", AT)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).to.include({ transient: false, part: "event source mapping 00000000-0000-0000-0000-000000000000" });
      expect((error as Error).message).to.contain("GetEventSourceMapping on event source mapping 00000000");
      expect(fake.writes()).to.deep.equal([]);
    });

    it("refuses to act on a function whose tags it cannot read (no lambda:ListTags)", async () => {
      fake = fakeLambda({ mappingState: "Disabled" });
      fake.mock.on(GetFunctionCommand).resolves({
        Configuration: { FunctionName: EXTRACTOR, FunctionArn: arnOf(EXTRACTOR) },
        TagsError: { ErrorCode: "AccessDeniedException", Message: "not authorized to perform: lambda:ListTags" },
      });
      const error = await control()
        .pause("budget over", AT)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).to.include({ transient: false, part: EXTRACTOR });
      expect((error as Error).message).to.contain("lambda:ListTags is required");
      expect(fake.writes()).to.deep.equal([]);
    });
  });

  describe("status", () => {
    it("reports paused, since when and why", async () => {
      fake = fakeLambda({ functions: pausedFunctions(), mappingState: "Disabled" });
      const status = await control().status();
      expect(status.state).to.equal("paused");
      expect(status.pausedAt?.toISOString()).to.equal(AT.toISOString());
      expect(status.reason).to.equal("budget over");
      expect(status.parts.map((p) => p.name)).to.deep.equal([`event source mapping ${MAPPING_UUID}`, EXTRACTOR, API]);
      expect(status.parts[1].detail).to.equal("reserved concurrency 0, paused (resume restores 5)");
      expect(fake.writes()).to.deep.equal([]);
    });

    it("reports partial when someone re-enabled the mapping by hand", async () => {
      fake = fakeLambda({ functions: pausedFunctions(), mappingState: "Enabled" });
      expect((await control().status()).state).to.equal("partial");
    });

    it("reports running for an untouched pipeline", async () => {
      fake = fakeLambda({});
      const status = await control().status();
      expect(status).to.deep.include({ state: "running", pausedAt: undefined, reason: undefined });
    });
  });
});

describe("kill switch: pause tags", () => {
  it("makes tag values Lambda accepts: allowed characters only, at most 256", () => {
    expect(toTagValue('budget "prod" ACTUAL at 104.17% of $100')).to.equal("budget prod ACTUAL at 104.17 pct of 100");
    expect(toTagValue("x".repeat(300))).to.have.length(256);
    expect(toTagValue("a:b/c=d+e-f@g_h.i")).to.equal("a:b/c=d+e-f@g_h.i");
  });
});
