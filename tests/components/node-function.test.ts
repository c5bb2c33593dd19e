import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { lambdaRuntimeStatements } from "../../components/iam";
import { createNodeFunction, type NodeFunctionArgs } from "../../components/node-function";
import { ENV, METRICS_NAMESPACE } from "../../lib/runtime-env";
import { policyOf, settled, startMocks, statement, T, testCode } from "./helpers";

function args(overrides: Partial<NodeFunctionArgs> = {}): NodeFunctionArgs {
  return {
    code: testCode(),
    architecture: "arm64",
    memoryMb: 512,
    timeoutSeconds: 30,
    serviceName: "owner-worker",
    environment: { TABLE_NAME: "docs", LIST_SHARDS: pulumi.output("4") },
    logRetentionDays: 14,
    roleDescription: "test function: reads the table",
    statements: (logGroupArn) => [
      { Sid: "ReadTable", Effect: "Allow", Action: "dynamodb:GetItem", Resource: "arn:aws:dynamodb:::table/docs" },
      ...lambdaRuntimeStatements(logGroupArn),
    ],
    ...overrides,
  };
}

describe("createNodeFunction", () => {
  beforeEach(startMocks);

  it("makes the log group, role, role policy and function, named for the function, children of the caller", async () => {
    const owner = new pulumi.ComponentResource("test:index:Owner", "owner");
    const made = createNodeFunction("owner-worker", args(), owner);
    const res = await settled();
    const parent = res.one("test:index:Owner").urn;
    const logGroup = res.one(T.logGroup);
    const role = res.one(T.role);
    const rolePolicy = res.one(T.rolePolicy);
    const fn = res.one(T.function);
    expect([logGroup, role, rolePolicy, fn].map((r) => [r.name, r.parent])).to.deep.equal([
      ["owner-worker-logs", parent],
      ["owner-worker-role", parent],
      ["owner-worker-policy", parent],
      ["owner-worker", parent],
    ]);
    expect(await new Promise((r) => made.function.urn.apply(r))).to.equal(fn.urn);

    expect(logGroup.inputs).to.deep.equal({ namePrefix: "/aws/lambda/owner-worker-", retentionInDays: 14 });
    expect(JSON.parse(role.inputs.assumeRolePolicy as string).Statement).to.deep.equal([
      { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
    expect(role.inputs.description).to.equal("test function: reads the table");
    expect(rolePolicy.inputs.role).to.equal(role.state.name);
    const policy = policyOf(rolePolicy);
    expect(policy.Statement.map((s) => s.Sid)).to.deep.equal(["ReadTable", "WriteOwnLogGroup", "SendTraces"]);
    expect(statement(policy, "WriteOwnLogGroup").Resource).to.equal(`${logGroup.state.arn}:*`);

    expect(fn.inputs).to.deep.include({
      runtime: "nodejs22.x",
      handler: "index.handler",
      role: role.state.arn,
      memorySize: 512,
      timeout: 30,
    });
    expect(fn.inputs.architectures).to.deep.equal(["arm64"]);
    expect(fn.inputs.tracingConfig).to.deep.equal({ mode: "Active" });
    expect(fn.inputs.loggingConfig).to.deep.equal({
      logFormat: "JSON",
      logGroup: logGroup.state.name,
      applicationLogLevel: "INFO",
    });
    // Its own variables, and where Powertools publishes its logs' service and EMF metrics.
    expect(fn.inputs.environment).to.deep.equal({
      variables: {
        TABLE_NAME: "docs",
        LIST_SHARDS: "4",
        [ENV.serviceName]: "owner-worker",
        [ENV.metricsNamespace]: METRICS_NAMESPACE,
      },
    });
    // The grants and the log group exist before the first invocation.
    expect(fn.dependencies).to.include.members([rolePolicy.urn, logGroup.urn]);
  });

  it("sets layers, description and reserved concurrency only when given", async () => {
    const owner = new pulumi.ComponentResource("test:index:Owner", "owner");
    createNodeFunction("plain", args(), owner);
    createNodeFunction(
      "full",
      args({
        layers: ["arn:aws:lambda:us-east-1:123456789012:layer:ffprobe:3"],
        description: "d",
        reservedConcurrency: 2,
      }),
      owner,
    );
    const res = await settled();
    const plain = res.one(T.function, "plain").inputs;
    for (const key of ["layers", "description", "reservedConcurrentExecutions"])
      expect(plain, key).to.not.have.property(key);
    expect(res.one(T.function, "full").inputs).to.deep.include({
      layers: ["arn:aws:lambda:us-east-1:123456789012:layer:ffprobe:3"],
      description: "d",
      reservedConcurrentExecutions: 2,
    });
  });

  it("leaves tracing off when asked, and the kill switch's fields to the kill switch when paused by it", async () => {
    const owner = new pulumi.ComponentResource("test:index:Owner", "owner");
    createNodeFunction("untraced", args({ tracing: false }), owner);
    createNodeFunction("pausable", args({ pausedByKillSwitch: true }), owner);
    const res = await settled();
    const untraced = res.one(T.function, "untraced");
    const pausable = res.one(T.function, "pausable");
    expect(untraced.inputs).to.not.have.property("tracingConfig");
    expect(untraced.options?.ignoreChanges).to.deep.equal([]);
    expect(pausable.inputs.tracingConfig).to.deep.equal({ mode: "Active" });
    expect(pausable.options?.ignoreChanges).to.deep.equal(["reservedConcurrentExecutions"]);
  });
});
