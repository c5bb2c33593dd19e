import { expect } from "chai";
import { lambdaLogRetention } from "../../policies/lambda-logs";
import { dependsThrough, res, runStack, UNKNOWN_STRING } from "./harness";

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

  it("reports a function with no declared log group", async () => {
    const out = await runStack(lambdaLogRetention, [res(FUNCTION, "worker", { name: "worker-9" })]);
    expect(out.levels).to.deep.equal(["advisory"]);
    expect(out.messages).to.deep.equal([
      "function worker (aws:lambda/function:Function) has no log group declared, so Lambda creates /aws/lambda/worker-9 " +
        "with unlimited retention; declare an aws.cloudwatch.LogGroup named /aws/lambda/worker-9 (or set " +
        "loggingConfig.logGroup) with retentionInDays <= 30.",
    ]);
  });

  it("reports a group that never expires or keeps logs too long", async () => {
    const fn = res(FUNCTION, "api", { name: "api-1" });
    const never = res(LOG_GROUP, "g", { name: "/aws/lambda/api-1" });
    expect((await runStack(lambdaLogRetention, [fn, never])).messages).to.deep.equal([
      "log group g (aws:cloudwatch/logGroup:LogGroup) of function api never expires; set retentionInDays <= 30.",
    ]);
    const long = res(LOG_GROUP, "g", { name: "/aws/lambda/api-1", retentionInDays: 90 });
    const out = await runStack(lambdaLogRetention, [fn, long], {
      enforcementLevel: "mandatory",
      config: { maxRetentionDays: 14 },
    });
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.messages).to.deep.equal([
      "log group g (aws:cloudwatch/logGroup:LogGroup) of function api keeps logs 90 days; the limit is 14.",
    ]);
  });

  it("flags, as an advisory, a log group outside the stack it cannot check", async () => {
    const fn = res(FUNCTION, "api", {
      name: "api-1",
      loggingConfig: { logFormat: "JSON", logGroup: "/shared/lambda" },
    });
    const out = await runStack(lambdaLogRetention, [fn], { enforcementLevel: "mandatory" });
    expect(out.levels).to.deep.equal(["advisory"]);
    expect(out.messages[0]).to.contain("logs to /shared/lambda, which this stack does not declare");
  });
});
