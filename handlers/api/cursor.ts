/**
 * Pagination cursors for GET /files: the position after the last item of a page in the
 * sharded byProcessedAt index (lib/list-index.ts), bound to the filters of the listing, and
 * signed.
 *
 *   cursor = base64url(JSON {v, k, t, h, x?, s?, m?, q?, p?}) "." base64url(HMAC-SHA256(key, "v2." + payload))
 *
 * The listing is the N shards merged newest first, ties of processedAt broken by shard
 * number. A position is one point of that merged order (k: object key, t: processedAt,
 * h: the shard it is in), and it carries every shard's position at once: shard h resumes
 * right after item k (ExclusiveStartKey), a shard below h after all items at t (processedAt
 * < t), a shard above h from the items at t on (processedAt <= t); x is a bit mask of the
 * shards already read to the end, which are not queried again. One position instead of N
 * (object keys up to 1,024 bytes each) keeps a cursor short whatever N is.
 *
 * The HMAC key is derived (HKDF-SHA256) from a secret the API is configured with
 * (CURSOR_SECRET in the cloud, a per-lab random secret locally), so a client can neither
 * forge a position (e.g. to probe keys it was never shown) nor move a cursor to other
 * filters: any change is a 400, never a DynamoDB error. The payload is not encrypted (it
 * holds an object key and a timestamp the client has already seen). Version-1 cursors
 * (issued before sharding, shard 0 only) are still accepted: they name a position in shard 0.
 */
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { METADATA_TABLE } from "../../lib/schema";

/** A position in the merged listing (see above). */
export interface ListPosition {
  /** Object key of the item the position is at. */
  objectKey: string;
  processedAt: string;
  /** The shard that item is in. */
  shard: number;
  /** Shards read to the end (bit i = shard i). */
  exhausted?: number;
}

/** The filters a cursor was issued for; a cursor only continues the listing it came from. */
export interface ListFilters {
  status?: string;
  kind?: string;
  /** File-name search, as typed. */
  q?: string;
  /** Key prefix. */
  prefix?: string;
}

const PK = METADATA_TABLE.partitionKey.name;
const SORT = METADATA_TABLE.listIndex.sortKey.name;
const VERSION = 2;
const HKDF_INFO = "media-pipeline/list-cursor/v1";
/** Shortest secret accepted (characters): 256 bits of base64 is 43. */
export const MIN_CURSOR_SECRET_CHARS = 32;
/** Longest cursor accepted (an object key and a key prefix are at most 1,024 bytes each). */
export const MAX_CURSOR_CHARS = 4096;

export class InvalidCursorError extends Error {
  constructor(message = "the cursor is not one this API issued") {
    super(message);
    this.name = "InvalidCursorError";
  }
}

/** The position of an item (a returned document or a LastEvaluatedKey) in shard `shard`. */
export function positionOf(item: Record<string, unknown>, shard: number): ListPosition {
  const key = item[PK];
  const at = item[SORT];
  if (typeof key !== "string" || typeof at !== "string") throw new Error("item lacks the list index keys");
  return { objectKey: key, processedAt: at, shard };
}

export interface CursorCodec {
  encode(position: ListPosition, filters: ListFilters): string;
  /** The position a cursor names; throws InvalidCursorError when it was altered, forged or issued for other filters. */
  decode(cursor: string, filters: ListFilters): ListPosition;
}

interface Payload {
  v: number;
  k: string;
  t: string;
  h?: number;
  x?: number;
  s?: string;
  m?: string;
  q?: string;
  p?: string;
}

const FILTER_FIELDS = [
  ["s", "status"],
  ["m", "kind"],
  ["q", "q"],
  ["p", "prefix"],
] as const;

export function createCursorCodec(secret: string): CursorCodec {
  if (typeof secret !== "string" || secret.length < MIN_CURSOR_SECRET_CHARS) {
    throw new Error(`the cursor secret must be at least ${MIN_CURSOR_SECRET_CHARS} characters`);
  }
  const key = Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), Buffer.alloc(0), HKDF_INFO, 32));
  const mac = (version: number, payload: string) => createHmac("sha256", key).update(`v${version}.${payload}`).digest();

  return {
    encode(position, filters) {
      const body: Payload = { v: VERSION, k: position.objectKey, t: position.processedAt, h: position.shard };
      if (position.exhausted) body.x = position.exhausted;
      for (const [field, name] of FILTER_FIELDS) if (filters[name]) body[field] = filters[name];
      const payload = Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
      return `${payload}.${mac(VERSION, payload).toString("base64url")}`;
    },

    decode(cursor, filters) {
      if (cursor.length > MAX_CURSOR_CHARS) throw new InvalidCursorError();
      const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(cursor);
      if (!m) throw new InvalidCursorError();
      const given = Buffer.from(m[2], "base64url");
      // The version is inside the signed payload; try the current one, then version 1.
      const signedAs = [VERSION, 1].find((v) => {
        const expected = mac(v, m[1]);
        return given.length === expected.length && timingSafeEqual(given, expected);
      });
      if (signedAs === undefined) throw new InvalidCursorError();
      let body: Payload;
      try {
        body = JSON.parse(Buffer.from(m[1], "base64url").toString("utf8")) as Payload;
      } catch {
        throw new InvalidCursorError();
      }
      if (body?.v !== signedAs || typeof body.k !== "string" || !body.k || typeof body.t !== "string" || !body.t) {
        throw new InvalidCursorError();
      }
      const shard = signedAs === 1 ? 0 : body.h;
      if (!Number.isInteger(shard) || (shard as number) < 0) throw new InvalidCursorError();
      if (body.x !== undefined && !(Number.isSafeInteger(body.x) && body.x >= 0)) throw new InvalidCursorError();
      for (const [field, name] of FILTER_FIELDS) {
        if ((body[field] ?? "") !== (filters[name] ?? "")) {
          throw new InvalidCursorError("the cursor belongs to a listing with other filters; start again without it");
        }
      }
      return {
        objectKey: body.k,
        processedAt: body.t,
        shard: shard as number,
        ...(body.x ? { exhausted: body.x } : {}),
      };
    },
  };
}
