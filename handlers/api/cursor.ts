/**
 * Pagination cursors for GET /files: the position after the last item of a page in the
 * byProcessedAt index, bound to the filters of the listing, and signed.
 *
 *   cursor = base64url(JSON {v, k, t, s?, m?}) "." base64url(HMAC-SHA256(key, "v1." + payload))
 *
 * The HMAC key is derived (HKDF-SHA256) from a secret the API is configured with
 * (CURSOR_SECRET in the cloud, a per-lab random secret locally), so a client can neither
 * forge a position (e.g. to probe keys it was never shown) nor move a cursor to other
 * filters: any change is a 400, never a DynamoDB error. The payload is not encrypted (it
 * holds an object key and a timestamp the client has already seen).
 */
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { METADATA_TABLE } from "../../lib/schema";

/** The index position a page ends at: table key plus index keys, as DynamoDB's ExclusiveStartKey wants them. */
export type ListPosition = Record<string, string>;

/** The filters a cursor was issued for; a cursor only continues the listing it came from. */
export interface ListFilters {
  status?: string;
  kind?: string;
}

const PK = METADATA_TABLE.partitionKey.name;
const SORT = METADATA_TABLE.listIndex.sortKey.name;
const LIST_PK = METADATA_TABLE.listIndex.partitionKey.name;
const VERSION = 1;
const HKDF_INFO = "media-pipeline/list-cursor/v1";
/** Shortest secret accepted (characters): 256 bits of base64 is 43. */
export const MIN_CURSOR_SECRET_CHARS = 32;
/** Longest cursor accepted (an object key is at most 1,024 bytes). */
const MAX_CURSOR_CHARS = 2048;

export class InvalidCursorError extends Error {
  constructor(message = "the cursor is not one this API issued") {
    super(message);
    this.name = "InvalidCursorError";
  }
}

/** The position of an item (a returned document's key and processedAt) or of a LastEvaluatedKey. */
export function positionOf(item: Record<string, unknown>): ListPosition {
  const key = item[PK];
  const at = item[SORT];
  if (typeof key !== "string" || typeof at !== "string") throw new Error("item lacks the list index keys");
  return { [PK]: key, [LIST_PK]: METADATA_TABLE.listPartitionValue, [SORT]: at };
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
  s?: string;
  m?: string;
}

export function createCursorCodec(secret: string): CursorCodec {
  if (typeof secret !== "string" || secret.length < MIN_CURSOR_SECRET_CHARS) {
    throw new Error(`the cursor secret must be at least ${MIN_CURSOR_SECRET_CHARS} characters`);
  }
  const key = Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), Buffer.alloc(0), HKDF_INFO, 32));
  const mac = (payload: string) => createHmac("sha256", key).update(`v${VERSION}.${payload}`).digest();

  return {
    encode(position, filters) {
      const body: Payload = { v: VERSION, k: position[PK], t: position[SORT] };
      if (filters.status) body.s = filters.status;
      if (filters.kind) body.m = filters.kind;
      const payload = Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
      return `${payload}.${mac(payload).toString("base64url")}`;
    },

    decode(cursor, filters) {
      if (cursor.length > MAX_CURSOR_CHARS) throw new InvalidCursorError();
      const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(cursor);
      if (!m) throw new InvalidCursorError();
      const given = Buffer.from(m[2], "base64url");
      const expected = mac(m[1]);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new InvalidCursorError();
      let body: Payload;
      try {
        body = JSON.parse(Buffer.from(m[1], "base64url").toString("utf8")) as Payload;
      } catch {
        throw new InvalidCursorError();
      }
      if (body?.v !== VERSION || typeof body.k !== "string" || !body.k || typeof body.t !== "string" || !body.t) {
        throw new InvalidCursorError();
      }
      if ((body.s ?? "") !== (filters.status ?? "") || (body.m ?? "") !== (filters.kind ?? "")) {
        throw new InvalidCursorError("the cursor belongs to a listing with other filters; start again without it");
      }
      return { [PK]: body.k, [LIST_PK]: METADATA_TABLE.listPartitionValue, [SORT]: body.t };
    },
  };
}
