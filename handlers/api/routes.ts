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
import {
  checkListShards,
  foldSearch,
  LIST_SHARDS,
  listPartitionValues,
  listShardsFromEnv,
  SEARCH_NAME_ATTRIBUTE,
} from "../../lib/list-index";
import { EXTRACTOR_VERSION, METADATA_TABLE, type MetadataDocument, SCHEMA_VERSION } from "../../lib/schema";
import { statsFromCounters, type TableStats } from "../../lib/stats";
import type { StatsStore } from "../stats/store";
import { createCursorCodec, InvalidCursorError, type ListFilters, type ListPosition, positionOf } from "./cursor";
import { ProblemError, problemResponse } from "./problem";
import { shardReadLimit } from "./read-limit";
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

/**
 * Read budget of one page: at most this many rounds of parallel shard queries and this many
 * queries in all (each reads at most shardReadLimit items). A page that runs out of budget
 * ends short, with a cursor.
 */
const MAX_MERGE_ROUNDS = 5;
const MAX_QUERIES_PER_PAGE = 5 * LIST_SHARDS.max;

/** One shard's side of a merged listing. */
interface ShardReader {
  shard: number;
  /** Its listPartition value. */
  value: string;
  /** Items read and not yet emitted, newest first. */
  buffer: Record<string, unknown>[];
  /** Where its next query starts (LastEvaluatedKey). */
  lastKey?: Record<string, unknown>;
  /** Read to the end. */
  done: boolean;
  queried: boolean;
}
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
  /** Shards of the list index (lib/list-index.ts); default: LIST_SHARDS from the environment, or its default. */
  listShards?: number;
  /** Upload limits; defaults: DEFAULT_UPLOAD_POLICY. */
  uploads?: Partial<UploadPolicy>;
  rawLinkTtlSeconds?: number;
  logger?: Logger;
  /** Clock (tests). */
  now?: () => Date;
  /** The running totals GET /stats answers from (handlers/stats); without it GET /stats is a 503. */
  stats?: Pick<StatsStore, "totals">;
  /** Whether the pipeline processes uploads (GET /health); without it health says nothing about it. */
  pipelineState?: () => Promise<PipelineState>;
}

/** GET /health's view of the pipeline: public, so no reason text (it may name budgets). */
export interface PipelineState {
  state: "running" | "paused" | "partial";
  /** When the pause began (ISO-8601), if known. */
  pausedAt?: string;
  /** Uploads waiting to be processed, if known (the queue's visible and in-flight messages). */
  pending?: number;
}

/** GET /health. */
export interface Health {
  status: "ok";
  schemaVersion: number;
  extractorVersion: string;
  pipeline?: PipelineState;
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
  SEARCH_NAME_ATTRIBUTE,
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
  const listShards = checkListShards(options.listShards ?? listShardsFromEnv());
  const partitions = listPartitionValues(listShards);
  const uploads = resolveUploadPolicy(options.uploads);
  const rawLinkTtl = options.rawLinkTtlSeconds ?? RAW_LINK_TTL_SECONDS;
  const now = options.now ?? (() => new Date());

  async function listFiles(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const q = parseInput(listQuerySchema, queryOf(event.queryStringParameters), "invalidParameter");
    const filters: ListFilters = {
      status: q.status,
      kind: q.kind,
      ...(q.q !== undefined ? { q: q.q } : {}),
      ...(q.prefix !== undefined ? { prefix: q.prefix } : {}),
    };
    let start: ListPosition | undefined;
    if (q.cursor !== undefined) {
      try {
        start = cursors.decode(q.cursor, filters);
      } catch (err) {
        if (err instanceof InvalidCursorError) throw new ProblemError("invalidParameter", `cursor: ${err.message}`);
        throw err;
      }
      if (start.shard >= listShards) {
        throw new ProblemError("invalidParameter", "cursor: the listing changed shape; start again without it");
      }
    }
    const page = await listMerged(filters, q.limit, start);
    const body: FileList = {
      items: page.items.map(toDocument),
      ...(page.next ? { nextCursor: cursors.encode(page.next, filters) } : {}),
    };
    return json(200, body);
  }

