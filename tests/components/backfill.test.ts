import { expect } from "chai";
import {
  BACKFILL_ITEMS_FAILED,
  BACKFILL_RESULTS_PREFIX,
  Backfill,
  type BackfillArgs,
  backfillDefinition,
  childExecutionsArn,
  LAMBDA_TRANSIENT_ERRORS,
} from "../../components/backfill";
import { FfprobeLayer } from "../../components/ffprobe-layer";
import { MediaPipeline } from "../../components/media-pipeline";
import { FFPROBE_PIN } from "../../lib/ffprobe-pin";
import { ENV, METRICS_NAMESPACE } from "../../lib/runtime-env";
import { type AslMachine, type AslState, allStates, aslProblems } from "./asl";
import {
  fakeLayerZip,
  policyOf,
  type Resources,
  settled,
  startMocks,
  statement,
  T,
  testCode,
  testPipelineArgs,
} from "./helpers";

const INGEST = { name: "ingest-bucket", arn: "arn:aws:s3:::ingest-bucket" };
const METADATA = { name: "metadata-bucket", arn: "arn:aws:s3:::metadata-bucket" };
const TABLE = {
  name: "docs",
  arn: "arn:aws:dynamodb:us-east-1:123456789012:table/docs",
  listIndexArn: "arn:aws:dynamodb:us-east-1:123456789012:table/docs/index/byProcessedAt",
};

function backfillArgs(layer: FfprobeLayer, overrides: Partial<BackfillArgs> = {}): BackfillArgs {
  return {
    layer,
    ingestBucket: INGEST,
    metadataBucket: METADATA,
    table: TABLE,
    memoryMb: 1024,
    logRetentionDays: 14,
    code: testCode("backfill"),
    ...overrides,
  };
}

/** The deployed definition, parsed. */
function definitionOf(res: Resources): AslMachine {
  const sm = res.one(T.stateMachine);
  expect(sm.inputs.definition).to.be.a("string");
  return JSON.parse(sm.inputs.definition as string) as AslMachine;
}

function mapState(machine: AslMachine): [string, AslState] {
  const maps = Object.entries(machine.States).filter(([, s]) => s.Type === "Map");
  expect(maps, "one Map state").to.have.length(1);
  return maps[0] as [string, AslState];
}

