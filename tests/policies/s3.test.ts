import { expect } from "chai";
import { s3Lifecycle, s3Secure } from "../../policies/s3";
import { dependsThrough, res, runStack, type StackResourceDescription, UNKNOWN_STRING } from "./harness";

const BUCKET = "aws:s3/bucket:Bucket";

/** A bucket as the engine reports it after an update: id and bucket are its name. */
function bucket(name: string, extra: Record<string, unknown> = {}): StackResourceDescription {
  return res(BUCKET, name, { id: name, bucket: name, arn: `arn:aws:s3:::${name}`, ...extra });
}

function attached(type: string, name: string, b: StackResourceDescription, props: Record<string, unknown>) {
  return dependsThrough(res(`aws:s3/${type}`, name, { bucket: b.props?.id, ...props }), "bucket", b);
}

const abortRule = {
  id: "abort",
  status: "Enabled",
  filter: { prefix: "" },
  abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
};
const expireRule = { id: "expire", status: "Enabled", filter: {}, expiration: { days: 7 } };
const noncurrentRule = { id: "nc", status: "Enabled", noncurrentVersionExpiration: { noncurrentDays: 7 } };

function lifecycle(b: StackResourceDescription, rules: unknown[]) {
  return attached("bucketLifecycleConfiguration:BucketLifecycleConfiguration", `${b.name}-lifecycle`, b, { rules });
}

function secureParts(b: StackResourceDescription, policy?: unknown): StackResourceDescription[] {
  const arn = b.props?.arn as string;
  return [
    attached("bucketPublicAccessBlock:BucketPublicAccessBlock", `${b.name}-pab`, b, {
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    }),
    attached("bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", `${b.name}-sse`, b, {
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    }),
    attached("bucketPolicy:BucketPolicy", `${b.name}-policy`, b, {
      policy:
        policy ??
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "DenyInsecureTransport",
              Effect: "Deny",
              Principal: "*",
              Action: "s3:*",
              Resource: [arn, `${arn}/*`],
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        }),
    }),
  ];
}

describe("policies: s3-lifecycle", () => {
  it("passes a bucket whose lifecycle configuration aborts incomplete uploads", async () => {
    const b = bucket("data");
    const out = await runStack(s3Lifecycle, [b, lifecycle(b, [abortRule])]);
    expect(out.messages).to.deep.equal([]);
  });

  it("reports a bucket with no lifecycle configuration", async () => {
    const out = await runStack(s3Lifecycle, [bucket("data")]);
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.diagnostics[0]?.urn).to.equal("urn:pulumi:test::media-pipeline::aws:s3/bucket:Bucket::data");
    expect(out.messages).to.deep.equal([
      "bucket data (aws:s3/bucket:Bucket) has no lifecycle configuration, so incomplete multipart uploads are kept " +
        "(and billed) forever; add an aws.s3.BucketLifecycleConfiguration for it with an enabled whole-bucket rule: " +
        '{ id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } }.',
    ]);
  });

  it("reports rules that only cover a prefix, are disabled, or wait too long", async () => {
    const b = bucket("data");
    const partial = await runStack(s3Lifecycle, [
      b,
      lifecycle(b, [
        { ...abortRule, filter: { prefix: "uploads/" } },
        { ...abortRule, id: "off", status: "Disabled" },
      ]),
    ]);
    expect(partial.messages[0]).to.contain(
      "has no enabled whole-bucket lifecycle rule that aborts incomplete multipart uploads",
    );
    const slow = await runStack(s3Lifecycle, [
      b,
      lifecycle(b, [{ ...abortRule, abortIncompleteMultipartUpload: { daysAfterInitiation: 30 } }]),
    ]);
    expect(slow.messages).to.deep.equal([
      "bucket data (aws:s3/bucket:Bucket) aborts incomplete multipart uploads after 30 days; the limit is 7 " +
        "(set abortIncompleteMultipartUpload.daysAfterInitiation <= 7).",
    ]);
  });

  it("in a lab stack, requires objects (and noncurrent versions of a versioned bucket) to expire", async () => {
    const b = bucket("lab-data");
    const versioning = attached("bucketVersioning:BucketVersioning", "v", b, {
      versioningConfiguration: { status: "Enabled" },
    });
    const bad = await runStack(s3Lifecycle, [b, versioning, lifecycle(b, [abortRule])], { config: { lab: true } });
    expect(bad.messages).to.deep.equal([
      "bucket lab-data (aws:s3/bucket:Bucket) is in a lab stack but its objects never expire within 30 days; add an " +
        "enabled whole-bucket lifecycle rule with expiration: { days: 30 } (or fewer).",
      "bucket lab-data (aws:s3/bucket:Bucket) is versioned in a lab stack but its noncurrent versions never expire; " +
        "add noncurrentVersionExpiration: { noncurrentDays: 30 } (or fewer) to a whole-bucket rule.",
    ]);
    const good = await runStack(s3Lifecycle, [b, versioning, lifecycle(b, [abortRule, expireRule, noncurrentRule])], {
      config: { lab: true },
    });
    expect(good.messages).to.deep.equal([]);
    const tooLong = await runStack(s3Lifecycle, [b, lifecycle(b, [abortRule, expireRule])], {
      config: { lab: true, labExpirationDays: 3 },
    });
    expect(tooLong.messages[0]).to.contain("never expire within 3 days");
  });

  it("joins through property dependencies when the bucket's id is unknown (preview)", async () => {
    const b = res(BUCKET, "new", { id: UNKNOWN_STRING, bucket: "new-abc123", arn: UNKNOWN_STRING });
    const lc = dependsThrough(
      res("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "lc", {
        bucket: UNKNOWN_STRING,
        rules: [abortRule],
      }),
      "bucket",
      b,
    );
    expect((await runStack(s3Lifecycle, [b, lc])).messages).to.deep.equal([]);
  });

  it("ignores a lifecycle configuration that belongs to another bucket", async () => {
    const a = bucket("a");
    const other = bucket("other");
    const out = await runStack(s3Lifecycle, [a, other, lifecycle(other, [abortRule])]);
    expect(out.messages).to.have.length(1);
    expect(out.messages[0]).to.match(/^bucket a \(/);
  });
});

