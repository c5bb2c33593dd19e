/**
 * Least privilege of the backfill, evaluated offline by @cloud-copilot/iam-simulate on the
 * policy documents the mocked MediaPipeline registers: the backfill function's role (what
 * handlers/backfill does: read ingest objects, write raw metadata, BatchGetItem/GetItem/PutItem)
 * and the state machine's role (the Distributed Map's listing, result writing, invocations and
 * child executions, on this stack's resources only).
 */
import { expect } from "chai";
import { BACKFILL_MAP_STATE } from "../../components/backfill";
import { MediaPipeline } from "../../components/media-pipeline";
import {
  type PolicyJson,
  policyOf,
  type Resources,
  settled,
  startMocks,
  T,
  testPipelineArgs,
} from "../components/helpers";
import { ACCOUNT, decide } from "./simulate";

const REGION = "us-east-1";

describe("IAM least privilege of the backfill (iam-simulate)", () => {
  let res: Resources;
  const arn: Record<string, string> = {};
  let fnPolicy: PolicyJson;
  let smPolicy: PolicyJson;

  before(async () => {
    await startMocks();
    new MediaPipeline("mp-iam", testPipelineArgs());
    res = await settled();
    const backfill = res.one(T.backfill);
    const bucketArn = (suffix: string) => res.oneUnder(res.one(T.mediaBucket, suffix), T.bucket).state.arn as string;
    arn.ingest = bucketArn("-ingest");
    arn.metadata = bucketArn("-metadata");
    arn.site = bucketArn("-dashboard-bucket");
    arn.table = res.one(T.table, "test-table").state.arn as string;
    arn.function = res.oneUnder(backfill, T.function).state.arn as string;
    arn.extractor = res.oneUnder(res.one(T.extractor), T.function).state.arn as string;
    arn.logs = res.oneUnder(backfill, T.logGroup).state.arn as string;
    arn.extractorLogs = res.one(T.logGroup, "extractor-logs").state.arn as string;
    arn.stateMachine = res.oneUnder(backfill, T.stateMachine).state.arn as string;
    arn.smName = res.oneUnder(backfill, T.stateMachine).state.name as string;
    fnPolicy = policyOf(res.oneUnder(backfill, T.rolePolicy, "backfill-policy"));
    smPolicy = policyOf(res.oneUnder(backfill, T.rolePolicy, "-sfn-policy"));
  });

  const otherTable = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/someone-elses`;
  const stream = (logGroupArn: string) => `${logGroupArn}:log-stream:2026/01/01/[$LATEST]0123abcd`;
  const child = (a: Record<string, string>) =>
    `arn:aws:states:${REGION}:${ACCOUNT}:execution:${a.smName}/${BACKFILL_MAP_STATE}:0d7a9b3e-1c2f-4a5b-8c9d-0e1f2a3b4c5d`;
  const otherMachine = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:someone-elses`;

  type Case = [string, (a: Record<string, string>) => string];
  type DeniedCase = [string, (a: Record<string, string>) => string, string];

  function check(policy: () => PolicyJson, allowed: Case[], denied: DeniedCase[]) {
    for (const [action, resource] of allowed) {
      it(`may ${action} ${resource(new Proxy({}, { get: (_, k) => `<${String(k)}>` }))}`, async () => {
        expect(await decide({ identity: policy(), action, resource: resource(arn) })).to.equal("Allowed");
      });
    }
    for (const [action, resource, why] of denied) {
      it(`may not ${action}: ${why}`, async () => {
        expect(await decide({ identity: policy(), action, resource: resource(arn) })).to.equal("ImplicitlyDenied");
      });
    }
  }

  describe("the backfill function", () => {
    check(
      () => fnPolicy,
      [
        ["s3:GetObject", (a) => `${a.ingest}/clips/red flower.mov`],
        ["s3:ListBucket", (a) => a.ingest],
        ["s3:PutObject", (a) => `${a.metadata}/ffprobe/ab/abcd/0000-backfill-0123.json.gz`],
        ["dynamodb:BatchGetItem", (a) => a.table],
        ["dynamodb:GetItem", (a) => a.table],
        ["dynamodb:PutItem", (a) => a.table],
        ["logs:CreateLogStream", (a) => stream(a.logs)],
        ["logs:PutLogEvents", (a) => stream(a.logs)],
        ["xray:PutTraceSegments", () => "*"],
      ],
      [
        ["s3:PutObject", (a) => `${a.ingest}/clip.mp4`, "writing the ingest bucket"],
        ["s3:DeleteObject", (a) => `${a.ingest}/clip.mp4`, "deleting uploads"],
        ["s3:GetObjectVersion", (a) => `${a.ingest}/clip.mp4`, "old versions (a backfill reads current objects)"],
        ["s3:PutObject", (a) => `${a.metadata}/backfill-results/x/manifest.json`, "the state machine's results"],
        ["s3:GetObject", (a) => `${a.metadata}/ffprobe/x.json.gz`, "reading raw metadata"],
        ["s3:GetObject", (a) => `${a.site}/index.html`, "the dashboard's bucket"],
        ["dynamodb:UpdateItem", (a) => a.table, "updates (it only puts, conditionally)"],
        ["dynamodb:DeleteItem", (a) => a.table, "deleting documents"],
        ["dynamodb:Scan", (a) => a.table, "scanning (reconcile's job, not the backfill's)"],
        ["dynamodb:BatchWriteItem", (a) => a.table, "unconditional batch writes"],
        ["dynamodb:PutItem", () => otherTable, "other tables"],
        ["logs:PutLogEvents", (a) => stream(a.extractorLogs), "the extractor's log group"],
        ["lambda:InvokeFunction", (a) => a.extractor, "invoking functions"],
        ["states:StartExecution", (a) => a.stateMachine, "starting backfills"],
      ],
    );
  });

  describe("the state machine", () => {
    check(
      () => smPolicy,
      [
        ["s3:ListBucket", (a) => a.ingest],
        ["lambda:InvokeFunction", (a) => a.function],
        ["lambda:InvokeFunction", (a) => `${a.function}:$LATEST`],
        ["s3:PutObject", (a) => `${a.metadata}/backfill-results/0d7a9b3e/manifest.json`],
        ["s3:GetObject", (a) => `${a.metadata}/backfill-results/0d7a9b3e/SUCCEEDED_0.json`],
        ["s3:AbortMultipartUpload", (a) => `${a.metadata}/backfill-results/0d7a9b3e/SUCCEEDED_0.json`],
        ["s3:ListMultipartUploadParts", (a) => `${a.metadata}/backfill-results/0d7a9b3e/SUCCEEDED_0.json`],
        ["states:StartExecution", (a) => a.stateMachine],
        ["states:DescribeExecution", child],
        ["states:StopExecution", child],
      ],
      [
        ["s3:GetObject", (a) => `${a.ingest}/clip.mp4`, "reading media (the function's job)"],
        ["s3:ListBucket", (a) => a.metadata, "listing the metadata bucket"],
        ["s3:ListBucket", () => "arn:aws:s3:::another-bucket", "listing other buckets"],
        ["s3:PutObject", (a) => `${a.metadata}/ffprobe/x.json.gz`, "writing raw metadata"],
        ["s3:PutObject", (a) => `${a.ingest}/backfill-results/x.json`, "writing results into the ingest bucket"],
        ["s3:DeleteObject", (a) => `${a.metadata}/backfill-results/x/manifest.json`, "deleting results"],
        ["lambda:InvokeFunction", (a) => a.extractor, "invoking the extractor"],
        ["lambda:UpdateFunctionCode", (a) => a.function, "changing the function"],
        ["states:StartExecution", () => otherMachine, "starting other state machines"],
        [
          "states:StopExecution",
          () => `arn:aws:states:${REGION}:${ACCOUNT}:execution:someone-elses:run-1`,
          "stopping other state machines' executions",
        ],
        ["states:DeleteStateMachine", (a) => a.stateMachine, "deleting itself"],
        ["dynamodb:GetItem", (a) => a.table, "the table"],
        ["iam:PassRole", () => `arn:aws:iam::${ACCOUNT}:role/admin`, "passing roles"],
      ],
    );
  });
});
