/**
 * MediaBucket: a private, encrypted, TLS-only S3 bucket with lifecycle rules, and
 * optionally CORS for browser uploads and event notifications to an SQS queue.
 *
 * The same component makes the ingest bucket (notifications + CORS), the metadata bucket
 * (neither) and the dashboard's site bucket (an extra CloudFront read statement).
 * In @pulumi/aws v7 a bucket's settings are separate resources; they are all children here.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { denyInsecureTransport, type PolicyStatement, policyDocument } from "./iam";
import { stateProtection } from "./refs";

/**
 * Every object creation (PUT, POST, COPY, multipart completion), removal (delete, delete
 * marker) and lifecycle expiration. Expirations are their own event types, not
 * ObjectRemoved:* (S3 user guide, "Configuring S3 Lifecycle event notifications"): without
 * them, objects a lifecycle rule deletes would keep their documents.
 */
export const ALL_OBJECT_EVENTS = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*", "s3:LifecycleExpiration:*"] as const;

export interface MediaBucketCorsArgs {
  /** Origins allowed to call the bucket from a browser, e.g. the dashboard's URL. */
  allowedOrigins: pulumi.Input<pulumi.Input<string>[]>;
  /** HTTP methods, e.g. ["PUT", "POST"] for presigned uploads. */
  allowedMethods: string[];
  /** Request headers the browser may send. Default: any. */
  allowedHeaders?: string[];
  /** Response headers the browser may read. Default: ETag (multipart uploads need it). */
  exposeHeaders?: string[];
  /** How long a browser caches a preflight answer. Default 3000 s. */
  maxAgeSeconds?: number;
}

export interface MediaBucketQueueNotificationArgs {
  /** ARN of the queue that receives the bucket's events. */
  queueArn: pulumi.Input<string>;
  /** URL (id) of the same queue, for its queue policy. */
  queueUrl: pulumi.Input<string>;
  /** Events to send. Default: all object creations and removals. */
  events?: string[];
}

export interface MediaBucketArgs {
  /**
   * Let `pulumi destroy` delete a bucket that still holds objects. On in lab stacks, so a
   * destroy leaves nothing behind; off in production, so data is never deleted by accident.
   */
  forceDestroy: boolean;
  /**
   * Pulumi refuses to delete or replace the bucket (`protect`) and, should it ever be removed
   * from the program, leaves it in the account (`retainOnDelete`). On for production data.
   * Default false.
   */
  protect?: boolean;
  /** Keep every version of every object. Default false. */
  versioning?: boolean;
  /** Delete current objects this many days after creation (lab stacks). Default: keep them. */
  expireObjectsAfterDays?: number;
  /** Delete the parts of multipart uploads never completed, after this many days. Default 1. */
  abortIncompleteMultipartUploadAfterDays?: number;
  /** With versioning, delete a version this many days after it stopped being current. Default 30. */
  noncurrentVersionExpirationDays?: number;
  /** CORS rule for browser access. Default: none. */
  cors?: MediaBucketCorsArgs;
  /**
   * Send object events to this queue. The component also writes the queue's policy (S3 may
   * send only for this bucket and account), because this bucket is the queue's only sender.
   */
  notifyQueue?: MediaBucketQueueNotificationArgs;
  /**
   * Statements added to the bucket policy, e.g. CloudFront's read access, given the bucket's
   * ARN (which does not exist before the component). The TLS-only deny is always there.
   */
  policyStatements?: (bucketArn: pulumi.Output<string>) => pulumi.Input<PolicyStatement>[];
}

export class MediaBucket extends pulumi.ComponentResource {
  public readonly bucket: aws.s3.Bucket;
  public readonly publicAccessBlock: aws.s3.BucketPublicAccessBlock;
  public readonly ownershipControls: aws.s3.BucketOwnershipControls;
  public readonly encryption: aws.s3.BucketServerSideEncryptionConfiguration;
  public readonly versioning?: aws.s3.BucketVersioning;
  public readonly lifecycle: aws.s3.BucketLifecycleConfiguration;
  public readonly policy: aws.s3.BucketPolicy;
  public readonly cors?: aws.s3.BucketCorsConfiguration;
  public readonly queuePolicy?: aws.sqs.QueuePolicy;
  public readonly notification?: aws.s3.BucketNotification;
  /** The bucket's name. */
  public readonly bucketName: pulumi.Output<string>;
  public readonly arn: pulumi.Output<string>;

  constructor(name: string, args: MediaBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:storage:MediaBucket", name, {}, opts);
    const parent = { parent: this };

    this.bucket = new aws.s3.Bucket(
      name,
      { forceDestroy: args.forceDestroy },
      { parent: this, ...stateProtection(args.protect) },
    );
    const bucketId = this.bucket.id;
    this.bucketName = this.bucket.bucket;
    this.arn = this.bucket.arn;

    this.publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: bucketId,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      parent,
    );

