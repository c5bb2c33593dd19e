/**
 * Object keys on the lab's disk. In S3 a key is an opaque string of up to 1,024 UTF-8 bytes:
 * `a/../b`, `./x`, `a//b` and `%2E%2E%2F..` are ordinary keys, distinct from `b`, `x`, `a/b`
 * and `../`. s3rver's FilesystemStore joins the key's segments into a path unchecked, so
 * `..` segments climbed out of the lab's folder, `.` and empty segments were normalised away
 * (two keys, one file, while the event carried the literal key), and a segment over the file
 * system's 255-byte name limit failed with a 500.
 *
 * The lab replaces the store's key <-> path mapping (`keyToPath` / `pathToKey`, exact
 * inverses) and its bucket paths, so every key has its own file under its bucket's folder:
 * - `%` is written `%25`, so a `%XX` on disk is always an escape and decoding is exact;
 * - a `.` or `..` segment is `%2E` / `%2E%2E`, an empty segment other than the last is `%`
 *   (a key ending in `/` keeps s3rver's layout), a NUL is `%00`, and `.` inside a segment that
 *   contains `._S3rver_` (s3rver's own file suffix) is `%2E`: a key never names a store file;
 * - a segment longer than 200 bytes is cut into 200-byte pieces, each but the last followed
 *   by `%~` (which escaping never produces), one folder per piece.
 * Ordinary keys (`clips/a b+ü.mp4`) keep the layout s3rver gave them, so existing lab folders
 * read as before.
 *
 * Before anything is written, a path that would still leave the bucket's folder, a key over
 * 1,024 bytes and a bucket name S3 would refuse are refused with S3's own error codes.
 */
import * as path from "node:path";

/** S3's limit on a key, in UTF-8 bytes (S3 user guide, "Naming Amazon S3 objects"). */
export const MAX_KEY_BYTES = 1024;
/** Longest piece of a segment on disk: NAME_MAX (255) minus s3rver's suffixes and the temp file's. */
const PIECE_BYTES = 200;
const CONTINUED = "%~";

/** An S3-shaped refusal (s3rver's S3Error is built from it in lab/s3.ts). */
export class S3KeyError extends Error {
  constructor(
    readonly code: "KeyTooLongError" | "InvalidBucketName" | "InvalidArgument",
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

/** S3's bucket naming rules (general purpose buckets), enough to keep a name a single folder. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function checkBucketName(bucket: string): void {
  if (!BUCKET_NAME.test(bucket) || bucket.includes("..")) {
    throw new S3KeyError("InvalidBucketName", "The specified bucket is not valid.");
  }
}

export function checkKey(key: string): void {
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) {
    throw new S3KeyError("KeyTooLongError", "Your key is too long");
  }
}

function escapeSegment(segment: string, last: boolean): string {
  if (segment === "") return last ? "" : "%";
  if (segment === ".") return "%2E";
  if (segment === "..") return "%2E%2E";
  let s = segment.replace(/%/g, "%25").replace(/\0/g, "%00");
  if (s.includes("._S3rver_")) s = s.replace(/\./g, "%2E");
  return s;
}

/** Splits an escaped segment into pieces of at most PIECE_BYTES bytes, never inside a character or an escape. */
function pieces(escaped: string): string[] {
  if (Buffer.byteLength(escaped, "utf8") <= PIECE_BYTES) return [escaped];
  const out: string[] = [];
  let current = "";
  let bytes = 0;
  const units = escaped.match(/%[0-9A-F]{2}|[\s\S]/gu) ?? [];
  for (const unit of units) {
    const n = Buffer.byteLength(unit, "utf8");
    if (bytes + n > PIECE_BYTES - CONTINUED.length) {
      out.push(current + CONTINUED);
      current = "";
      bytes = 0;
    }
    current += unit;
    bytes += n;
  }
  out.push(current);
  return out;
}

/** The relative path (posix separators) under the bucket's folder that holds `key`, before s3rver's suffix. */
export function keyToPath(key: string): string {
  const segments = key.split("/");
  return segments.flatMap((s, i) => pieces(escapeSegment(s, i === segments.length - 1))).join("/");
}

/** The key stored at a relative path made by keyToPath (exact inverse). */
export function pathToKey(relative: string): string {
  const segments: string[] = [];
  let current = "";
  for (const part of relative.split("/")) {
    if (part.endsWith(CONTINUED)) {
      current += part.slice(0, -CONTINUED.length);
      continue;
    }
    segments.push(current + part);
    current = "";
  }
  return segments
    .map((s) =>
      s === "%" ? "" : s.replace(/%([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(Number.parseInt(hex, 16))),
    )
    .join("/");
}

/** `child` resolved, or an error when it is not strictly inside `root`. */
export function insideFolder(root: string, child: string): string {
  const resolved = path.resolve(child);
  const base = path.resolve(root);
  if (!resolved.startsWith(base + path.sep)) {
    throw new S3KeyError("InvalidArgument", "The key cannot be stored.");
  }
  return resolved;
}