describe("policies: s3-secure", () => {
  it("passes a bucket with a full public access block, explicit encryption and a TLS-only policy", async () => {
    const b = bucket("data");
    expect((await runStack(s3Secure, [b, ...secureParts(b)])).messages).to.deep.equal([]);
  });

  it("reports a bare bucket three times, one per missing control", async () => {
    const out = await runStack(s3Secure, [bucket("bare")]);
    expect(out.levels).to.deep.equal(["mandatory", "mandatory", "mandatory"]);
    expect(out.messages).to.deep.equal([
      "bucket bare (aws:s3/bucket:Bucket) has no public access block; add an aws.s3.BucketPublicAccessBlock for it " +
        "with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true (CloudFront with " +
        "origin access control still works).",
      "bucket bare (aws:s3/bucket:Bucket) has no explicit server-side encryption configuration (the implicit SSE-S3 " +
        "default is not accepted); add an aws.s3.BucketServerSideEncryptionConfiguration with rules: " +
        '[{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] (or "aws:kms" with a key).',
      "bucket bare (aws:s3/bucket:Bucket) does not deny requests made without TLS; add to its aws.s3.BucketPolicy the " +
        'statement { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [<bucket ARN>, "<bucket ARN>/*"], ' +
        'Condition: { Bool: { "aws:SecureTransport": "false" } } }.',
    ]);
  });

  it("reports a public access block that leaves a flag off", async () => {
    const b = bucket("data");
    const [pab, ...rest] = secureParts(b);
    const weak = { ...pab, props: { ...pab?.props, restrictPublicBuckets: false } } as StackResourceDescription;
    const out = await runStack(s3Secure, [b, weak, ...rest]);
    expect(out.messages).to.deep.equal([
      "bucket data (aws:s3/bucket:Bucket): its public access block does not set restrictPublicBuckets to true.",
    ]);
  });

  it("reports a bucket policy without the TLS deny (an Allow, or a deny on objects only)", async () => {
    const b = bucket("data");
    const allowOnly = JSON.stringify({
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "cloudfront.amazonaws.com" },
          Action: "s3:GetObject",
          Resource: "arn:aws:s3:::data/*",
        },
      ],
    });
    const objectsOnly = JSON.stringify({
      Statement: [
        {
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: "arn:aws:s3:::data/*",
          Condition: { Bool: { "aws:SecureTransport": false } },
        },
      ],
    });
    for (const policy of [allowOnly, objectsOnly]) {
      const out = await runStack(s3Secure, [b, ...secureParts(b, policy)]);
      expect(out.messages).to.have.length(1);
      expect(out.messages[0]).to.contain("does not deny requests made without TLS");
    }
  });

  it("accepts only the configured encryption algorithms", async () => {
    const b = bucket("data");
    const out = await runStack(s3Secure, [b, ...secureParts(b)], { config: { allowedSseAlgorithms: ["aws:kms"] } });
    expect(out.messages).to.deep.equal([
      "bucket data (aws:s3/bucket:Bucket): its encryption configuration sets no default algorithm among aws:kms.",
    ]);
  });

  it("skips the TLS check while the policy text is unknown (preview) instead of failing the whole policy", async () => {
    const b = res(BUCKET, "new", { id: UNKNOWN_STRING, bucket: "new-1", arn: UNKNOWN_STRING });
    const parts = secureParts(b, UNKNOWN_STRING).map((p) => ({ ...p, props: { ...p.props, bucket: UNKNOWN_STRING } }));
    const out = await runStack(s3Secure, [b, ...parts]);
    expect(out.messages).to.deep.equal([]);
  });
});

