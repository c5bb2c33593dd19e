import { expect } from "chai";
import { ALL_OBJECT_EVENTS, MediaBucket } from "../../components/media-bucket";
import { policyOf, settled, startMocks, statement, T } from "./helpers";

const QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:extractor-queue";
const QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/extractor-queue";

describe("MediaBucket", () => {
  beforeEach(startMocks);

  it("makes an ingest bucket: private, encrypted, TLS-only, with lifecycle, CORS and notifications to the queue", async () => {
    new MediaBucket("ingest", {
      forceDestroy: true,
      versioning: true,
      expireObjectsAfterDays: 7,
      cors: { allowedOrigins: ["https://d123.cloudfront.net"], allowedMethods: ["PUT", "POST"] },
      notifyQueue: { queueArn: QUEUE_ARN, queueUrl: QUEUE_URL },
    });
    const res = await settled();
    const component = res.one(T.mediaBucket);
    expect(component.name).to.equal("ingest");
    for (const child of res.all.filter((r) => r !== component)) {
      expect(child.parent, `${child.type} ${child.name}`).to.equal(component.urn);
    }

    const bucket = res.one(T.bucket);
    expect(bucket.inputs.forceDestroy).to.equal(true);
    const bucketArn = bucket.state.arn as string;
    expect(bucketArn).to.match(/^arn:aws:s3:::ingest-[0-9a-f]{7}$/);

    expect(res.one(T.publicAccessBlock).inputs).to.include({
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(res.one(T.ownership).inputs.rule).to.deep.equal({ objectOwnership: "BucketOwnerEnforced" });
    expect(res.one(T.encryption).inputs.rules).to.deep.equal([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
    ]);
    expect(res.one(T.versioning).inputs.versioningConfiguration).to.deep.equal({ status: "Enabled" });

    const lifecycle = res.one(T.lifecycle);
    const rules = lifecycle.inputs.rules as { id: string; [k: string]: unknown }[];
    expect(rules.map((r) => r.id)).to.deep.equal([
      "abort-incomplete-multipart-uploads",
      "expire-objects",
      "expire-noncurrent-versions",
    ]);
    expect(rules[0]?.abortIncompleteMultipartUpload).to.deep.equal({ daysAfterInitiation: 1 });
    expect(rules[1]?.expiration).to.deep.equal({ days: 7 });
    expect(rules[2]?.noncurrentVersionExpiration).to.deep.equal({ noncurrentDays: 30 });
    expect(lifecycle.dependencies).to.include(res.one(T.versioning).urn);

    const policy = res.one(T.bucketPolicy);
    const tls = statement(policyOf(policy), "DenyInsecureTransport");
    expect(tls).to.deep.include({ Effect: "Deny", Principal: "*", Action: "s3:*" });
    expect(tls.Resource).to.deep.equal([bucketArn, `${bucketArn}/*`]);
    expect(tls.Condition).to.deep.equal({ Bool: { "aws:SecureTransport": "false" } });
    expect(policy.dependencies, "policy after the public access block").to.include(res.one(T.publicAccessBlock).urn);

    const cors = (res.one(T.cors).inputs.corsRules as Record<string, unknown>[])[0];
    expect(cors).to.deep.include({
      allowedOrigins: ["https://d123.cloudfront.net"],
      allowedMethods: ["PUT", "POST"],
      exposeHeaders: ["ETag"],
    });

    const queuePolicy = res.one(T.queuePolicy);
    expect(queuePolicy.inputs.queueUrl).to.equal(QUEUE_URL);
    const send = statement(policyOf(queuePolicy), "AllowBucketNotifications");
    expect(send).to.deep.include({
      Effect: "Allow",
      Principal: { Service: "s3.amazonaws.com" },
      Action: "sqs:SendMessage",
      Resource: QUEUE_ARN,
    });
    expect(send.Condition).to.deep.equal({
      ArnEquals: { "aws:SourceArn": bucketArn },
      StringEquals: { "aws:SourceAccount": "123456789012" },
    });

    const notification = res.one(T.notification);
    expect(notification.inputs.bucket).to.equal(bucket.id);
    expect(notification.inputs.queues).to.deep.equal([{ queueArn: QUEUE_ARN, events: [...ALL_OBJECT_EVENTS] }]);
    expect(notification.dependencies, "S3 tests the queue policy when the notification is saved").to.include(
      queuePolicy.urn,
    );
  });

  it("makes a metadata bucket: no notifications, no CORS, no versioning, objects kept", async () => {
    new MediaBucket("metadata", { forceDestroy: false });
    const res = await settled();
    expect(res.one(T.bucket).inputs.forceDestroy).to.equal(false);
    for (const type of [T.notification, T.queuePolicy, T.cors, T.versioning]) {
      expect(res.ofType(type), type).to.have.length(0);
    }
    const rules = res.one(T.lifecycle).inputs.rules as { id: string }[];
    expect(rules.map((r) => r.id)).to.deep.equal(["abort-incomplete-multipart-uploads"]);
    expect(policyOf(res.one(T.bucketPolicy)).Statement).to.have.length(1);
  });

  it("adds caller statements to the bucket policy, given the bucket's ARN", async () => {
    new MediaBucket("site", {
      forceDestroy: false,
      policyStatements: (arn) => [
        { Sid: "Extra", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: arn },
      ],
    });
    const res = await settled();
    const extra = statement(policyOf(res.one(T.bucketPolicy)), "Extra");
    expect(extra.Resource).to.equal(res.one(T.bucket).state.arn);
  });

  it("refuses an expiration that is not a whole number of days", () => {
    expect(() => new MediaBucket("bad", { forceDestroy: true, expireObjectsAfterDays: 0 })).to.throw(
      /expireObjectsAfterDays must be a whole number of days >= 1, got 0/,
    );
  });
});