describe("Backfill", () => {
  let layer: FfprobeLayer;
  beforeEach(async () => {
    await startMocks();
    layer = new FfprobeLayer("ffprobe", { architecture: "arm64", zipPath: fakeLayerZip("arm64") });
  });

  it("creates the function, its log group and role, and a STANDARD state machine with its role, all under the component", async () => {
    new Backfill("backfill", backfillArgs(layer));
    const res = await settled();
    const component = res.one(T.backfill);
    const children = res.childrenOf(component).map((r) => `${r.type} ${r.name}`);
    expect(children.sort()).to.deep.equal(
      [
        `${T.function} backfill`,
        `${T.logGroup} backfill-logs`,
        `${T.role} backfill-role`,
        `${T.rolePolicy} backfill-policy`,
        `${T.role} backfill-sfn-role`,
        `${T.rolePolicy} backfill-sfn-policy`,
        `${T.stateMachine} backfill-sfn`,
      ].sort(),
    );
    const sm = res.one(T.stateMachine);
    expect(sm.inputs.type).to.equal("STANDARD");
    expect(sm.inputs.roleArn).to.equal(res.one(T.role, "-sfn-role").state.arn);
    expect(
      JSON.parse(res.one(T.role, "-sfn-role").inputs.assumeRolePolicy as string).Statement[0].Principal,
    ).to.deep.equal({ Service: "states.amazonaws.com" });
  });

  it("runs the backfill handler on nodejs22.x with the ffprobe layer and the extractor's environment plus INGEST_BUCKET", async () => {
    new Backfill("backfill", backfillArgs(layer, { memoryMb: 2048 }));
    const res = await settled();
    const fn = res.one(T.function);
    expect(fn.inputs).to.deep.include({
      runtime: "nodejs22.x",
      handler: "index.handler",
      memorySize: 2048,
      timeout: 900,
    });
    expect(fn.inputs.architectures).to.deep.equal(["arm64"]);
    expect(fn.inputs.layers).to.deep.equal([res.one(T.layer).state.arn]);
    expect(fn.inputs.role).to.equal(res.one(T.role, "backfill-role").state.arn);
    expect(fn.inputs.reservedConcurrentExecutions, "the Map's MaxConcurrency caps it").to.equal(undefined);
    const logGroup = res.one(T.logGroup);
    expect(logGroup.inputs.retentionInDays).to.equal(14);
    expect(logGroup.inputs.namePrefix).to.equal("/aws/lambda/backfill-");
    expect(fn.inputs.loggingConfig).to.deep.include({ logFormat: "JSON", logGroup: logGroup.state.name });
    expect(fn.dependencies).to.include.members([res.one(T.rolePolicy, "backfill-policy").urn, logGroup.urn]);
    expect((fn.inputs.environment as { variables: Record<string, string> }).variables).to.deep.equal({
      [ENV.tableName]: "docs",
      [ENV.metadataBucket]: "metadata-bucket",
      [ENV.ingestBucket]: "ingest-bucket",
      [ENV.listShards]: "1",
      [ENV.ffprobePath]: FFPROBE_PIN.layerBinaryPath,
      [ENV.ffprobeSha256]: FFPROBE_PIN.binaries.arm64.sha256,
      [ENV.probeTimeoutMs]: "20000",
      [ENV.serviceName]: "backfill",
      [ENV.metricsNamespace]: METRICS_NAMESPACE,
    });
  });

  it("defines valid ASL: a Distributed Map listing the ingest bucket, batching to the backfill function, results to the metadata bucket", async () => {
    new Backfill(
      "backfill",
      backfillArgs(layer, { maxConcurrency: 25, batchSize: 40, toleratedFailurePercent: 3, itemConcurrency: 8 }),
    );
    const res = await settled();
    const machine = definitionOf(res);
    expect(aslProblems(machine)).to.deep.equal([]);
    const fnArn = res.one(T.function).state.arn as string;

    const [mapName, map] = mapState(machine);
    expect(map.Label).to.equal(mapName);
    expect(map.ItemReader).to.deep.equal({
      Resource: "arn:aws:states:::s3:listObjectsV2",
      Parameters: { Bucket: "ingest-bucket", "Prefix.$": "$.prefix" },
    });
    expect(map.ItemBatcher).to.deep.equal({
      MaxItemsPerBatch: 40,
      BatchInput: { bucket: "ingest-bucket", "onlyOutdated.$": "$.onlyOutdated", concurrency: 8 },
    });
    expect(map.MaxConcurrency).to.equal(25);
    expect(map.ToleratedFailurePercentage).to.equal(3);
    expect(map.ResultWriter).to.deep.equal({
      Resource: "arn:aws:states:::s3:putObject",
      Parameters: { Bucket: "metadata-bucket", Prefix: "backfill-results" },
    });
    const processor = map.ItemProcessor as AslMachine & { ProcessorConfig: unknown };
    expect(processor.ProcessorConfig).to.deep.equal({ Mode: "DISTRIBUTED", ExecutionType: "STANDARD" });

    const tasks = allStates(machine).filter(([, s]) => s.Type === "Task");
    expect(tasks).to.have.length(1);
    const [, task] = tasks[0] as [string, AslState];
    expect(task.Resource).to.equal("arn:aws:states:::lambda:invoke");
    expect(task.Parameters).to.deep.equal({ FunctionName: fnArn, "Payload.$": "$" });
    expect(task.OutputPath).to.equal("$.Payload");
    const retried = (task.Retry as { ErrorEquals: string[]; MaxAttempts: number }[]).flatMap((r) => r.ErrorEquals);
    expect(retried).to.include.members([...LAMBDA_TRANSIENT_ERRORS, BACKFILL_ITEMS_FAILED]);
    expect(retried, "throttles").to.include("Lambda.TooManyRequestsException");
  });

  it("takes the defaults: 10 children at a time, 100 objects a batch, 5% tolerated, 4 probes per invocation", async () => {
    new Backfill("backfill", backfillArgs(layer));
    const res = await settled();
    const [, map] = mapState(definitionOf(res));
    expect(map.MaxConcurrency).to.equal(10);
    expect((map.ItemBatcher as { MaxItemsPerBatch: number }).MaxItemsPerBatch).to.equal(72);
    expect(map.ToleratedFailurePercentage).to.equal(5);
    expect((map.ItemBatcher as { BatchInput: { concurrency: number } }).BatchInput.concurrency).to.equal(4);
  });

  it("refuses settings that cannot work", async () => {
    expect(() => new Backfill("b1", backfillArgs(layer, { maxConcurrency: 0 }))).to.throw(/max concurrency/);
    expect(() => new Backfill("b2", backfillArgs(layer, { batchSize: 1001 }))).to.throw(/batch size/);
    expect(() => new Backfill("b3", backfillArgs(layer, { toleratedFailurePercent: 101 }))).to.throw(/tolerated/);
    expect(() => new Backfill("b4", backfillArgs(layer, { logRetentionDays: 8 }))).to.throw(/retention/);
    // 400 objects, 4 at a time, 25 s each in the worst case: 2,500 s > 900 s.
    expect(() => new Backfill("b5", backfillArgs(layer, { batchSize: 400 }))).to.throw(/lower the batch size/);
    // 16 at a time needs the memory for 16 ffprobes at their limit (lib/probe-limits.ts): 1024 MB holds 2.
    expect(() => new Backfill("b6", backfillArgs(layer, { batchSize: 400, itemConcurrency: 16 }))).to.throw(
      /2 at a time/,
    );
    expect(
      () => new Backfill("b7", backfillArgs(layer, { batchSize: 200, itemConcurrency: 8, memoryMb: 3400 })),
    ).not.to.throw();
    expect(() => new Backfill("b8", backfillArgs(layer, { batchSize: 100 }))).to.throw(/lower the batch size/);
  });

  it("grants the state machine the Distributed Map's documented needs on exactly these resources", async () => {
    new Backfill("backfill", backfillArgs(layer));
    const res = await settled();
    const fnArn = res.one(T.function).state.arn as string;
    const smArn = res.one(T.stateMachine).state.arn as string;
    const policy = policyOf(res.one(T.rolePolicy, "-sfn-policy"));
    expect(res.one(T.rolePolicy, "-sfn-policy").inputs.role).to.equal(res.one(T.role, "-sfn-role").state.name);
    expect(statement(policy, "ListIngestBucket")).to.deep.include({ Action: "s3:ListBucket", Resource: INGEST.arn });
    expect(statement(policy, "InvokeBackfillFunction")).to.deep.include({
      Action: "lambda:InvokeFunction",
      Resource: [fnArn, `${fnArn}:*`],
    });
    expect(statement(policy, "WriteBackfillResults").Resource).to.equal(`${METADATA.arn}/${BACKFILL_RESULTS_PREFIX}*`);
    expect(statement(policy, "StartMapChildExecutions")).to.deep.include({
      Action: "states:StartExecution",
      Resource: smArn,
    });
    expect(statement(policy, "FollowMapChildExecutions").Resource).to.equal(childExecutionsArn(smArn));
    expect(smArn).to.match(/^arn:aws:states:us-east-1:123456789012:stateMachine:backfill-sfn-/);
  });

  it("grants the function what the batch handler does", async () => {
    new Backfill("backfill", backfillArgs(layer));
    const res = await settled();
    const policy = policyOf(res.one(T.rolePolicy, "backfill-policy"));
    expect(policy.Statement.map((s) => s.Sid)).to.deep.equal([
      "ReadIngestObjects",
      "SeeMissingIngestObjectsAs404",
      "WriteRawMetadata",
      "ReadAndWriteMetadataItems",
      "WriteOwnLogGroup",
      "SendTraces",
    ]);
    expect(statement(policy, "ReadAndWriteMetadataItems").Action).to.deep.equal([
      "dynamodb:BatchGetItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
    ]);
  });

  it("childExecutionsArn: the Map's child executions of a state machine", () => {
    expect(childExecutionsArn("arn:aws:states:eu-west-1:210987654321:stateMachine:mp-dev-backfill-sfn-1a2b")).to.equal(
      "arn:aws:states:eu-west-1:210987654321:execution:mp-dev-backfill-sfn-1a2b/*",
    );
    expect(() => childExecutionsArn("arn:aws:states:eu-west-1:1:stateMachine:x:alias")).to.throw(/unqualified/);
  });

  it("backfillDefinition: input checks fail fast on another bucket or malformed input, defaults fill the rest", () => {
    const machine = backfillDefinition({
      ingestBucketName: "ingest-bucket",
      metadataBucketName: "metadata-bucket",
      functionArn: "arn:aws:lambda:us-east-1:123456789012:function:backfill",
      maxConcurrency: 1,
      batchSize: 1,
      toleratedFailurePercent: 0,
      itemConcurrency: 1,
    }) as unknown as AslMachine;
    expect(aslProblems(machine)).to.deep.equal([]);
    const check = machine.States[machine.StartAt] as AslState & { Choices: { Next: string }[]; Default: string };
    expect(check.Type).to.equal("Choice");
    expect(check.Choices.map((c) => c.Next)).to.deep.equal(["WrongBucket", "InvalidInput", "InvalidInput"]);
    expect(JSON.stringify(check.Choices[0])).to.include('"StringEquals":"ingest-bucket"');
    expect(machine.States.WrongBucket).to.deep.include({ Type: "Fail", Error: "WrongBucket" });
    expect(machine.States.Defaults).to.deep.include({ Result: { prefix: "", onlyOutdated: false } });
    // aslProblems itself catches the mistakes it is for.
    const broken = structuredClone(machine) as AslMachine;
    (broken.States.Defaults as AslState).Next = "Nowhere";
    expect(aslProblems(broken)).to.deep.include(
      "MISSING_TRANSITION_TARGET: Missing 'StartAt'|'Next'|'Default' target: Nowhere",
    );
  });

  it("is part of MediaPipeline: the ingest and metadata buckets, the table and the layer of the stack", async () => {
    const pipeline = new MediaPipeline(
      "mp",
      testPipelineArgs({ backfillMaxConcurrency: 7, backfillBatchSize: 50, backfillToleratedFailurePercent: 2 }),
    );
    const res = await settled();
    const backfill = res.one(T.backfill);
    expect(res.ancestorsOf(backfill)[0]?.urn).to.equal(res.one(T.pipeline).urn);
    const bucket = (suffix: string) => res.oneUnder(res.one(T.mediaBucket, suffix), T.bucket).state;
    const machine = definitionOf(res);
    expect(aslProblems(machine)).to.deep.equal([]);
    const [, map] = mapState(machine);
    expect((map.ItemReader as { Parameters: { Bucket: string } }).Parameters.Bucket).to.equal(bucket("-ingest").bucket);
    expect((map.ResultWriter as { Parameters: { Bucket: string } }).Parameters.Bucket).to.equal(
      bucket("-metadata").bucket,
    );
    expect(map.MaxConcurrency).to.equal(7);
    expect(map.ToleratedFailurePercentage).to.equal(2);
    expect((map.ItemBatcher as { MaxItemsPerBatch: number }).MaxItemsPerBatch).to.equal(50);
    const fn = res.oneUnder(backfill, T.function);
    const [, task] = allStates(machine).find(([, s]) => s.Type === "Task") as [string, AslState];
    expect((task.Parameters as { FunctionName: string }).FunctionName).to.equal(fn.state.arn);
    expect(fn.inputs.layers).to.deep.equal([res.oneUnder(res.one(T.pipeline), T.layer).state.arn]);
    expect(fn.inputs.memorySize, "sized like the extractor").to.equal(1024);
    const sm = res.oneUnder(backfill, T.stateMachine);
    expect(await new Promise((resolve) => pipeline.backfillStateMachineArn.apply(resolve))).to.equal(sm.state.arn);
  });
});