describe("policies: s3-lifecycle, deployed content", () => {
  it("does not ask a lab bucket whose objects the stack deploys (a website) to expire them", async () => {
    const site = bucket("site");
    const index = attached("bucketObjectv2:BucketObjectv2", "index.html", site, { key: "index.html", source: "x" });
    const out = await runStack(s3Lifecycle, [site, index, lifecycle(site, [abortRule])], { config: { lab: true } });
    expect(out.messages).to.deep.equal([]);
  });
});

describe("policies: s3-lifecycle, deployed content is not a blanket exemption", () => {
  const site = bucket("site");
  const index = attached("bucketObjectv2:BucketObjectv2", "index.html", site, { key: "index.html", source: "x" });
  const lab = { config: { lab: true } };

  // Class: a bucket was exempted from lab expiration merely because the stack deploys one object into it.
  it("refuses an upload bucket with CORS write methods even though the stack deploys one object into it", async () => {
    const cors = attached("bucketCorsConfiguration:BucketCorsConfiguration", "site-cors", site, {
      corsRules: [{ allowedMethods: ["GET", "PUT"], allowedOrigins: ["*"] }],
    });
    const out = await runStack(s3Lifecycle, [site, index, cors, lifecycle(site, [abortRule])], lab);
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.messages[0]).to.contain("but CORS configuration site-cors also write(s) to it");
  });

  it("refuses the exemption when an event notification, a role policy or a log delivery writes to the bucket", async () => {
    const notification = attached("bucketNotification:BucketNotification", "site-events", site, { queues: [] });
    const role = res("aws:iam/rolePolicy:RolePolicy", "writer", {
      policy: JSON.stringify({
        Statement: [{ Effect: "Allow", Action: ["s3:PutObject"], Resource: "arn:aws:s3:::site/*" }],
      }),
    });
    const logging = res("aws:s3/bucketLogging:BucketLogging", "other-logging", {
      bucket: "other",
      targetBucket: "site",
    });
    for (const writer of [notification, role, logging]) {
      const out = await runStack(s3Lifecycle, [site, index, writer, lifecycle(site, [abortRule])], lab);
      expect(out.messages, writer.name).to.have.length(1);
      expect(out.messages[0], writer.name).to.contain("also write(s) to it");
    }
  });

  it("fair use: a website bucket read by CloudFront (GET-only CORS, a read-only policy, its own logging elsewhere) passes", async () => {
    const cors = attached("bucketCorsConfiguration:BucketCorsConfiguration", "site-cors", site, {
      corsRules: [{ allowedMethods: ["GET", "HEAD"], allowedOrigins: ["*"] }],
    });
    const reader = res("aws:iam/rolePolicy:RolePolicy", "reader", {
      policy: JSON.stringify({
        Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::site/*" }],
      }),
    });
    const ownLogging = res("aws:s3/bucketLogging:BucketLogging", "site-logging", {
      bucket: "site",
      targetBucket: "logs",
    });
    const out = await runStack(s3Lifecycle, [site, index, cors, reader, ownLogging, lifecycle(site, [abortRule])], lab);
    expect(out.messages).to.deep.equal([]);
  });
});

describe("policies: s3-secure, the whole bucket policy", () => {
  const b = bucket("data");
  const tlsDeny = {
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: ["arn:aws:s3:::data", "arn:aws:s3:::data/*"],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };

  // Class: an Allow to Principal "*" was never looked at.
  it("refuses an Allow to anyone next to a correct TLS deny", async () => {
    const policy = JSON.stringify({
      Statement: [
        tlsDeny,
        { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::data/*" },
      ],
    });
    const out = await runStack(s3Secure, [b, ...secureParts(b, policy)]);
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.messages[0]).to.contain('its bucket policy allows s3:GetObject to anyone (Principal "*")');
    const awsStar = JSON.stringify({
      Statement: [
        tlsDeny,
        {
          Effect: "Allow",
          Principal: { AWS: ["*"] },
          Action: "s3:PutObject",
          Resource: "arn:aws:s3:::data/*",
          Condition: { Bool: { "aws:SecureTransport": "true" } },
        },
      ],
    });
    expect((await runStack(s3Secure, [b, ...secureParts(b, awsStar)])).messages).to.have.length(1);
  });

  it("fair use: CloudFront origin access control (a service principal with aws:SourceArn) passes", async () => {
    const policy = JSON.stringify({
      Statement: [
        tlsDeny,
        {
          Effect: "Allow",
          Principal: { Service: "cloudfront.amazonaws.com" },
          Action: "s3:GetObject",
          Resource: "arn:aws:s3:::data/*",
          Condition: { StringEquals: { "AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E1" } },
        },
      ],
    });
    expect((await runStack(s3Secure, [b, ...secureParts(b, policy)])).messages).to.deep.equal([]);
  });

  // Class: a TLS deny narrowed by an extra condition (so it applies almost nowhere) still counted.
  it("refuses a TLS deny narrowed by an extra condition", async () => {
    const narrowed = {
      ...tlsDeny,
      Condition: { Bool: { "aws:SecureTransport": "false" }, StringEquals: { "aws:SourceVpce": "vpce-123" } },
    };
    const out = await runStack(s3Secure, [b, ...secureParts(b, JSON.stringify({ Statement: [narrowed] }))]);
    expect(out.messages).to.have.length(1);
    expect(out.messages[0]).to.contain("does not deny requests made without TLS");
  });

  it("refuses a TLS deny on another bucket's ARN", async () => {
    const other = { ...tlsDeny, Resource: ["arn:aws:s3:::other", "arn:aws:s3:::other/*"] };
    const out = await runStack(s3Secure, [b, ...secureParts(b, JSON.stringify({ Statement: [other] }))]);
    expect(out.messages[0]).to.contain("does not deny requests made without TLS");
  });

  // False alarm: the same TLS deny split into two statements (bucket ARN in one, ARN/* in the other) was refused.
  it("fair use: the TLS deny split into two statements (bucket ARN, ARN/*) passes", async () => {
    const split = JSON.stringify({
      Statement: [
        { ...tlsDeny, Sid: "DenyBucket", Resource: "arn:aws:s3:::data" },
        { ...tlsDeny, Sid: "DenyObjects", Resource: "arn:aws:s3:::data/*" },
      ],
    });
    expect((await runStack(s3Secure, [b, ...secureParts(b, split)])).messages).to.deep.equal([]);
  });
});

describe("policies: s3-lifecycle follows the stack's own lab setting", () => {
  it("requires lab expiration in a stack whose config says lab: true, with no `lab` in the policy config", async () => {
    const b = bucket("uploads");
    const lab = await runStack(s3Lifecycle, [b, lifecycle(b, [abortRule])], {
      stack: "pr-7",
      stackConfig: { "media-pipeline:lab": "true" },
    });
    expect(lab.messages[0]).to.contain("is in a lab stack but its objects never expire within 30 days");
    const prod = await runStack(s3Lifecycle, [b, lifecycle(b, [abortRule])], { stack: "pr-7" });
    expect(prod.messages).to.deep.equal([]);
  });
});
