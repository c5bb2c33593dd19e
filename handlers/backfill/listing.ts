/**
 * Bucket listings as ObjectListing pages: ListObjectsV2 one page (up to 1,000 keys) at a
 * time, so a bucket of any size is walked in bounded memory.
 */
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { lastModifiedIso, type ObjectListing, unquoteEtag } from "./select";

export interface ListOptions {
  prefix?: string;
  /** Keys per page (MaxKeys), 1..1000. */
  pageSize?: number;
  signal?: AbortSignal;
}

export async function* listObjectPages(
  s3: S3Client,
  bucket: string,
  options: ListOptions = {},
): AsyncGenerator<ObjectListing[]> {
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: options.prefix || undefined,
        MaxKeys: options.pageSize ?? 1000,
        ContinuationToken: token,
      }),
      { abortSignal: options.signal },
    );
    const objects = (page.Contents ?? [])
      .filter((o) => typeof o.Key === "string")
      .map(
        (o): ObjectListing => ({
          key: o.Key as string,
          size: o.Size ?? 0,
          etag: unquoteEtag(o.ETag),
          lastModified: lastModifiedIso(o.LastModified),
        }),
      );
    if (objects.length > 0) yield objects;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