  /** The filter expression of a listing (status, kind, file-name search, key prefix), if any. */
  function filterOf(filters: ListFilters): Pick<QueryCommandInput, "FilterExpression"> & {
    names: Record<string, string>;
    values: Record<string, unknown>;
  } {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const conditions: string[] = [];
    if (filters.status) {
      names["#status"] = "status";
      values[":status"] = filters.status;
      conditions.push("#status = :status");
    }
    if (filters.kind) {
      names["#kind"] = "kind";
      values[":kind"] = filters.kind;
      conditions.push("#kind = :kind");
    }
    if (filters.prefix) {
      names["#pk"] = METADATA_TABLE.partitionKey.name;
      values[":prefix"] = filters.prefix;
      conditions.push("begins_with(#pk, :prefix)");
    }
    if (filters.q) {
      // Documents written before searchName existed: their key, as typed (case-sensitive).
      names["#sn"] = SEARCH_NAME_ATTRIBUTE;
      names["#key"] = "key";
      values[":q"] = foldSearch(filters.q);
      values[":typed"] = filters.q;
      conditions.push("(contains(#sn, :q) OR (attribute_not_exists(#sn) AND contains(#key, :typed)))");
    }
    return { names, values, ...(conditions.length > 0 ? { FilterExpression: conditions.join(" AND ") } : {}) };
  }

