/**
 * Browser uploads: POST /uploads answers with a presigned PUT into the ingest bucket.
 *
 * Why a presigned PUT (and not a POST policy): the URL signs `content-length` and
 * `content-type` (X-Amz-SignedHeaders=content-length;content-type;host), so S3 itself
 * refuses a body of any other size or type (SignatureDoesNotMatch): the size is enforced
 * server-side exactly, not just as a range, and the API has already refused a declared
 * size above the maximum. It needs only @aws-sdk/s3-request-presigner (shared with the
 * raw-metadata links), which shares the SDK packages already installed, where
 * @aws-sdk/s3-presigned-post pins its own copy of @aws-sdk/client-s3. A single PUT is
 * limited to 5 GiB, which bounds UPLOAD_MAX_BYTES.
 *
 * The S3 client used for presigning must have `requestChecksumCalculation: "WHEN_REQUIRED"`:
 * otherwise the SDK adds `x-amz-checksum-crc32` of an *empty* body to the URL and S3
 * rejects the real upload (BadDigest).
 *
 * s3rver (the lab) checks no signature at all: there, size and type are only checked by
 * the API when the upload is requested.
 */
import { randomBytes } from "node:crypto";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { UPLOAD_PREFIX } from "../../lib/naming";
import { MAX_SINGLE_PUT_BYTES, UPLOAD_CONTENT_TYPES } from "../../lib/uploads";

export { MAX_SINGLE_PUT_BYTES, UPLOAD_CONTENT_TYPES } from "../../lib/uploads";

export interface UploadPolicy {
  /** Largest object a browser may upload, in bytes (at most MAX_SINGLE_PUT_BYTES). */
  maxBytes: number;
  /** Accepted content types: "type/subtype", or "type/*" for any subtype of a type. */
  contentTypes: readonly string[];
  /** Lifetime of the presigned URL, in seconds. */
  expiresInSeconds: number;
}

export const DEFAULT_UPLOAD_POLICY: UploadPolicy = {
  maxBytes: MAX_SINGLE_PUT_BYTES,
  contentTypes: UPLOAD_CONTENT_TYPES,
  expiresInSeconds: 15 * 60,
};

/** A bare media type, lower case, no parameters (RFC 6838 restricted names). */
export const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

export function contentTypeDeclared(contentType: string, declared: readonly string[]): boolean {
  const [type] = contentType.split("/");
  return declared.some((d) => d === contentType || (d.endsWith("/*") && d.slice(0, -2) === type));
}

/** What a user id may look like to name a folder (Cognito's `sub` is a UUID). */
export const SAFE_SUBJECT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const MAX_NAME_CHARS = 120;

/**
 * A file name safe to put in a key: the last path segment, NFC, letters, digits, "_" and
 * "-" (any other run becomes one "-") plus one "." before the extension, at most 120
 * characters keeping the extension; "upload" when no name is left.
 */
export function safeFileName(fileName: string): string {
  const clean = (part: string) =>
    part
      .normalize("NFC")
      .replace(/[^\p{L}\p{N}_-]+/gu, "-")
      .replace(/-{2,}/g, "-")
      .replace(/^-+|-+$/g, "");
  const base = (fileName.split(/[\\/]/).pop() ?? "").replace(/^\.+/, "");
  const dot = base.lastIndexOf(".");
  let stem = clean(dot > 0 ? base.slice(0, dot) : base);
  const ext = dot > 0 ? [...clean(base.slice(dot + 1))].slice(0, 16).join("") : "";
  const room = MAX_NAME_CHARS - (ext ? [...ext].length + 1 : 0);
  stem = [...stem].slice(0, room).join("").replace(/-+$/, "") || "upload";
  return ext ? `${stem}.${ext}` : stem;
}

/**
 * `uploads/<sub>/<name>-<UTC time>-<6 hex>.<ext>`: one folder per user, the readable name
 * first, made unique by the upload's time and 24 random bits (no folder per upload, no UUID
 * in the name), e.g. uploads/<sub>/my-holiday-clip-20261202-044400-3f9a1c.mp4.
 */
export function uploadKey(
  subject: string,
  fileName: string,
  now: Date = new Date(),
  suffix: string = randomBytes(3).toString("hex"),
): string {
  const safe = safeFileName(fileName);
  const dot = safe.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [safe.slice(0, dot), safe.slice(dot)] : [safe, ""];
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${UPLOAD_PREFIX}${subject}/${stem}-${stamp}-${suffix}${ext}`;
}

export interface PresignedPut {
  method: "PUT";
  url: string;
  /** Headers the request must carry exactly as given (a browser sets content-length itself). */
  headers: Record<string, string>;
  key: string;
  expiresAt: string;
}

export async function presignUpload(
  s3: S3Client,
  bucket: string,
  key: string,
  contentType: string,
  size: number,
  expiresInSeconds: number,
  now: Date = new Date(),
): Promise<PresignedPut> {
  const url = await getSignedUrl(
    s3,
    new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: contentType, ContentLength: size }),
    { expiresIn: expiresInSeconds, signableHeaders: new Set(["content-type", "content-length"]), signingDate: now },
  );
  return {
    method: "PUT",
    url,
    headers: { "content-type": contentType, "content-length": String(size) },
    key,
    expiresAt: new Date(now.getTime() + expiresInSeconds * 1000).toISOString(),
  };
}