    // ACLs off: the bucket owner owns every object, whoever uploads it.
    this.ownershipControls = new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: bucketId, rule: { objectOwnership: "BucketOwnerEnforced" } },
      parent,
    );

    // SSE-S3: encrypted at rest without a KMS key, so readers and writers need no kms:* grants.
    this.encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      { bucket: bucketId, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
      parent,
    );

    if (args.versioning) {
      this.versioning = new aws.s3.BucketVersioning(
        `${name}-versioning`,
        { bucket: bucketId, versioningConfiguration: { status: "Enabled" } },
        parent,
      );
    }

    this.lifecycle = new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      { bucket: bucketId, rules: lifecycleRules(args) },
      // Lifecycle rules about noncurrent versions need versioning in place first.
      { parent: this, dependsOn: this.versioning ? [this.versioning] : [] },
    );

    this.policy = new aws.s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket: bucketId,
        policy: policyDocument([
          denyInsecureTransport([this.bucket.arn, pulumi.interpolate`${this.bucket.arn}/*`], "s3:*"),
          ...(args.policyStatements?.(this.bucket.arn) ?? []),
        ]),
      },
      // S3 rejects a policy while the public access block is being changed; set it after.
      { parent: this, dependsOn: [this.publicAccessBlock] },
    );

    if (args.cors) {
      this.cors = new aws.s3.BucketCorsConfiguration(
        `${name}-cors`,
        {
          bucket: bucketId,
          corsRules: [
            {
              allowedOrigins: args.cors.allowedOrigins,
              allowedMethods: args.cors.allowedMethods,
              allowedHeaders: args.cors.allowedHeaders ?? ["*"],
              exposeHeaders: args.cors.exposeHeaders ?? ["ETag"],
              maxAgeSeconds: args.cors.maxAgeSeconds ?? 3000,
            },
          ],
        },
        parent,
      );
    }

    if (args.notifyQueue) {
      const { queueArn, queueUrl } = args.notifyQueue;
      // The account id is the 5th field of the queue's ARN: no lookup (and no invoke under mocks) needed.
      const accountId = pulumi.output(queueArn).apply((arn) => arn.split(":")[4] ?? "");
      this.queuePolicy = new aws.sqs.QueuePolicy(
        `${name}-queue-policy`,
        {
          queueUrl,
          policy: policyDocument([
            {
              Sid: "AllowBucketNotifications",
              Effect: "Allow",
              Principal: { Service: "s3.amazonaws.com" },
              Action: "sqs:SendMessage",
              Resource: queueArn,
              Condition: {
                ArnEquals: { "aws:SourceArn": this.bucket.arn },
                StringEquals: { "aws:SourceAccount": accountId },
              },
            },
            denyInsecureTransport([queueArn], "sqs:*"),
          ]),
        },
        parent,
      );
      // S3 sends a test event when the notification is saved and refuses to save it if the
      // queue policy does not yet let it send: the policy must exist first.
      this.notification = new aws.s3.BucketNotification(
        `${name}-notification`,
        { bucket: bucketId, queues: [{ queueArn, events: args.notifyQueue.events ?? [...ALL_OBJECT_EVENTS] }] },
        { parent: this, dependsOn: [this.queuePolicy] },
      );
    }

    this.registerOutputs({ bucketName: this.bucketName, arn: this.arn });
  }
}

function lifecycleRules(args: MediaBucketArgs): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  const everything = { prefix: "" };
  const rules: aws.types.input.s3.BucketLifecycleConfigurationRule[] = [
    {
      id: "abort-incomplete-multipart-uploads",
      status: "Enabled",
      filter: everything,
      abortIncompleteMultipartUpload: { daysAfterInitiation: args.abortIncompleteMultipartUploadAfterDays ?? 1 },
    },
  ];
  if (args.expireObjectsAfterDays !== undefined) {
    if (!Number.isInteger(args.expireObjectsAfterDays) || args.expireObjectsAfterDays < 1) {
      throw new Error(`expireObjectsAfterDays must be a whole number of days >= 1, got ${args.expireObjectsAfterDays}`);
    }
    rules.push({
      id: "expire-objects",
      status: "Enabled",
      filter: everything,
      expiration: { days: args.expireObjectsAfterDays },
    });
  }
  if (args.versioning) {
    rules.push({
      id: "expire-noncurrent-versions",
      status: "Enabled",
      filter: everything,
      noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays ?? 30 },
    });
  }
  return rules;
}
