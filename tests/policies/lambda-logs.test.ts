import { expect } from "chai";
import { lambdaLogRetention } from "../../policies/lambda-logs";
import { dependsThrough, LAB_STACK, res, runStack, UNKNOWN_STRING, unknownValue } from "./harness";

const FUNCTION = "aws:lambda/function:Function";
const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";

describe("policies: lambda-log-retention", () => {
  it("passes a function whose /aws/lambda/<name> group keeps logs within the limit", async () => {
    const fn = res(FUNCTION, "api", { name: "api-123" });
    const group = res(LOG_GROUP, "api-logs", { name: "/aws/lambda/api-123", retentionInDays: 14 });
    expect((await runStack(lambdaLogRetention, [fn, group])).messages).to.deep.equal([]);
  });

  it("passes a function logging to the group its loggingConfig names, known only through dependencies in preview", async () => {
    const group = res(LOG_GROUP, "x-logs", { name: UNKNOWN_STRING, namePrefix: "/aws/lambda/x-", retentionInDays: 7 });
    const fn = dependsThrough(
      res(FUNCTION, "x", { name: "x-1", loggingConfig: { logFormat: "JSON", logGroup: UNKNOWN_STRING } }),
      "loggingConfig",
      group,
    );
    expect((await runStack(lambdaLogRetention, [group, fn])).messages).to.deep.equal([]);
  });

  it("reports a function with no declared log group (mandatory by default)", async () => {
    const out = await runStack(lambdaLogRetention, [res(FUNCTION, "worker", { name: "worker-9" })]);
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.messages).to.deep.equal([
      "function worker (aws:lambda/function:Function) logs to /aws/lambda/worker-9, which this stack does not declare, " +
        "so Lambda creates it with unlimited retention (and `pulumi destroy` leaves it); declare an " +
        "aws.cloudwatch.LogGroup named /aws/lambda/worker-9 (or pass a declared group in loggingConfig.logGroup) with " +
        "retentionInDays <= 365.",
    ]);
  });

  it("reports a group that never expires or keeps logs too long; the limit follows the stack profile", async () => {
    const fn = res(FUNCTION, "api", { name: "api-1" });
    const never = res(LOG_GROUP, "g", { name: "/aws/lambda/api-1" });
    expect((await runStack(lambdaLogRetention, [fn, never])).messages).to.deep.equal([
      "log group g (aws:cloudwatch/logGroup:LogGroup) of function api never expires; set retentionInDays <= 365.",
    ]);
    const long = res(LOG_GROUP, "g", { name: "/aws/lambda/api-1", retentionInDays: 90 });
    expect((await runStack(lambdaLogRetention, [fn, long])).messages).to.deep.equal([]);
    const lab = await runStack(lambdaLogRetention, [fn, long], { stackConfig: LAB_STACK });
    expect(lab.messages).to.deep.equal([
      "log group g (aws:cloudwatch/logGroup:LogGroup) of function api keeps logs 90 days; the limit is 14.",
    ]);
    const configured = await runStack(lambdaLogRetention, [fn, long], { config: { maxRetentionDays: 30 } });
    expect(configured.messages[0]).to.contain("the limit is 30");
  });

  // Class: a custom log group not declared in the stack was only advised about.
  it("refuses a custom log group the stack does not declare (Lambda creates it with unlimited retention)", async () => {
    const fn = res(FUNCTION, "api", {
      name: "api-1",
      loggingConfig: { logFormat: "JSON", logGroup: "/shared/lambda" },
    });
    const out = await runStack(lambdaLogRetention, [fn]);
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.messages[0]).to.contain(
      "logs to /shared/lambda, which this stack does not declare, so Lambda creates it",
    );
  });

  it("fair use: a group managed by another stack passes with a named exception, which is then used", async () => {
    const fn = res(FUNCTION, "api", {
      name: "api-1",
      loggingConfig: { logFormat: "JSON", logGroup: "/shared/lambda" },
    });
    const config = {
      exceptions: [{ resource: "api", reason: "PLAT-9: /shared/lambda is owned by the platform stack (30 days)" }],
    };
    expect((await runStack(lambdaLogRetention, [fn], { config })).messages).to.deep.equal([]);
  });

  // Class: when the group could not be identified, a single log group in plain dependsOn was taken.
  it("does not take a log group in plain dependsOn for the function's group", async () => {
    const unrelated = res(LOG_GROUP, "audit", { name: "/audit", retentionInDays: 7 });
    const fn = {
      ...res(FUNCTION, "api", { name: "api-1", loggingConfig: unknownValue("object") }),
      dependencies: [unrelated.urn as string],
    };
    const out = await runStack(lambdaLogRetention, [unrelated, fn]);
    expect(out.messages).to.have.length(1);
    expect(out.messages[0]).to.contain("logs to /aws/lambda/api-1, which this stack does not declare");
  });

  it("refuses a group named from something that is not a log group of the stack", async () => {
    const random = res("random:index/randomId:RandomId", "suffix", { hex: UNKNOWN_STRING });
    const fn = dependsThrough(
      res(FUNCTION, "api", { name: "api-1", loggingConfig: { logFormat: "JSON", logGroup: UNKNOWN_STRING } }),
      "loggingConfig",
      random,
    );
    const out = await runStack(lambdaLogRetention, [random, fn]);
    expect(out.messages[0]).to.contain("logs to a group named from suffix (random:index/randomId:RandomId)");
  });

  // Unverified claim of the issue, both shapes: preview (loggingConfig unknown, the provider computes
  // it) and update (AWS reports loggingConfig.logGroup = /aws/lambda/<name> although the program set none).
  describe("preview and update shapes of a function that sets no loggingConfig", () => {
    const group = res(LOG_GROUP, "api-logs", { name: "/aws/lambda/api-1", retentionInDays: 14 });
    const preview = res(FUNCTION, "api", { name: "api-1", loggingConfig: unknownValue("object") });
    const previewField = res(FUNCTION, "api", {
      name: "api-1",
      loggingConfig: { logFormat: "Text", logGroup: UNKNOWN_STRING },
    });
    const update = res(FUNCTION, "api", {
      name: "api-1",
      loggingConfig: { logFormat: "Text", logGroup: "/aws/lambda/api-1" },
    });

    for (const [shape, fn] of [
      ["preview (loggingConfig unknown)", preview],
      ["preview (logGroup unknown)", previewField],
      ["update (AWS reports the default group)", update],
    ] as const) {
      it(`${shape}: passes with the declared /aws/lambda/<name> group`, async () => {
        expect((await runStack(lambdaLogRetention, [group, fn])).messages).to.deep.equal([]);
      });
      it(`${shape}: refuses without it`, async () => {
        const out = await runStack(lambdaLogRetention, [fn]);
        expect(out.messages).to.have.length(1);
        expect(out.messages[0]).to.contain("logs to /aws/lambda/api-1, which this stack does not declare");
      });
      it(`${shape}: refuses it when it keeps logs too long`, async () => {
        const long = { ...group, props: { ...group.props, retentionInDays: 3653 } };
        expect((await runStack(lambdaLogRetention, [long, fn])).messages[0]).to.contain("keeps logs 3653 days");
      });
    }
  });
});
