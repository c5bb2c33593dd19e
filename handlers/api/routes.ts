/**
 * The read API as plain functions: API Gateway HTTP API (payload format 2.0) event in,
 * structured result out. The Lambda entry (index.ts) and the local lab's gateway both
 * call createApi; the routes, which of them are public and the scopes each requires are
 * declared once in lib/api-routes.ts (ROUTE_TABLE), for the Pulumi API component and the lab
 * gateway alike.
 *
 * Authentication happens before the handler: API Gateway's JWT authorizer (the lab
 * gateway's stand-in for it) checks the token and the route's scopes and passes the
 * claims in requestContext.authorizer.jwt.claims. The handler only reads `sub` from them
 * (POST /uploads: the user's folder).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, GetCommand, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { API_ROUTES } from "../../lib/api-routes";
import { EXTRACTOR_VERSION, METADATA_TABLE, type MetadataDocument, SCHEMA_VERSION } from "../../lib/schema";
import { createCursorCodec, InvalidCursorError, type ListFilters, type ListPosition, positionOf } from "./cursor";
import { ProblemError, problemResponse } from "./problem";
import {
  contentTypeDeclared,
  DEFAULT_UPLOAD_POLICY,
  MAX_SINGLE_PUT_BYTES,
  presignUpload,
  type UploadPolicy,
  uploadKey,
} from "./uploads";
import {
  fileKeySchema,
  listQuerySchema,
  MAX_UPLOAD_REQUEST_BYTES,
  parseInput,
  queryOf,
  uploaderClaimsSchema,
  uploadRequestSchema,
} from "./validation";

export { API_ROUTES, ROUTE_TABLE, type RouteDeclaration } from "../../lib/api-routes";
export { KIND_VALUES, LIST_LIMITS, STATUS_VALUES } from "./validation";

/** With a filter, at most this many queries (and MAX_FILTERED_READ items each) are spent on one page. */
const MAX_QUERIES_PER_PAGE = 5;
const MAX_FILTERED_READ = 200;
/** Lifetime of the presigned link to the raw ffprobe JSON. */
export const RAW_LINK_TTL_SECONDS = 5 * 60;

export interface ApiOptions {
  dynamodb: DynamoDBClient;
  tableName: string;
  /**
   * Presigns upload URLs and raw-metadata links (no request is sent). Build it with
   * `requestChecksumCalculation: "WHEN_REQUIRED"` (see uploads.ts).
   */
  s3: S3Client;
  /** Where browser uploads go (under UPLOAD_PREFIX). */
  ingestBucket: string;
  /** The only bucket raw-metadata links are presigned for. */
  metadataBucket: string;
  /** Secret the list cursors are signed with (at least 32 characters). */
  cursorSecret: string;
  /** Upload limits; defaults: DEFAULT_UPLOAD_POLICY. */
  uploads?: Partial<UploadPolicy>;
  rawLinkTtlSeconds?: number;
  logger?: Logger;
  /** Clock (tests). */
  now?: () => Date;
}

export type Api = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export interface FileList {
  items: MetadataDocument[];
  /** Present when more items may follow: pass it back as `cursor` (with the same filters). */
  nextCursor?: string;
}

/** GET /files/{key}: the document and, when it has one, a short-lived link to the full ffprobe JSON. */
export interface FileDetail extends MetadataDocument {
  rawUrl?: string;
  rawUrlExpiresAt?: string;
}

