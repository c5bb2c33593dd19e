/**
 * ListObjectsV2 for the lab's S3, answered from s3rver's store.
 *
 * s3rver 3.7 makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 17 and
 * later) no longer provides: every truncated listing - any bucket of more than MaxKeys
 * (1,000) objects - fails with InternalError. The lab's HTTP server answers
 * `GET /<bucket>?list-type=2` here instead, from the same FilesystemStore.listObjects, with
 * an opaque token (base64url of the last key returned) and S3's XML.
 */
import type * as http from "node:http";

/** The part of s3rver's FilesystemStore this needs. */
export interface ListingStore {
  getBucket(bucket: string): Promise<unknown>;
  listObjects(
    bucket: string,
    options: { prefix?: string; delimiter?: string; startAfter?: string; maxKeys?: number },
  ): Promise<{
    objects: { key: string; size: number; lastModifiedDate: Date; metadata: Record<string, string> }[];
    commonPrefixes: string[];
    isTruncated: boolean;
    /** The last key or common prefix of the page (lab/s3-store-paths.ts). */
    nextStartAfter?: string;
  }>;
}

const TOKEN_PREFIX = "lab1:";

export function encodeContinuationToken(lastKey: string): string {
  return Buffer.from(`${TOKEN_PREFIX}${lastKey}`, "utf8").toString("base64url");
}

export function decodeContinuationToken(token: string): string | undefined {
  const text = Buffer.from(token, "base64url").toString("utf8");
  return text.startsWith(TOKEN_PREFIX) ? text.slice(TOKEN_PREFIX.length) : undefined;
}

function xml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] as string,
  );
}

function errorXml(code: string, message: string, extra = ""): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xml(message)}</Message>${extra}</Error>`;
}

/** The bucket of a path-style ListObjectsV2 request, or undefined when `req` is not one. */
export function listObjectsV2Bucket(req: http.IncomingMessage): string | undefined {
  if (req.method !== "GET") return undefined;
  const url = new URL(req.url ?? "/", "http://lab");
  if (url.searchParams.get("list-type") !== "2") return undefined;
  const m = /^\/([^/]+)\/?$/.exec(url.pathname);
  return m ? decodeURIComponent(m[1]) : undefined;
}

/** Answers a ListObjectsV2 request (see listObjectsV2Bucket) from `store`. */
export async function handleListObjectsV2(
  store: ListingStore,
  bucket: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  requestId: string,
): Promise<void> {
  const q = new URL(req.url ?? "/", "http://lab").searchParams;
  const send = (status: number, body: string) => {
    res.writeHead(status, {
      "Content-Type": "application/xml",
      "Content-Length": Buffer.byteLength(body),
      "x-amz-request-id": requestId,
    });
    res.end(body);
  };
  if (!(await store.getBucket(bucket))) {
    send(
      404,
      errorXml("NoSuchBucket", "The specified bucket does not exist", `<BucketName>${xml(bucket)}</BucketName>`),
    );
    return;
  }
  const rawMax = q.get("max-keys");
  const maxKeys = rawMax === null ? 1000 : Number(rawMax);
  if (!Number.isInteger(maxKeys) || maxKeys < 0) {
    send(400, errorXml("InvalidArgument", "Provided max-keys not an integer or within integer range"));
    return;
  }
  const prefix = q.get("prefix") ?? "";
  const delimiter = q.get("delimiter") ?? "";
  const token = q.get("continuation-token");
  const startAfterParam = q.get("start-after") ?? "";
  let startAfter = startAfterParam;
  if (token !== null) {
    const decoded = decodeContinuationToken(token);
    if (decoded === undefined) {
      send(400, errorXml("InvalidArgument", "The continuation token provided is incorrect"));
      return;
    }
    startAfter = decoded;
  }
  const urlEncode = q.get("encoding-type") === "url";
  const enc = (s: string) => xml(urlEncode ? encodeURIComponent(s).replace(/%2F/g, "/") : s);

  const result =
    maxKeys === 0
      ? { objects: [], commonPrefixes: [], isTruncated: false }
      : await store.listObjects(bucket, {
          prefix,
          delimiter,
          startAfter,
          maxKeys: Math.min(maxKeys, 1000),
        });
  const last = "nextStartAfter" in result ? result.nextStartAfter : result.objects.at(-1)?.key;
  const parts = [
    `<Name>${xml(bucket)}</Name>`,
    `<Prefix>${enc(prefix)}</Prefix>`,
    ...(delimiter ? [`<Delimiter>${enc(delimiter)}</Delimiter>`] : []),
    `<MaxKeys>${maxKeys}</MaxKeys>`,
    `<KeyCount>${result.objects.length + result.commonPrefixes.length}</KeyCount>`,
    `<IsTruncated>${result.isTruncated}</IsTruncated>`,
    ...(token !== null ? [`<ContinuationToken>${xml(token)}</ContinuationToken>`] : []),
    ...(result.isTruncated && last !== undefined
      ? [`<NextContinuationToken>${encodeContinuationToken(last)}</NextContinuationToken>`]
      : []),
    ...(token === null && startAfterParam ? [`<StartAfter>${enc(startAfterParam)}</StartAfter>`] : []),
    ...(urlEncode ? ["<EncodingType>url</EncodingType>"] : []),
    ...result.objects.map(
      (o) =>
        `<Contents><Key>${enc(o.key)}</Key><LastModified>${o.lastModifiedDate.toISOString()}</LastModified>` +
        `<ETag>${xml(o.metadata.etag ?? "")}</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
    ),
    ...result.commonPrefixes.map((p) => `<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`),
  ];
  send(
    200,
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join("")}</ListBucketResult>`,
  );
}
