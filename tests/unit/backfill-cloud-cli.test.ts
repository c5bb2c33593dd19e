/**
 * The cloud side of the operator tools, against aws-sdk-client-mock: `npm run reconcile --
 * --stack NAME` (S3 listing vs DynamoDB scan, --enqueue as S3-shaped events on SQS) and
 * `npm run backfill -- --stack NAME` (Step Functions StartExecution, then DescribeExecution /
 * ListMapRuns / DescribeMapRun until it ends).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { isBackfillSequencer, parseS3Notification } from "../../handlers/extractor/s3-event";
import { EXTRACTOR_VERSION } from "../../lib/schema";
import { main as backfillMain } from "../../tools/backfill";
import { main as reconcileMain } from "../../tools/reconcile/main";
import type { PulumiRunner } from "../../tools/resume";

const SEQ = "0055AED6DCD90281E50000000000000000000000000000000000000000000000";
const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/210987654321/mp-dev-extractor-queue";
const STATE_MACHINE = "arn:aws:states:eu-west-1:210987654321:stateMachine:mp-dev-backfill";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, deps: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
}

describe("npm run reconcile -- --stack (cloud)", () => {
  // Mocks are made in before(), not at load: mockClient patches every client of the class,
  // and mocha loads all test files before running any.
  let s3: AwsClientStub<S3Client>;
  let ddb: AwsClientStub<DynamoDBDocumentClient>;
  let sqs: AwsClientStub<SQSClient>;
  before(() => {
    s3 = mockClient(S3Client);
    ddb = mockClient(DynamoDBDocumentClient);
    sqs = mockClient(SQSClient);
  });
  let pulumiCalls: string[][];
  const pulumi: PulumiRunner = async (args) => {
    pulumiCalls.push(args);
    return JSON.stringify({
      uploadBucket: "mp-dev-ingest-1a2b",
      tableName: "mp-dev-table-3c4d",
      extractorQueueUrl: QUEUE_URL,
    });
  };
  const clients = {
    s3: () => new S3Client({ region: "eu-west-1" }),
    dynamodb: () => new DynamoDBClient({ region: "eu-west-1" }),
    sqs: () => new SQSClient({ region: "eu-west-1" }),
  };

  beforeEach(() => {
    pulumiCalls = [];
    s3.reset();
    ddb.reset();
    sqs.reset();
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        IsTruncated: true,
        NextContinuationToken: "t1",
        Contents: [
          { Key: "a.mp4", ETag: '"aaa"', Size: 10, LastModified: new Date("2026-01-01T00:00:00Z") },
          { Key: "b.mp4", ETag: '"bbb"', Size: 20, LastModified: new Date("2026-01-01T00:00:00Z") },
        ],
      })
      .resolvesOnce({
        IsTruncated: false,
        Contents: [
          { Key: "c d.mp4", ETag: '"ccc"', Size: 30, LastModified: new Date("2026-01-02T00:00:00Z") },
          { Key: "e.mp4", ETag: '"eee"', Size: 40 },
        ],
      });
    ddb.on(ScanCommand).resolves({
      Items: [
        { objectKey: "a.mp4", sequencer: SEQ, etag: "aaa", extractorVersion: EXTRACTOR_VERSION, status: "ok" },
        { objectKey: "b.mp4", sequencer: SEQ, etag: "old", extractorVersion: EXTRACTOR_VERSION, status: "ok" },
        { objectKey: "e.mp4", sequencer: SEQ, deleted: true },
        { objectKey: "gone.mp4", sequencer: SEQ, etag: "ggg", extractorVersion: "0.1.0", status: "ok" },
      ],
    });
    sqs.on(SendMessageBatchCommand).callsFake((input) => ({
      Successful: input.Entries.map((e: { Id: string }) => ({
        Id: e.Id,
        MessageId: `m-${e.Id}`,
        MD5OfMessageBody: "x",
      })),
      Failed: [],
    }));
  });
  after(() => {
    s3.restore();
    ddb.restore();
    sqs.restore();
  });

  it("reads the bucket and table from the stack outputs, reports every kind, exits 1", async () => {
    const c = capture();
    const code = await reconcileMain(["--stack", "dev", "--region", "eu-west-1", "--json"], {
      pulumi,
      ...clients,
      ...c.deps,
    });
    expect(code).to.equal(1);
    expect(pulumiCalls).to.deep.equal([["stack", "output", "--json", "--stack", "dev"]]);
    const report = JSON.parse(c.out.join(""));
    expect(report.missing.map((m: { key: string }) => m.key)).to.deep.equal(["c d.mp4", "e.mp4"]);
    expect(report.stale.map((m: { key: string }) => m.key)).to.deep.equal(["b.mp4"]);
    expect(report.orphaned.map((m: { key: string }) => m.key)).to.deep.equal(["gone.mp4"]);
    expect(report.outdated.map((m: { key: string }) => m.key)).to.deep.equal(["gone.mp4"]);
    expect(s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input)).to.deep.equal([
      { Bucket: "mp-dev-ingest-1a2b", MaxKeys: 1000, Prefix: undefined, ContinuationToken: undefined },
      { Bucket: "mp-dev-ingest-1a2b", MaxKeys: 1000, Prefix: undefined, ContinuationToken: "t1" },
    ]);
    expect(ddb.commandCalls(ScanCommand)[0].args[0].input.TableName).to.equal("mp-dev-table-3c4d");
    expect(sqs.calls()).to.have.length(0);
  });

  it("--enqueue sends one S3-shaped event per object without any item, and says what needs the backfill", async () => {
    const c = capture();
    const code = await reconcileMain(["--stack", "dev", "--region", "eu-west-1", "--enqueue"], {
      pulumi,
      ...clients,
      ...c.deps,
    });
    expect(code).to.equal(1);
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).to.have.length(1);
    const input = calls[0].args[0].input;
    expect(input.QueueUrl).to.equal(QUEUE_URL);
    expect(input.Entries).to.have.length(1); // "c d.mp4"; e.mp4 has a tombstone
    const [change] = parseS3Notification(input.Entries?.[0].MessageBody as string);
    expect(change).to.include({
      action: "created",
      bucket: "mp-dev-ingest-1a2b",
      key: "c d.mp4",
      size: 30,
      etag: "ccc",
    });
    expect(change.eventName).to.equal("ObjectCreated:Reconcile");
    expect(isBackfillSequencer(change.sequencer)).to.equal(true);
    expect(c.out.join(""))
      .to.contain("enqueued 1 event(s)")
      .and.contain("2 stale or tombstoned object(s) need the backfill");
  });

  it("takes --bucket/--table without Pulumi, needs --queue-url only for --enqueue", async () => {
    const noPulumi: PulumiRunner = async () => undefined;
    const c = capture();
    expect(
      await reconcileMain(["--bucket", "b1", "--table", "t1"], { pulumi: noPulumi, ...clients, ...c.deps }),
    ).to.equal(1);
    expect(c.out.join("")).to.contain("s3://b1 vs t1").and.contain("missing        2");
    const e = capture();
    expect(
      await reconcileMain(["--bucket", "b1", "--table", "t1", "--enqueue"], {
        pulumi: noPulumi,
        ...clients,
        ...e.deps,
      }),
    ).to.equal(2);
    expect(e.err.join("")).to.contain("--queue-url");
    const s = capture();
    expect(await reconcileMain(["--stack", "dev"], { pulumi: noPulumi, ...clients, ...s.deps })).to.equal(2);
    expect(s.err.join("")).to.contain("the pulumi CLI is not installed; pass --bucket, --table");
  });
});

describe("npm run backfill -- --stack (Step Functions)", () => {
  let sfn: AwsClientStub<SFNClient>;
  before(() => {
    sfn = mockClient(SFNClient);
  });
  const clients = { sfn: () => new SFNClient({ region: "eu-west-1" }) };
  const EXECUTION = `${STATE_MACHINE.replace(":stateMachine:", ":execution:")}:backfill-1`;
  const MAP_RUN = `${STATE_MACHINE.replace(":stateMachine:", ":mapRun:")}/Backfill:abc`;

  beforeEach(() => {
    sfn.reset();
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    sfn.on(ListMapRunsCommand).resolves({
      mapRuns: [{ mapRunArn: MAP_RUN, executionArn: EXECUTION, stateMachineArn: STATE_MACHINE, startDate: new Date() }],
    });
    sfn
      .on(DescribeMapRunCommand)
      .resolvesOnce({
        itemCounts: {
          pending: 900,
          running: 100,
          succeeded: 0,
          failed: 0,
          timedOut: 0,
          aborted: 0,
          total: 1000,
          resultsWritten: 0,
        },
      } as never)
      .resolves({
        itemCounts: {
          pending: 0,
          running: 0,
          succeeded: 998,
          failed: 2,
          timedOut: 0,
          aborted: 0,
          total: 1000,
          resultsWritten: 1000,
        },
      } as never);
  });
  after(() => sfn.restore());

  it("starts the stack's state machine with {prefix, onlyOutdated} and follows it to the end", async () => {
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: "RUNNING", startDate: new Date(0) } as never)
      .resolves({
        status: "SUCCEEDED",
        startDate: new Date(0),
        stopDate: new Date(42_000),
        output: JSON.stringify({ processed: 10 }),
      } as never);
    const pulumi: PulumiRunner = async () => JSON.stringify({ backfillStateMachineArn: STATE_MACHINE });
    const c = capture();
    const code = await backfillMain(
      ["--stack", "dev", "--prefix", "clips/", "--only-outdated", "--name", "backfill-1"],
      {
        pulumi,
        ...clients,
        ...c.deps,
        progress: null,
        sleep: async () => {},
      },
    );
    expect(code).to.equal(0);
    const start = sfn.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(start).to.deep.equal({
      stateMachineArn: STATE_MACHINE,
      name: "backfill-1",
      input: JSON.stringify({ prefix: "clips/", onlyOutdated: true }),
    });
    expect(sfn.commandCalls(DescribeExecutionCommand)).to.have.length(2);
    expect(c.out.join(""))
      .to.contain("backfill: SUCCEEDED in 42 s: 998 succeeded, 2 failed")
      .and.contain('"processed":10');
  });

  it("exits 1 with the error when the execution fails; --no-wait only starts it", async () => {
    sfn
      .on(DescribeExecutionCommand)
      .resolves({ status: "FAILED", error: "States.ExceedToleratedFailureThreshold", cause: "too many" } as never);
    const c = capture();
    expect(
      await backfillMain(["--state-machine", STATE_MACHINE], {
        ...clients,
        ...c.deps,
        progress: null,
        sleep: async () => {},
      }),
    ).to.equal(1);
    expect(c.out.join("")).to.contain("FAILED").and.contain("States.ExceedToleratedFailureThreshold: too many");
    const n = capture();
    expect(await backfillMain(["--state-machine", STATE_MACHINE, "--no-wait"], { ...clients, ...n.deps })).to.equal(0);
    expect(n.out.join("")).to.equal(`${EXECUTION}\n`);
  });

  it("asks for --stack or --state-machine", async () => {
    const c = capture();
    expect(await backfillMain([], { ...clients, ...c.deps, pulumi: async () => undefined })).to.equal(2);
    expect(c.err.join("")).to.contain("give --stack NAME, or --state-machine");
    const s = capture();
    expect(await backfillMain(["--stack", "dev"], { ...clients, ...s.deps, pulumi: async () => "{}" })).to.equal(2);
    expect(s.err.join("")).to.contain("has no output backfillStateMachineArn");
  });
});
