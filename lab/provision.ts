/**
 * Idempotent set-up of the lab's buckets, run on every start: create what is missing,
 * (re)apply the CORS rules browsers need to upload straight into the ingest bucket.
 */
import {
  type CORSRule,
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketCorsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";

export async function ensureBucket(s3: S3Client, bucket: string): Promise<"created" | "existing"> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return "existing";
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404 && (err as Error).name !== "NotFound" && (err as Error).name !== "NoSuchBucket") throw err;
  }
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return "created";
}

/** CORS for browser uploads (PUT to a presigned URL, POST of a form) and reads from the given origins. */
export function uploadCorsRules(origins: readonly string[]): CORSRule[] {
  return [
    {
      AllowedOrigins: [...origins],
      AllowedMethods: ["GET", "HEAD", "PUT", "POST"],
      AllowedHeaders: ["*"],
      ExposeHeaders: ["ETag", "x-amz-request-id", "x-amz-version-id"],
      MaxAgeSeconds: 3000,
    },
  ];
}

export async function applyCors(s3: S3Client, bucket: string, origins: readonly string[]): Promise<void> {
  await s3.send(
    new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: uploadCorsRules(origins) } }),
  );
}
