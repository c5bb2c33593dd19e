/**
 * tests/components/asl.ts: asl-validator refuses the definitions a hand-built state machine gets
 * wrong, so the tests that expect `aslProblems(...)` to be empty can fail.
 */
import { expect } from "chai";
import { type AslMachine, allStates, aslProblems } from "./asl";

/** A small valid machine: a Choice, a Distributed Map with a Task inside, a Fail and a Succeed. */
function valid(): AslMachine {
  return {
    StartAt: "Check",
    States: {
      Check: {
        Type: "Choice",
        Choices: [{ Variable: "$.bucket", StringEquals: "other", Next: "WrongBucket" }],
        Default: "Each",
      },
      WrongBucket: { Type: "Fail", Error: "WrongBucket", Cause: "not the ingest bucket" },
      Each: {
        Type: "Map",
        ItemReader: { Resource: "arn:aws:states:::s3:listObjectsV2", Parameters: { Bucket: "b", "Prefix.$": "$.p" } },
        ItemProcessor: {
          ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
          StartAt: "Work",
          States: {
            Work: {
              Type: "Task",
              Resource: "arn:aws:states:::lambda:invoke",
              Parameters: { FunctionName: "arn:aws:lambda:us-east-1:123456789012:function:f", "Payload.$": "$" },
              End: true,
            },
          },
        },
        Next: "Done",
      },
      Done: { Type: "Succeed" },
    },
  };
}

describe("ASL checks (asl-validator)", () => {
  it("accepts a valid machine, and leaves it as it was", () => {
    const machine = valid();
    expect(aslProblems(machine)).to.deep.equal([]);
    expect(machine).to.deep.equal(valid());
    expect(allStates(machine).map(([name]) => name)).to.deep.equal(["Check", "WrongBucket", "Each", "Work", "Done"]);
  });

  const broken: [string, (m: AslMachine) => void, RegExp][] = [
    [
      "a transition to a state that does not exist",
      (m) => Object.assign(m.States.Each, { Next: "Nowhere" }),
      /^MISSING_TRANSITION_TARGET: .*Nowhere/,
    ],
    ["StartAt naming no state", (m) => Object.assign(m, { StartAt: "Start" }), /^MISSING_TRANSITION_TARGET: .*Start/],
    [
      "a state with both Next and End",
      (m) => Object.assign(m.States.Each, { End: true }),
      /^TERMINAL_STATE_WITH_NEXT: /,
    ],
    ["a state that neither ends nor goes on", (m) => delete m.States.Each.Next, /^TERMINAL_STATE_WITH_NEXT: /],
    ["an unreachable state", (m) => Object.assign(m.States, { Orphan: { Type: "Pass", End: true } }), /not reachable/],
    ["an unknown state type", (m) => Object.assign(m.States.Done, { Type: "Finish" }), /^SCHEMA_VALIDATION_FAILED: /],
    [
      "a Map state without ItemProcessor",
      (m) => delete m.States.Each.ItemProcessor,
      /^(SCHEMA_VALIDATION_FAILED|MAP_ITEM_PROCESSOR): /,
    ],
    [
      "a transition out of a Map's processor",
      (m) => Object.assign((m.States.Each.ItemProcessor as AslMachine).States.Work, { End: undefined, Next: "Done" }),
      /MAP_OUTBOUND_TRANSITION_TARGET|MISSING_TRANSITION_TARGET|MISSING_TERMINAL_STATE/,
    ],
    [
      "a machine with no terminal state (a loop)",
      (m) =>
        Object.assign(m, {
          StartAt: "A",
          States: { A: { Type: "Pass", Next: "B" }, B: { Type: "Pass", Next: "A" } },
        }),
      /MISSING_TERMINAL_STATE/,
    ],
  ];
  for (const [what, breakIt, problem] of broken) {
    it(`refuses ${what}`, () => {
      const machine = valid();
      breakIt(machine);
      const problems = aslProblems(JSON.parse(JSON.stringify(machine)));
      expect(problems, JSON.stringify(problems)).to.not.be.empty;
      expect(problems.join("\n")).to.match(new RegExp(problem.source, "m"));
    });
  }
});
