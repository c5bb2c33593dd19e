/**
 * Least privilege, evaluated offline by @cloud-copilot/iam-simulate on the policy documents
 * the mocked MediaPipeline actually registers (role, bucket and queue policies' `policy`
 * inputs), with the ARNs the mocks gave the resources.
 */
import { expect } from "chai";
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

describe("IAM least privilege (iam-simulate on the mocked pipeline's policies)", () => {
  let res: Resources;
  const arn: Record<string, string> = {};
  let extractorPolicy: PolicyJson;
  let apiPolicy: PolicyJson;

  before(async () => {
    await startMocks();
    new MediaPipeline("mp-iam", testPipelineArgs());
    res = await settled();
    const bucketArn = (suffix: string) => res.oneUnder(res.one(T.mediaBucket, suffix), T.bucket).state.arn as string;
    arn.ingest = bucketArn("-ingest");
    arn.metadata = bucketArn("-metadata");
    arn.site = bucketArn("-dashboard-bucket");
    arn.table = res.one(T.table, "test-table").state.arn as string;
    arn.queue = res.one(T.queue, "-queue").state.arn as string;
    arn.dlq = res.one(T.queue, "-dlq").state.arn as string;
    arn.extractorLogs = res.one(T.logGroup, "extractor-logs").state.arn as string;
    arn.apiLogs = res.one(T.logGroup, "api-logs").state.arn as string;
    arn.extractorFunction = res.oneUnder(res.one(T.extractor), T.function).state.arn as string;
    arn.distribution = res.one(T.distribution).state.arn as string;
    arn.cursorSecret = res.one("aws:ssm/parameter:Parameter").state.arn as string;
    extractorPolicy = policyOf(res.oneUnder(res.one(T.extractor), T.rolePolicy));
    apiPolicy = policyOf(res.oneUnder(res.one(T.api), T.rolePolicy));
  });

  const otherTable = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/someone-elses`;
  const stream = (logGroupArn: string) => `${logGroupArn}:log-stream:2026/01/01/[$LATEST]0123abcd`;

  describe("the extractor", () => {
    const allowed: [string, (a: Record<string, string>) => string][] = [
      ["s3:GetObject", (a) => `${a.ingest}/uploads/red flower.mov`],
      ["s3:GetObject", (a) => `${a.ingest}/any/prefix/clip.mp4`],
      ["s3:GetObjectVersion", (a) => `${a.ingest}/clip.mp4`],
      ["s3:ListBucket", (a) => a.ingest],
      ["s3:PutObject", (a) => `${a.metadata}/ffprobe/ab/abcd/00000001.json.gz`],
      ["dynamodb:GetItem", (a) => a.table],
      ["dynamodb:PutItem", (a) => a.table],
      ["dynamodb:UpdateItem", (a) => a.table],
      ["dynamodb:DeleteItem", (a) => a.table],
      ["sqs:ReceiveMessage", (a) => a.queue],
      ["sqs:DeleteMessage", (a) => a.queue],
      ["sqs:ChangeMessageVisibility", (a) => a.queue],
      ["sqs:GetQueueAttributes", (a) => a.queue],
      ["logs:CreateLogStream", (a) => stream(a.extractorLogs)],
      ["logs:PutLogEvents", (a) => stream(a.extractorLogs)],
      ["xray:PutTraceSegments", () => "*"],
    ];
    const denied: [string, (a: Record<string, string>) => string, string][] = [
      ["s3:PutObject", (a) => `${a.ingest}/clip.mp4`, "writing the ingest bucket (would loop)"],
      ["s3:DeleteObject", (a) => `${a.ingest}/clip.mp4`, "deleting uploads"],
      ["s3:PutObject", (a) => `${a.metadata}/elsewhere/x.json`, "writing outside the raw-metadata prefix"],
      ["s3:GetObject", (a) => `${a.metadata}/ffprobe/x.json.gz`, "reading raw metadata (never needed)"],
      ["s3:ListBucket", (a) => a.metadata, "listing the metadata bucket"],
      ["s3:GetObject", (a) => `${a.site}/index.html`, "the dashboard's bucket"],
      ["s3:GetObject", () => "arn:aws:s3:::another-bucket/secret.mp4", "other buckets"],
      ["s3:PutBucketPolicy", (a) => a.ingest, "changing the bucket policy"],
      ["dynamodb:DeleteTable", (a) => a.table, "deleting the table"],
      ["dynamodb:Scan", (a) => a.table, "scanning"],
      ["dynamodb:Query", (a) => `${a.table}/index/byProcessedAt`, "listing (the API's job)"],
      ["dynamodb:PutItem", () => otherTable, "other tables"],
      ["sqs:SendMessage", (a) => a.queue, "sending to its own queue"],
      ["sqs:ReceiveMessage", (a) => a.dlq, "draining the dead-letter queue"],
      ["sqs:DeleteQueue", (a) => a.queue, "deleting the queue"],
      ["logs:PutLogEvents", (a) => stream(a.apiLogs), "the API's log group"],
      ["lambda:UpdateFunctionConfiguration", (a) => a.extractorFunction, "changing its own function"],
      ["iam:PassRole", () => `arn:aws:iam::${ACCOUNT}:role/admin`, "passing roles"],
    ];

    for (const [action, resource] of allowed) {
      it(`may ${action} ${resource({ ingest: "<ingest>", metadata: "<metadata>", table: "<table>", queue: "<queue>", extractorLogs: "<own log group>" })}`, async () => {
        expect(await decide({ identity: extractorPolicy, action, resource: resource(arn) })).to.equal("Allowed");
      });
    }
    for (const [action, resource, why] of denied) {
      it(`may not ${action}: ${why}`, async () => {
        expect(await decide({ identity: extractorPolicy, action, resource: resource(arn) })).to.equal(
          "ImplicitlyDenied",
        );
      });
    }
  });

  describe("the read API", () => {
    const allowed: [string, (a: Record<string, string>) => string][] = [
      ["dynamodb:Query", (a) => `${a.table}/index/byProcessedAt`],
      ["dynamodb:GetItem", (a) => a.table],
      ["s3:GetObject", (a) => `${a.metadata}/ffprobe/ab/abcd/00000001.json.gz`],
      ["s3:PutObject", (a) => `${a.ingest}/uploads/2026/clip.mp4`],
      ["ssm:GetParameter", (a) => a.cursorSecret],
      ["logs:PutLogEvents", (a) => stream(a.apiLogs)],
      ["xray:PutTelemetryRecords", () => "*"],
    ];
    const denied: [string, (a: Record<string, string>) => string, string][] = [
      ["dynamodb:Query", (a) => a.table, "querying the base table"],
      ["dynamodb:Scan", (a) => a.table, "scanning"],
      ["dynamodb:PutItem", (a) => a.table, "writing documents"],
      ["dynamodb:DeleteItem", (a) => a.table, "deleting documents"],
      ["dynamodb:DeleteTable", (a) => a.table, "deleting the table"],
      ["dynamodb:GetItem", () => otherTable, "other tables"],
      ["s3:PutObject", (a) => `${a.ingest}/clip.mp4`, "uploading outside uploads/"],
      ["s3:GetObject", (a) => `${a.ingest}/uploads/clip.mp4`, "reading uploads"],
      ["s3:DeleteObject", (a) => `${a.ingest}/uploads/clip.mp4`, "deleting uploads"],
      ["s3:PutObject", (a) => `${a.metadata}/ffprobe/x.json.gz`, "writing raw metadata"],
      ["s3:GetObject", (a) => `${a.metadata}/other/x.json`, "reading outside the raw-metadata prefix"],
      ["sqs:ReceiveMessage", (a) => a.queue, "the extractor's queue"],
      ["logs:PutLogEvents", (a) => stream(a.extractorLogs), "the extractor's log group"],
      ["ssm:GetParameter", () => `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/someone-elses`, "other parameters"],
      ["ssm:PutParameter", (a) => a.cursorSecret, "changing the cursor secret"],
    ];

    for (const [action, resource] of allowed) {
      it(`may ${action} ${resource({ table: "<table>", metadata: "<metadata>", ingest: "<ingest>", apiLogs: "<own log group>" })}`, async () => {
        expect(await decide({ identity: apiPolicy, action, resource: resource(arn) })).to.equal("Allowed");
      });
    }
    for (const [action, resource, why] of denied) {
      it(`may not ${action}: ${why}`, async () => {
        expect(await decide({ identity: apiPolicy, action, resource: resource(arn) })).to.equal("ImplicitlyDenied");
      });
    }
  });

  describe("resource policies", () => {
    const bucketPolicy = (suffix: string) => policyOf(res.oneUnder(res.one(T.mediaBucket, suffix), T.bucketPolicy));

    it("the ingest bucket refuses requests without TLS, even from the extractor", async () => {
      const request = { identity: extractorPolicy, action: "s3:GetObject", resource: `${arn.ingest}/clip.mp4` };
      const policy = bucketPolicy("-ingest");
      expect(await decide({ ...request, resourcePolicy: policy })).to.equal("Allowed");
      expect(
        await decide({ ...request, resourcePolicy: policy, context: { "aws:SecureTransport": "false" } }),
      ).to.equal("ExplicitlyDenied");
    });

    it("the site bucket lets only this CloudFront distribution read it", async () => {
      const policy = bucketPolicy("-dashboard-bucket");
      const viaCloudFront = (distribution: string) =>
        decide({
          principal: "cloudfront.amazonaws.com",
          action: "s3:GetObject",
          resource: `${arn.site}/index.html`,
          resourcePolicy: policy,
          context: { "aws:SourceArn": distribution, "aws:SourceAccount": ACCOUNT },
        });
      expect(await viaCloudFront(arn.distribution)).to.equal("Allowed");
      expect(await viaCloudFront(`arn:aws:cloudfront::${ACCOUNT}:distribution/EOTHER`)).to.equal("ImplicitlyDenied");
      expect(
        await decide({
          principal: "cloudfront.amazonaws.com",
          action: "s3:PutObject",
          resource: `${arn.site}/index.html`,
          resourcePolicy: policy,
          context: { "aws:SourceArn": arn.distribution },
        }),
      ).to.equal("ImplicitlyDenied");
    });

    it("the queue accepts S3 events from the ingest bucket of this account only", async () => {
      const policy = policyOf(res.one(T.queuePolicy));
      const fromBucket = (bucketArn: string, account = ACCOUNT) =>
        decide({
          principal: "s3.amazonaws.com",
          action: "sqs:SendMessage",
          resource: arn.queue,
          resourcePolicy: policy,
          context: { "aws:SourceArn": bucketArn, "aws:SourceAccount": account },
        });
      expect(await fromBucket(arn.ingest)).to.equal("Allowed");
      expect(await fromBucket(arn.metadata)).to.equal("ImplicitlyDenied");
      expect(await fromBucket(arn.ingest, "999999999999")).to.equal("ImplicitlyDenied");
    });
  });
});