/** POST /uploads: where to PUT the bytes. The document appears at GET /files/{key} once processed. */
export interface UploadGrant {
  bucket: string;
  key: string;
  upload: {
    method: "PUT";
    url: string;
    headers: Record<string, string>;
    key: string;
    expiresAt: string;
  };
  maxBytes: number;
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

/** The upload policy in force: defaults, overridden by options, checked. */
export function resolveUploadPolicy(overrides: Partial<UploadPolicy> = {}): UploadPolicy {
  const policy = { ...DEFAULT_UPLOAD_POLICY, ...overrides };
  if (!Number.isSafeInteger(policy.maxBytes) || policy.maxBytes < 1 || policy.maxBytes > MAX_SINGLE_PUT_BYTES) {
    throw new Error(`the upload limit must be a whole number of bytes from 1 to ${MAX_SINGLE_PUT_BYTES}`);
  }
  if (policy.contentTypes.length === 0) throw new Error("at least one upload content type must be declared");
  if (!(policy.expiresInSeconds >= 1 && policy.expiresInSeconds <= 7 * 24 * 3600)) {
    throw new Error("the upload URL lifetime must be from 1 second to 7 days");
  }
  return policy;
}

function requestBody(event: APIGatewayProxyEventV2): unknown {
  const raw = event.body ?? "";
  const text = event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw;
  if (Buffer.byteLength(text, "utf8") > MAX_UPLOAD_REQUEST_BYTES) {
    throw new ProblemError("invalidBody", `the body must be at most ${MAX_UPLOAD_REQUEST_BYTES} bytes`);
  }
  if (text.trim() === "") {
    throw new ProblemError("invalidBody", "the body must be a JSON object with fileName, contentType and size");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ProblemError("invalidBody", "the body is not valid JSON");
  }
}

/** The JWT claims API Gateway's authorizer passed on (payload 2.0), if any. */
function claimsOf(event: APIGatewayProxyEventV2): Record<string, unknown> {
  const ctx = event.requestContext as unknown as { authorizer?: { jwt?: { claims?: Record<string, unknown> } } };
  return ctx.authorizer?.jwt?.claims ?? {};
}

export function createApi(options: ApiOptions): Api {
  const doc = DynamoDBDocumentClient.from(options.dynamodb);
  const logger = options.logger ?? new Logger({ serviceName: "api" });
  const table = options.tableName;
  const index = METADATA_TABLE.listIndex;
  const cursors = createCursorCodec(options.cursorSecret);
  const uploads = resolveUploadPolicy(options.uploads);
  const rawLinkTtl = options.rawLinkTtlSeconds ?? RAW_LINK_TTL_SECONDS;
  const now = options.now ?? (() => new Date());

  async function listFiles(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const q = parseInput(listQuerySchema, queryOf(event.queryStringParameters), "invalidParameter");
    const limit = q.limit;
    const filters: ListFilters = { status: q.status, kind: q.kind };
    let start: ListPosition | undefined;
    if (q.cursor !== undefined) {
      try {
        start = cursors.decode(q.cursor, filters);
      } catch (err) {
        if (err instanceof InvalidCursorError) throw new ProblemError("invalidParameter", `cursor: ${err.message}`);
        throw err;
      }
    }

    const names: Record<string, string> = { "#lp": index.partitionKey.name };
    const values: Record<string, unknown> = { ":lp": METADATA_TABLE.listPartitionValue };
    const conditions: string[] = [];
    if (q.status) {
      names["#status"] = "status";
      values[":status"] = q.status;
      conditions.push("#status = :status");
    }
    if (q.kind) {
      names["#kind"] = "kind";
      values[":kind"] = q.kind;
      conditions.push("#kind = :kind");
    }
    const filtered = conditions.length > 0;

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
        ...(filtered ? { FilterExpression: conditions.join(" AND ") } : {}),
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
    if (more && items.length > 0) nextCursor = cursors.encode(positionOf(items[items.length - 1]), filters);
    // Out of read budget with a short page: continue from where the reads stopped.
    else if (start) nextCursor = cursors.encode(positionOf(start), filters);
    const body: FileList = { items: items.map(toDocument), ...(nextCursor ? { nextCursor } : {}) };
    return json(200, body);
  }

  async function rawLink(document: MetadataDocument): Promise<Pick<FileDetail, "rawUrl" | "rawUrlExpiresAt">> {
    const raw = document.raw;
    if (!raw) return {};
    if (raw.bucket !== options.metadataBucket) {
      logger.warn("raw metadata outside the metadata bucket: no link", { key: document.key, rawBucket: raw.bucket });
      return {};
    }
    const signingDate = now();
    try {
      const rawUrl = await getSignedUrl(options.s3, new GetObjectCommand({ Bucket: raw.bucket, Key: raw.key }), {
        expiresIn: rawLinkTtl,
        signingDate,
      });
      return { rawUrl, rawUrlExpiresAt: new Date(signingDate.getTime() + rawLinkTtl * 1000).toISOString() };
    } catch (err) {
      // The document is still worth answering with; the link is a convenience.
      logger.warn("cannot presign the raw metadata link", { key: document.key, error: err as Error });
      return {};
    }
  }

  async function getFile(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const key = parseInput(fileKeySchema, event.pathParameters?.key, "invalidParameter", { showInput: false });
    const res = await doc.send(new GetCommand({ TableName: table, Key: { [METADATA_TABLE.partitionKey.name]: key } }));
    const item = res.Item;
    if (!item || item.deleted === true) {
      return problemResponse("notFound", `no metadata for the object key ${JSON.stringify(key)}`);
    }
    const document = toDocument(item);
    const detail: FileDetail = { ...document, ...(await rawLink(document)) };
    return json(200, detail);
  }

  async function createUpload(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const { sub } = parseInput(uploaderClaimsSchema, claimsOf(event), "forbidden", { showInput: false });
    const req = parseInput(uploadRequestSchema, requestBody(event), "invalidBody");
    if (!contentTypeDeclared(req.contentType, uploads.contentTypes)) {
      throw new ProblemError(
        "contentTypeNotAllowed",
        `contentType ${JSON.stringify(req.contentType)} is not accepted; accepted: ${uploads.contentTypes.join(", ")}`,
      );
    }
    if (req.size > uploads.maxBytes) {
      throw new ProblemError(
        "uploadTooLarge",
        `size ${req.size} bytes is over the upload limit of ${uploads.maxBytes} bytes`,
      );
    }
    const key = uploadKey(sub, req.fileName);
    const upload = await presignUpload(
      options.s3,
      options.ingestBucket,
      key,
      req.contentType,
      req.size,
      uploads.expiresInSeconds,
      now(),
    );
    logger.info("upload authorized", { sub, key, size: req.size, contentType: req.contentType });
    const body: UploadGrant = { bucket: options.ingestBucket, key, upload, maxBytes: uploads.maxBytes };
    return json(200, body);
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
        case API_ROUTES.createUpload:
          return await createUpload(event);
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