  /**
   * One page of the listing: the N shards queried in parallel and merged newest first (ties
   * of processedAt by shard number), each shard read only as far as the merge needs it.
   * A shard whose next unread item could come before the best buffered one is read again;
   * when the read budget runs out first, the page ends short at the position every shard
   * has been read to (the same rule as the unsharded listing: a short page with a cursor).
   */
  async function listMerged(
    filters: ListFilters,
    limit: number,
    start: ListPosition | undefined,
  ): Promise<{ items: Record<string, unknown>[]; next?: ListPosition }> {
    const filter = filterOf(filters);
    const filtered = filter.FilterExpression !== undefined;
    const exhaustedAt = (shard: number) => Math.floor((start?.exhausted ?? 0) / 2 ** shard) % 2 === 1;
    const shards: ShardReader[] = partitions.map((value, shard) => ({
      shard,
      value,
      buffer: [],
      done: exhaustedAt(shard),
      queried: false,
    }));
    const emitted: { item: Record<string, unknown>; shard: number }[] = [];
    let queries = 0;

    const query = async (r: ShardReader, readLimit: number) => {
      const names: Record<string, string> = { ...filter.names, "#lp": index.partitionKey.name };
      const values: Record<string, unknown> = { ...filter.values, ":lp": r.value };
      let keyCondition = "#lp = :lp";
      let exclusiveStart: Record<string, unknown> | undefined = r.lastKey;
      if (!r.queried && start) {
        if (r.shard === start.shard) {
          exclusiveStart = {
            [METADATA_TABLE.partitionKey.name]: start.objectKey,
            [index.partitionKey.name]: r.value,
            [index.sortKey.name]: start.processedAt,
          };
        } else {
          // Shards below the position's have given every item at its time; shards above, none.
          names["#at"] = index.sortKey.name;
          values[":at"] = start.processedAt;
          keyCondition += r.shard < start.shard ? " AND #at < :at" : " AND #at <= :at";
        }
      }
      queries++;
      const res = await doc.send(
        new QueryCommand({
          TableName: table,
          IndexName: index.name,
          KeyConditionExpression: keyCondition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          Limit: readLimit,
          ...(filter.FilterExpression ? { FilterExpression: filter.FilterExpression } : {}),
          ...(exclusiveStart ? { ExclusiveStartKey: exclusiveStart } : {}),
        }),
      );
      r.queried = true;
      r.buffer.push(...(res.Items ?? []).filter((item) => item.deleted !== true));
      r.lastKey = res.LastEvaluatedKey;
      if (!r.lastKey) r.done = true;
    };

    /** Does item `a` of shard `sa` come before position (t, sb) in the merged order? */
    const before = (ta: string, sa: number, tb: string, sb: number) => ta > tb || (ta === tb && sa < sb);

    for (let round = 0; ; round++) {
      const remaining = limit - emitted.length;
      const need = shards.filter((r) => !r.done && r.buffer.length === 0);
      if (need.length > 0) {
        if (round >= MAX_MERGE_ROUNDS || queries + need.length > MAX_QUERIES_PER_PAGE) break;
        const active = shards.filter((r) => !r.done).length;
        const readLimit = shardReadLimit({ remaining, active, filtered, round });
        await Promise.all(need.map((r) => query(r, readLimit)));
      }
      // Emit while the best head is a buffered item; stop at a shard that must be read further.
      let blocked = false;
      while (emitted.length < limit) {
        let best: ShardReader | undefined;
        let bestAt = "";
        let bestIsItem = false;
        for (const r of shards) {
          let at: string;
          let isItem: boolean;
          if (r.buffer.length > 0) {
            at = String(r.buffer[0][index.sortKey.name]);
            isItem = true;
          } else if (!r.done) {
            at = String(r.lastKey?.[index.sortKey.name] ?? "\uffff");
            isItem = false;
          } else continue;
          if (!best || before(at, r.shard, bestAt, best.shard)) {
            best = r;
            bestAt = at;
            bestIsItem = isItem;
          }
        }
        if (!best) break; // every shard read to the end
        if (!bestIsItem) {
          blocked = true;
          break;
        }
        emitted.push({ item: best.buffer.shift() as Record<string, unknown>, shard: best.shard });
      }
      if (emitted.length >= limit || !blocked) break;
    }

    const exhausted = shards.reduce((x, r) => (r.done && r.buffer.length === 0 ? x + 2 ** r.shard : x), 0);
    const allRead = shards.every((r) => r.done && r.buffer.length === 0);
    const items = emitted.map((e) => e.item);
    if (allRead) return { items };
    if (emitted.length >= limit) {
      const last = emitted[emitted.length - 1];
      return { items, next: { ...positionOf(last.item, last.shard), exhausted } };
    }
    // Out of read budget with a short page: continue from the position every shard has been read to.
    const blocking = shards
      .filter((r) => !r.done && r.buffer.length === 0 && r.lastKey)
      .sort((a, b) => {
        const ta = String(a.lastKey?.[index.sortKey.name]);
        const tb = String(b.lastKey?.[index.sortKey.name]);
        return before(ta, a.shard, tb, b.shard) ? -1 : 1;
      })[0];
    if (blocking?.lastKey) return { items, next: { ...positionOf(blocking.lastKey, blocking.shard), exhausted } };
    // Never queried (budget spent before this shard was read at all): resume from the last item or the start.
    const last = emitted[emitted.length - 1];
    if (last) return { items, next: { ...positionOf(last.item, last.shard), exhausted } };
    return { items, ...(start ? { next: start } : {}) };
  }

  async function health(): Promise<Health> {
    const base: Health = { status: "ok", schemaVersion: SCHEMA_VERSION, extractorVersion: EXTRACTOR_VERSION };
    if (!options.pipelineState) return base;
    try {
      return { ...base, pipeline: await options.pipelineState() };
    } catch (err) {
      // The API itself is fine; the page keeps its last known state.
      logger.warn("cannot read the pipeline state", { error: err as Error });
      return base;
    }
  }

  async function stats(): Promise<APIGatewayProxyStructuredResultV2> {
    if (!options.stats) return problemResponse("unavailable", "table statistics are not configured");
    const { counters, updatedAt } = await options.stats.totals();
    const body: TableStats = statsFromCounters(counters, updatedAt);
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
    const key = uploadKey(sub, req.fileName, now());
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
          return json(200, await health());
        case API_ROUTES.stats:
          return await stats();
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
