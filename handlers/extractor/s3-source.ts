/**
 * Byte ranges of one S3 object, pinned to the ETag (and version id) the event announced.
 */
import type { Readable } from "node:stream";
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from "@aws-sdk/client-s3";
import { type ByteSource, ObjectChangedError } from "./range-proxy";
import { type RetryPolicy, retryTransient } from "./retry";

/**
 * A ranged read that S3 answers 5xx / SlowDown is tried again for up to 3 s (beyond the SDK's
 * own attempts) before the probe is given up and its record retried: a throttling burst should
 * not cost a whole probe. Short, because ffprobe is waiting on the read.
 */
export const RANGE_READ_RETRY: RetryPolicy = { baseMs: 100, capMs: 1_000, maxAttempts: 6, budgetMs: 3_000 };

export interface S3ObjectRef {
  s3: S3Client;
  bucket: string;
  key: string;
  size: number;
  /** ETag without quotes. */
  etag?: string;
  versionId?: string;
}

function isGoneOrChanged(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  return (
    ["NoSuchKey", "NoSuchVersion", "PreconditionFailed"].includes(e?.name ?? "") || status === 404 || status === 412
  );
}

export function s3Source(ref: S3ObjectRef): ByteSource {
  const where = `s3://${ref.bucket}/${ref.key}`;
  return {
    size: ref.size,
    async read(start, end, signal) {
      let res: GetObjectCommandOutput;
      try {
        res = await retryTransient(
          () =>
            ref.s3.send(
              new GetObjectCommand({
                Bucket: ref.bucket,
                Key: ref.key,
                Range: `bytes=${start}-${end}`,
                IfMatch: ref.etag ? `"${ref.etag}"` : undefined,
                VersionId: ref.versionId,
              }),
              { abortSignal: signal },
            ),
          RANGE_READ_RETRY,
        );
      } catch (err) {
        if (isGoneOrChanged(err)) {
          throw new ObjectChangedError(`${where} changed or vanished since the event: ${(err as Error).name}`, {
            cause: err,
          });
        }
        throw err;
      }
      // Not every S3 implementation honours If-Match on GET (s3rver does not): compare too.
      const etag = res.ETag?.replace(/"/g, "");
      if (ref.etag && etag && etag !== ref.etag) {
        (res.Body as Readable | undefined)?.destroy();
        throw new ObjectChangedError(`${where} now has ETag ${etag}; the event announced ${ref.etag}`);
      }
      return { body: res.Body as Readable, contentType: res.ContentType };
    },
  };
}
