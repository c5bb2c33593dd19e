/**
 * The read API as plain functions: API Gateway HTTP API (payload format 2.0) event in,
 * structured result out. The Lambda entry (index.ts) and the local lab's gateway both
 * call createApi; the routes and which of them are public are declared once, here, for
 * the Pulumi API component and the lab gateway alike.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import {
  type DocumentStatus,
  EXTRACTOR_VERSION,
  METADATA_TABLE,
  type MediaKind,
  type MetadataDocument,
  SCHEMA_VERSION,
} from "../../lib/schema";
import { decodeCursor, encodeCursor, InvalidCursorError, type ListPosition, positionOf } from "./cursor";
import { ProblemError, problemResponse } from "./problem";

export const API_ROUTES = {
  health: "GET /health",
  listFiles: "GET /files",
  getFile: "GET /files/{key+}",
} as const;

export interface RouteDeclaration {
  routeKey: string;
  /** Public routes need no token; every other route is behind the authorizer. */
  public: boolean;
}

/** Every route of the API. Gateways (cloud and lab) create exactly these. */
export const ROUTE_TABLE: readonly RouteDeclaration[] = [
  { routeKey: API_ROUTES.health, public: true },
  { routeKey: API_ROUTES.listFiles, public: false },
  { routeKey: API_ROUTES.getFile, public: false },
];

export const LIST_LIMITS = { min: 1, max: 100, default: 25 } as const;
export const STATUS_VALUES: readonly DocumentStatus[] = ["ok", "unprocessable"];
export const KIND_VALUES: readonly MediaKind[] = ["video", "audio", "image", "other"];
/** S3's limit on key length; longer keys cannot name an object. */
const MAX_KEY_BYTES = 1024;
/** With a filter, at most this many queries (and MAX_FILTERED_READ items each) are spent on one page. */
const MAX_QUERIES_PER_PAGE = 5;
const MAX_FILTERED_READ = 200;

export interface ApiOptions {
  dynamodb: DynamoDBClient;
  tableName: string;
  logger?: Logger;
}

export type Api = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export interface FileList {
  items: MetadataDocument[];
  /** Present when more items may follow: pass it back as `cursor`. */
  nextCursor?: string;
}

/** Table bookkeeping that is not part of the document. */
const BOOKKEEPING = [
  METADATA_TABLE.partitionKey.name,
  METADATA_TABLE.listIndex.partitionKey.name,
  METADATA_TABLE.ttlAttribute,
  "deleted",
] as const;

export function toDocument(item: Record<string, unknown>): MetadataDocument {
  const doc: Record<string, unknown> = { ...item };
  for (const name of BOOKKEEPING) delete doc[name];
  return doc as unknown as MetadataDocument;
}

function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
    body: JSON.stringify(body),
  };
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined || raw === "") return LIST_LIMITS.default;
  const n = /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < LIST_LIMITS.min || n > LIST_LIMITS.max) {
    throw new ProblemError(
      "invalidParameter",
      `limit must be an integer from ${LIST_LIMITS.min} to ${LIST_LIMITS.max}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

function parseEnum<T extends string>(name: string, raw: string | undefined, allowed: readonly T[]): T | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ProblemError(
      "invalidParameter",
      `${name} must be one of ${allowed.join(", ")}, got ${JSON.stringify(raw.slice(0, 64))}`,
    );
  }
  return raw as T;
}

export function createApi(options: ApiOptions): Api {
  const doc = DynamoDBDocumentClient.from(options.dynamodb);
  const logger = options.logger ?? new Logger({ serviceName: "api" });
  const table = options.tableName;
  const index = METADATA_TABLE.listIndex;

  async function listFiles(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const q = event.queryStringParameters ?? {};
    const limit = parseLimit(q.limit);
    const status = parseEnum("status", q.status, STATUS_VALUES);
    const kind = parseEnum("kind", q.kind, KIND_VALUES);
    let start: ListPosition | undefined;
    if (q.cursor !== undefined && q.cursor !== "") {
      try {
        start = decodeCursor(q.cursor);
      } catch (err) {
        if (err instanceof InvalidCursorError) throw new ProblemError("invalidParameter", `cursor: ${err.message}`);
        throw err;
      }
    }

    const names: Record<string, string> = { "#lp": index.partitionKey.name };
    const values: Record<string, unknown> = { ":lp": METADATA_TABLE.listPartitionValue };
    const filters: string[] = [];
    if (status) {
      names["#status"] = "status";
      values[":status"] = status;
      filters.push("#status = :status");
    }
    if (kind) {
      names["#kind"] = "kind";
      values[":kind"] = kind;
      filters.push("#kind = :kind");
    }
    const filtered = filters.length > 0;

    const items: Record<string, unknown>[] = [];
    let more = false;
    for (let queries = 0; queries < MAX_QUERIES_PER_PAGE; queries++) {
      const remaining = limit - items.length;
      const input: QueryCommandInput = {
        TableName: table,
        IndexName: index.name,
        KeyConditionExpression: "#lp = :lp",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        // Limit counts items read, before the filter: read more when filtering.
        Limit: filtered ? Math.min(Math.max(remaining * 4, 50), MAX_FILTERED_READ) : remaining,
        ...(filtered ? { FilterExpression: filters.join(" AND ") } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      };
      const res = await doc.send(new QueryCommand(input));
      const page = (res.Items ?? []).filter((item) => item.deleted !== true);
      items.push(...page.slice(0, remaining));
      start = res.LastEvaluatedKey as ListPosition | undefined;
      if (page.length > remaining) {
        more = true; // read past the page: resume after the last returned item
        break;
      }
      if (!start) break;
      if (items.length >= limit) {
        more = true;
        break;
      }
    }
    let nextCursor: string | undefined;
    if (more && items.length > 0) nextCursor = encodeCursor(positionOf(items[items.length - 1]));
    // Out of read budget with a short page: continue from where the reads stopped.
    else if (start) nextCursor = encodeCursor(positionOf(start));
    const body: FileList = { items: items.map(toDocument), ...(nextCursor ? { nextCursor } : {}) };
    return json(200, body);
  }

  async function getFile(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const key = event.pathParameters?.key;
    if (!key) throw new ProblemError("invalidParameter", "the object key is missing");
    if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) {
      throw new ProblemError("invalidParameter", `an object key is at most ${MAX_KEY_BYTES} bytes of UTF-8`);
    }
    const res = await doc.send(new GetCommand({ TableName: table, Key: { [METADATA_TABLE.partitionKey.name]: key } }));
    const item = res.Item;
    if (!item || item.deleted === true) {
      return problemResponse("notFound", `no metadata for the object key ${JSON.stringify(key)}`);
    }
    return json(200, toDocument(item));
  }

  return async function api(event) {
    try {
      switch (event.routeKey) {
        case API_ROUTES.health:
          return json(200, { status: "ok", schemaVersion: SCHEMA_VERSION, extractorVersion: EXTRACTOR_VERSION });
        case API_ROUTES.listFiles:
          return await listFiles(event);
        case API_ROUTES.getFile:
          return await getFile(event);
        default:
          return problemResponse("routeNotFound", `no route for ${event.routeKey}`);
      }
    } catch (err) {
      if (err instanceof ProblemError) return problemResponse(err.kind, err.detail);
      const requestId = event.requestContext?.requestId;
      logger.error("request failed", { routeKey: event.routeKey, requestId, error: err as Error });
      return problemResponse(
        "internal",
        `the request could not be completed${requestId ? ` (request id ${requestId})` : ""}`,
      );
    }
  };
}
