/**
 * Pagination cursors for GET /files: the position after the last item of a page in the
 * byProcessedAt index, as base64url JSON. Opaque to clients; decoding validates the shape
 * so a tampered cursor is a 400, not a DynamoDB error. (Signing comes with the API issue.)
 */
import { METADATA_TABLE } from "../../lib/schema";

/** The index position a page ends at: table key plus index keys, as DynamoDB's ExclusiveStartKey wants them. */
export type ListPosition = Record<string, string>;

const PK = METADATA_TABLE.partitionKey.name;
const SORT = METADATA_TABLE.listIndex.sortKey.name;
const LIST_PK = METADATA_TABLE.listIndex.partitionKey.name;

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

export function encodeCursor(position: ListPosition): string {
  return Buffer.from(JSON.stringify({ k: position[PK], t: position[SORT] }), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): ListPosition {
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(cursor)) throw new InvalidCursorError();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new InvalidCursorError();
  }
  const { k, t } = (parsed ?? {}) as { k?: unknown; t?: unknown };
  if (typeof k !== "string" || k.length === 0 || typeof t !== "string" || t.length === 0) {
    throw new InvalidCursorError();
  }
  return { [PK]: k, [LIST_PK]: METADATA_TABLE.listPartitionValue, [SORT]: t };
}
