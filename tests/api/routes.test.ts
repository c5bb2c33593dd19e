/**
 * The read API against a real DynamoDB stand-in (dynalite) holding the metadata table as
 * lib/schema.ts defines it: listing through the byProcessedAt index (never a scan),
 * pagination with signed cursors, filters, single documents with their raw-metadata link,
 * upload requests, tombstones and problem+json errors. (Authentication happens in the
 * gateway: see tests/lab/auth.e2e.test.ts.)
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { expect } from "chai";
import { createCursorCodec } from "../../handlers/api/cursor";
import {
  API_ROUTES,
  type Api,
  type ApiOptions,
  createApi,
  type FileDetail,
  type FileList,
  ROUTE_TABLE,
  type UploadGrant,
} from "../../handlers/api/routes";
import { LAB_CREDENTIALS, LAB_REGION, makeLabDynamoClient, makeLabS3Client } from "../../lab/clients";
import { ensureMetadataTable, type LabDynamo, startLabDynamo } from "../../lab/dynamodb";
import { LabLogger } from "../../lab/log";
import { API_SCOPES } from "../../lib/auth";
import { listingAttributes, listShardOf } from "../../lib/list-index";
import { rawMetadataKey } from "../../lib/naming";
import type { MediaKind, MetadataDocument, MetadataItem } from "../../lib/schema";

const TABLE = "api-test";
/** Shards of the list index in these tests (the API is told the same). */
const SHARDS = 4;
const SECRET = "test-cursor-secret-0123456789abcdef";
const SUB = "0f8fad5b-d9cb-469f-a165-70867728950e";
/** Presigning only: never sends a request. */
const presigner = makeLabS3Client("http://127.0.0.1:9");

function options(dynamodb: DynamoDBClient, extra: Partial<ApiOptions> = {}): ApiOptions {
  return {
    dynamodb,
    tableName: TABLE,
    s3: presigner,
    ingestBucket: "media-ingest",
    metadataBucket: "media-metadata",
    cursorSecret: SECRET,
    listShards: SHARDS,
    logger: new LabLogger({ serviceName: "api" }, () => {}),
    ...extra,
  };
}

function event(
  routeKey: string,
  init: {
    path?: Record<string, string>;
    query?: Record<string, string>;
    body?: unknown;
    claims?: Record<string, string>;
  } = {},
): APIGatewayProxyEventV2 {
  const rawPath = routeKey.split(" ")[1];
  const withAuth = <T>(ctx: T) =>
    init.claims ? { ...ctx, authorizer: { jwt: { claims: init.claims, scopes: [API_SCOPES.upload] } } } : ctx;
  return {
    version: "2.0",
    routeKey,
    rawPath,
    rawQueryString: new URLSearchParams(init.query ?? {}).toString(),
    headers: {},
    ...(init.query ? { queryStringParameters: init.query } : {}),
    ...(init.path ? { pathParameters: init.path } : {}),
    ...(init.body !== undefined ? { body: typeof init.body === "string" ? init.body : JSON.stringify(init.body) } : {}),
    isBase64Encoded: false,
    requestContext: withAuth({
      accountId: "000000000000",
      apiId: "test",
      domainName: "localhost",
      domainPrefix: "localhost",
      http: { method: "GET", path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" },
      requestId: "req-1",
      routeKey,
      stage: "$default",
      time: "01/Jan/2026:00:00:00 +0000",
      timeEpoch: 0,
    }),
  };
}

function body<T>(res: APIGatewayProxyStructuredResultV2): T {
  return JSON.parse(res.body ?? "null") as T;
}

function expectProblem(res: APIGatewayProxyStructuredResultV2, status: number, type: string): void {
  expect(res.statusCode).to.equal(status);
  expect(res.headers?.["content-type"]).to.equal("application/problem+json");
  const p = body<Record<string, unknown>>(res);
  expect(p).to.have.all.keys("type", "title", "status", "detail");
  expect(p).to.include({ status, type });
  expect(res.body).not.to.match(/\n\s+at |Exception|node_modules/);
}

const KINDS: MediaKind[] = ["video", "audio", "image", "other"];

function item(i: number, overrides: Partial<MetadataItem> = {}): MetadataItem {
  const key = overrides.key ?? `clips/${String(i).padStart(3, "0")}.mp4`;
  const doc: MetadataDocument = {
    schemaVersion: 1,
    bucket: "media-ingest",
    key,
    size: 1000 + i,
    etag: "0123456789abcdef0123456789abcdef",
    status: i % 3 === 0 ? "unprocessable" : "ok",
    ...(i % 3 === 0 ? { reason: "ffprobe could not read the object" } : {}),
    kind: KINDS[i % 4],
    streams: [],
    tags: {},
    ffprobeVersion: "test",
    extractorVersion: "1.0.0",
    processedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    bytesRead: 10,
    probeMs: 5,
    sequencer: "01".padEnd(64, "0"),
    eventTime: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    ...(i % 2 === 0
      ? { raw: { bucket: "media-metadata", key: rawMetadataKey(key, "01".padEnd(64, "0")), bytes: 99 } }
      : {}),
  };
  return {
    ...doc,
    objectKey: key,
    ...listingAttributes(key, SHARDS),
    ...overrides,
  } as MetadataItem;
}

describe("read API (handlers/api) against dynalite", function () {
  this.timeout(20_000);
  let dynamo: LabDynamo;
  let client: DynamoDBClient;
  let api: Api;
  const commands: { name: string; input: Record<string, unknown> }[] = [];
  const LIVE = 30;
  const live: MetadataItem[] = [];
  const SPECIAL_KEY = "dir/a b+c 映像 ü.wav";

  before(async () => {
    dynamo = await startLabDynamo({ host: "127.0.0.1", port: 0 });
    client = makeLabDynamoClient(dynamo.endpoint);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push({ name: context.commandName ?? "?", input: args.input as Record<string, unknown> });
        return next(args);
      },
      { step: "initialize", name: "recordCommands" },
    );
    await ensureMetadataTable(client, TABLE);
    const doc = DynamoDBDocumentClient.from(client);
    for (let i = 1; i <= LIVE; i++)
      live.push(i === 7 ? item(i, { key: SPECIAL_KEY, objectKey: SPECIAL_KEY }) : item(i));
    const tombstones = [31, 32].map((i) => {
      const { listPartition: _, searchName: __, ...rest } = item(i);
      return { ...rest, deleted: true, expiresAt: Math.floor(Date.now() / 1000) + 3600 };
    });
    for (const it of [...live, ...tombstones]) await doc.send(new PutCommand({ TableName: TABLE, Item: it }));
    api = createApi(options(client));
  });
  beforeEach(() => {
    commands.length = 0;
  });
  after(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  const newestFirst = () => [...live].sort((a, b) => (a.processedAt < b.processedAt ? 1 : -1));

  describe("GET /health", () => {
    it("answers 200 without touching the database", async () => {
      const dead = new DynamoDBClient({
        endpoint: "http://127.0.0.1:1",
        region: LAB_REGION,
        credentials: { ...LAB_CREDENTIALS }, // a copy: the SDK marks the object it is given
        maxAttempts: 1,
      });
      const res = await createApi(options(dead))(event(API_ROUTES.health));
      dead.destroy();
      expect(res.statusCode).to.equal(200);
      expect(body<{ status: string }>(res).status).to.equal("ok");
    });
  });

  describe("GET /files", () => {
    it("lists live documents newest first, 25 by default, without table bookkeeping", async () => {
      const res = await api(event(API_ROUTES.listFiles));
      expect(res.statusCode).to.equal(200);
      expect(res.headers?.["content-type"]).to.equal("application/json");
      const list = body<FileList>(res);
      expect(list.items.map((d) => d.key)).to.deep.equal(
        newestFirst()
          .slice(0, 25)
          .map((d) => d.key),
      );
      expect(list.nextCursor).to.be.a("string");
      for (const d of list.items) {
        expect(d).not.to.have.any.keys("objectKey", "listPartition", "expiresAt", "deleted");
        expect(d).to.include.keys("key", "status", "kind", "processedAt");
      }
    });

    it("queries the byProcessedAt index backwards and never scans", async () => {
      await api(event(API_ROUTES.listFiles, { query: { limit: "5", status: "ok" } }));
      expect(commands.map((c) => c.name)).to.include("QueryCommand");
      expect(commands.map((c) => c.name)).not.to.include("ScanCommand");
      for (const c of commands) {
        expect(c.input).to.include({ TableName: TABLE, IndexName: "byProcessedAt", ScanIndexForward: false });
      }
    });

    it("pages through every live document exactly once with the cursor", async () => {
      const keys: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await api(event(API_ROUTES.listFiles, { query: { limit: "7", ...(cursor ? { cursor } : {}) } }));
        expect(res.statusCode).to.equal(200);
        const list = body<FileList>(res);
        expect(list.items.length).to.be.at.most(7);
        keys.push(...list.items.map((d) => d.key));
        cursor = list.nextCursor;
        pages += 1;
      } while (cursor && pages < 20);
      expect(keys).to.deep.equal(newestFirst().map((d) => d.key));
      expect(pages).to.equal(5);
    });

    it("accepts limits from 1 to 100", async () => {
      expect(body<FileList>(await api(event(API_ROUTES.listFiles, { query: { limit: "1" } }))).items).to.have.length(1);
      expect(body<FileList>(await api(event(API_ROUTES.listFiles, { query: { limit: "100" } }))).items).to.have.length(
        LIVE,
      );
    });

    for (const limit of ["0", "101", "abc", "1.5", "-1", "1e2"]) {
      it(`rejects limit=${limit} with a 400 problem`, async () => {
        const res = await api(event(API_ROUTES.listFiles, { query: { limit } }));
        expectProblem(res, 400, "urn:media-pipeline:problem:invalid-parameter");
        expect(body<{ detail: string }>(res).detail).to.contain("limit");
      });
    }

    it("filters by status across pages", async () => {
      const expected = newestFirst()
        .filter((d) => d.status === "unprocessable")
        .map((d) => d.key);
      const keys: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const res = await api(
          event(API_ROUTES.listFiles, {
            query: { status: "unprocessable", limit: "3", ...(cursor ? { cursor } : {}) },
          }),
        );
        const list = body<FileList>(res);
        expect(list.items.every((d) => d.status === "unprocessable")).to.equal(true);
        keys.push(...list.items.map((d) => d.key));
        cursor = list.nextCursor;
        if (!cursor) break;
      }
      expect(keys).to.deep.equal(expected);
    });

    it("combines kind and status filters", async () => {
      const res = await api(event(API_ROUTES.listFiles, { query: { kind: "audio", status: "ok", limit: "100" } }));
      const expected = newestFirst().filter((d) => d.kind === "audio" && d.status === "ok");
      expect(expected.length).to.be.greaterThan(0);
      expect(body<FileList>(res).items.map((d) => d.key)).to.deep.equal(expected.map((d) => d.key));
    });

    it("rejects unknown filter values", async () => {
      expectProblem(
        await api(event(API_ROUTES.listFiles, { query: { status: "deleted" } })),
        400,
        "urn:media-pipeline:problem:invalid-parameter",
      );
      expectProblem(
        await api(event(API_ROUTES.listFiles, { query: { kind: "hologram" } })),
        400,
        "urn:media-pipeline:problem:invalid-parameter",
      );
    });

    it("rejects cursors it did not issue, and altered ones", async () => {
      const issued = body<FileList>(await api(event(API_ROUTES.listFiles, { query: { limit: "2" } }))).nextCursor ?? "";
      const [payload, mac] = issued.split(".");
      const forgedPayload = Buffer.from(
        JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), k: "clips/001.mp4" }),
      ).toString("base64url");
      const flipped = `${mac.slice(0, -2)}${mac.endsWith("AA") ? "AB" : "AA"}`;
      for (const cursor of [
        "!!!",
        Buffer.from("not json").toString("base64url"),
        Buffer.from('{"k":1}').toString("base64url"),
        payload, // signature dropped
        `${forgedPayload}.${mac}`, // position changed
        `${payload}.${flipped}`, // signature changed
        createCursorCodec("another-secret-of-at-least-32-characters").encode(
          { objectKey: "clips/001.mp4", processedAt: "2026-01-01T00:00:01.000Z", shard: 0 },
          {},
        ), // signed with another key
        `${issued}x`,
        "x".repeat(5000),
      ]) {
        const res = await api(event(API_ROUTES.listFiles, { query: { cursor } }));
        expectProblem(res, 400, "urn:media-pipeline:problem:invalid-parameter");
        expect(body<{ detail: string }>(res).detail).to.contain("cursor");
      }
      // Only the first, valid request read: one query per shard.
      expect(commands.filter((c) => c.name === "QueryCommand")).to.have.length(SHARDS);
    });

    it("refuses a cursor used with other filters than the listing it came from", async () => {
      const { nextCursor } = body<FileList>(
        await api(event(API_ROUTES.listFiles, { query: { limit: "2", status: "ok" } })),
      );
      expect(nextCursor).to.be.a("string");
      const others: Record<string, string>[] = [{}, { status: "unprocessable" }, { status: "ok", kind: "video" }];
      for (const query of others) {
        const res = await api(event(API_ROUTES.listFiles, { query: { ...query, cursor: nextCursor ?? "" } }));
        expectProblem(res, 400, "urn:media-pipeline:problem:invalid-parameter");
        expect(body<{ detail: string }>(res).detail).to.contain("other filters");
      }
    });

    it("continues after the position a cursor names", async () => {
      const sorted = newestFirst();
      const cursor = createCursorCodec(SECRET).encode(
        { objectKey: sorted[9].key, processedAt: sorted[9].processedAt, shard: listShardOf(sorted[9].key, SHARDS) },
        {},
      );
      const list = body<FileList>(await api(event(API_ROUTES.listFiles, { query: { cursor, limit: "2" } })));
      expect(list.items.map((d) => d.key)).to.deep.equal([sorted[10].key, sorted[11].key]);
    });
  });

  describe("GET /files/{key+}", () => {
    it("returns the document for a key with spaces, '+' and non-Latin characters", async () => {
      const res = await api(event(API_ROUTES.getFile, { path: { key: SPECIAL_KEY } }));
      expect(res.statusCode).to.equal(200);
      const doc = body<MetadataDocument>(res);
      expect(doc).to.include({ key: SPECIAL_KEY, bucket: "media-ingest", status: "ok" });
      expect(doc).not.to.have.any.keys("objectKey", "listPartition", "expiresAt");
    });

    it("adds a presigned 5-minute link to the raw ffprobe JSON in the metadata bucket", async () => {
      const doc = await createApi(options(client, { now: () => new Date("2026-03-01T10:00:00Z") }))(
        event(API_ROUTES.getFile, { path: { key: "clips/002.mp4" } }),
      );
      const detail = body<FileDetail>(doc);
      expect(detail.raw?.key).to.match(/^ffprobe\//);
      const url = new URL(detail.rawUrl ?? "");
      expect(url.pathname).to.equal(`/media-metadata/${detail.raw?.key}`);
      expect(url.searchParams.get("X-Amz-Expires")).to.equal("300");
      expect(url.searchParams.get("X-Amz-Date")).to.equal("20260301T100000Z");
      expect(url.searchParams.get("X-Amz-Signature")).to.match(/^[0-9a-f]{64}$/);
      expect(detail.rawUrlExpiresAt).to.equal("2026-03-01T10:05:00.000Z");
    });

    it("gives no link for raw metadata outside the metadata bucket, nor for documents without", async () => {
      const other = createApi(options(client, { metadataBucket: "another-bucket" }));
      const detail = body<FileDetail>(await other(event(API_ROUTES.getFile, { path: { key: "clips/002.mp4" } })));
      expect(detail).not.to.have.any.keys("rawUrl", "rawUrlExpiresAt");
      const bare = body<FileDetail>(await api(event(API_ROUTES.getFile, { path: { key: "clips/003.mp4" } })));
      expect(bare).not.to.have.property("raw");
      expect(bare).not.to.have.property("rawUrl");
    });

    it("answers 404 for an unknown key", async () => {
      expectProblem(
        await api(event(API_ROUTES.getFile, { path: { key: "missing.mp4" } })),
        404,
        "urn:media-pipeline:problem:not-found",
      );
    });

    it("answers 404 for a removed object (tombstone)", async () => {
      expectProblem(
        await api(event(API_ROUTES.getFile, { path: { key: "clips/031.mp4" } })),
        404,
        "urn:media-pipeline:problem:not-found",
      );
    });

    it("rejects keys longer than S3 allows", async () => {
      expectProblem(
        await api(event(API_ROUTES.getFile, { path: { key: "x".repeat(1025) } })),
        400,
        "urn:media-pipeline:problem:invalid-parameter",
      );
    });
  });

  describe("POST /uploads", () => {
    const upload = (body: unknown, claims: Record<string, string> | null = { sub: SUB }) =>
      api(event(API_ROUTES.createUpload, { body, ...(claims ? { claims } : {}) }));

    it("presigns a PUT under uploads/<sub>/ signing the content type and length, without a checksum", async () => {
      const res = await upload({ fileName: "Holiday (1).MP4", contentType: "Video/MP4", size: 123_456 });
      expect(res.statusCode).to.equal(200);
      const grant = body<UploadGrant>(res);
      expect(grant.bucket).to.equal("media-ingest");
      expect(grant.key).to.match(new RegExp(`^uploads/${SUB}/Holiday-1-\\d{8}-\\d{6}-[0-9a-f]{6}\\.MP4$`));
      expect(grant.upload).to.include({ method: "PUT", key: grant.key });
      expect(grant.upload.headers).to.deep.equal({ "content-type": "video/mp4", "content-length": "123456" });
      const url = new URL(grant.upload.url);
      expect(decodeURIComponent(url.pathname)).to.equal(`/media-ingest/${grant.key}`);
      expect(url.searchParams.get("X-Amz-SignedHeaders")).to.equal("content-length;content-type;host");
      expect(url.searchParams.get("X-Amz-Expires")).to.equal("900");
      expect([...url.searchParams.keys()].filter((k) => /checksum/i.test(k))).to.deep.equal([]);
      expect(Date.parse(grant.upload.expiresAt) - Date.now()).to.be.within(890_000, 901_000);
      expect(commands).to.have.length(0); // no database access
    });

    it("gives each request its own key", async () => {
      const a = body<UploadGrant>(await upload({ fileName: "a.mp4", contentType: "video/mp4", size: 1 }));
      const b = body<UploadGrant>(await upload({ fileName: "a.mp4", contentType: "video/mp4", size: 1 }));
      expect(a.key).not.to.equal(b.key);
    });

    it("refuses a size over the limit with 413", async () => {
      const small = createApi(options(client, { uploads: { maxBytes: 1000 } }));
      const ok = await small(
        event(API_ROUTES.createUpload, {
          body: { fileName: "a.mp3", contentType: "audio/mpeg", size: 1000 },
          claims: { sub: SUB },
        }),
      );
      expect(ok.statusCode).to.equal(200);
      const res = await small(
        event(API_ROUTES.createUpload, {
          body: { fileName: "a.mp3", contentType: "audio/mpeg", size: 1001 },
          claims: { sub: SUB },
        }),
      );
      expectProblem(res, 413, "urn:media-pipeline:problem:upload-too-large");
      expect(body<{ detail: string }>(res).detail).to.equal("size 1001 bytes is over the upload limit of 1000 bytes");
      const huge = await upload({ fileName: "a.mkv", contentType: "video/x-matroska", size: 6 * 1024 ** 3 });
      expectProblem(huge, 413, "urn:media-pipeline:problem:upload-too-large");
    });

    for (const contentType of [
      "text/html",
      "application/octet-stream",
      "image/svg+xml; charset=utf-8",
      "application/x-video",
    ]) {
      it(`refuses the undeclared content type ${contentType}`, async () => {
        const res = await upload({ fileName: "x.bin", contentType, size: 10 });
        const kind = contentType.includes(";")
          ? "urn:media-pipeline:problem:invalid-body"
          : "urn:media-pipeline:problem:content-type-not-allowed";
        expectProblem(res, 400, kind);
        expect(body<{ detail: string }>(res).detail).to.contain("contentType");
      });
    }

    const invalid: [string, unknown, string][] = [
      ["no body", undefined, "the body must be a JSON object with fileName, contentType and size"],
      ["not JSON", "{nope", "the body is not valid JSON"],
      ["an array", [1], "the body must be a JSON object with fileName, contentType and size"],
      ["a missing size", { fileName: "a.mp4", contentType: "video/mp4" }, "size is required"],
      ["a string size", { fileName: "a.mp4", contentType: "video/mp4", size: "12" }, "size must be a number of bytes"],
      [
        "a fractional size",
        { fileName: "a.mp4", contentType: "video/mp4", size: 1.5 },
        "size must be a whole number of bytes",
      ],
      ["a zero size", { fileName: "a.mp4", contentType: "video/mp4", size: 0 }, "size must be at least 1 byte"],
      ["an empty name", { fileName: "", contentType: "video/mp4", size: 1 }, "fileName must not be empty"],
      [
        "a control character",
        { fileName: "a\u0000.mp4", contentType: "video/mp4", size: 1 },
        "fileName must not contain control characters",
      ],
      ["a missing type", { fileName: "a.mp4", size: 1 }, "contentType is required"],
      ["an unknown field", { fileName: "a.mp4", contentType: "video/mp4", size: 1, key: "x" }, 'unknown field "key"'],
    ];
    for (const [what, input, detail] of invalid) {
      it(`answers 400 for ${what}`, async () => {
        const res = await upload(input);
        expectProblem(res, 400, "urn:media-pipeline:problem:invalid-body");
        expect(body<{ detail: string }>(res).detail).to.contain(detail);
      });
    }

    it("answers 403 when the authorizer passed no usable subject", async () => {
      const cases: (Record<string, string> | null)[] = [null, { client_id: "x" }, { sub: "../other-user" }];
      for (const claims of cases) {
        const res = await upload({ fileName: "a.mp4", contentType: "video/mp4", size: 1 }, claims);
        expectProblem(res, 403, "urn:media-pipeline:problem:forbidden");
      }
    });
  });

  describe("errors", () => {
    it("turns a database failure into a 500 problem naming the request id, without internals", async () => {
      const dead = new DynamoDBClient({
        endpoint: "http://127.0.0.1:1",
        region: LAB_REGION,
        credentials: { ...LAB_CREDENTIALS }, // a copy: the SDK marks the object it is given
        maxAttempts: 1,
      });
      const logged: Record<string, unknown>[] = [];
      const failing = createApi(
        options(dead, { logger: new LabLogger({ serviceName: "api" }, (e) => logged.push(e.attributes)) }),
      );
      for (const req of [
        event(API_ROUTES.getFile, { path: { key: "k" } }),
        event(API_ROUTES.listFiles, { query: { status: "ok" } }),
      ]) {
        const res = await failing(req);
        expectProblem(res, 500, "urn:media-pipeline:problem:internal");
        expect(body<{ detail: string }>(res).detail).to.equal("the request could not be completed (request id req-1)");
        expect(res.body).not.to.match(/ECONNREFUSED|127\.0\.0\.1|Error|at /);
      }
      dead.destroy();
      expect(logged.filter((l) => l.message === "request failed" && l.level === "ERROR")).to.have.length(2);
    });

    it("answers 404 for a route it does not serve", async () => {
      expectProblem(await api(event("DELETE /files/{key+}")), 404, "urn:media-pipeline:problem:route-not-found");
    });

    it("declares /health public and the other routes protected, each with its scopes", () => {
      expect(ROUTE_TABLE).to.deep.equal([
        { routeKey: "GET /health", public: true, scopes: [] },
        { routeKey: "GET /files", public: false, scopes: ["media-pipeline/files.read"] },
        { routeKey: "GET /files/{key+}", public: false, scopes: ["media-pipeline/files.read"] },
        { routeKey: "GET /stats", public: false, scopes: ["media-pipeline/files.read"] },
        { routeKey: "POST /uploads", public: false, scopes: ["media-pipeline/files.upload"] },
      ]);
      for (const r of ROUTE_TABLE) expect(r.public).to.equal(r.scopes.length === 0);
    });
  });

  describe("Lambda entry (handlers/api/index.ts)", () => {
    it("fails requests (500, no details) while CURSOR_SECRET is missing or short", async () => {
      const saved = { ...process.env };
      Object.assign(process.env, {
        TABLE_NAME: TABLE,
        INGEST_BUCKET: "media-ingest",
        METADATA_BUCKET: "media-metadata",
        CURSOR_SECRET: "too-short",
        AWS_REGION: LAB_REGION,
        POWERTOOLS_LOG_LEVEL: "SILENT",
      });
      try {
        const { handler } = await import("../../handlers/api/index");
        const res = await handler(event(API_ROUTES.health));
        expectProblem(res, 500, "urn:media-pipeline:problem:internal");
        expect(res.body).not.to.contain("too-short");
      } finally {
        for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
        Object.assign(process.env, saved);
      }
    });

    it("reads TABLE_NAME and the SDK environment, and serves a document", async () => {
      const saved = { ...process.env };
      Object.assign(process.env, {
        TABLE_NAME: TABLE,
        INGEST_BUCKET: "media-ingest",
        METADATA_BUCKET: "media-metadata",
        CURSOR_SECRET: SECRET,
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_REGION: LAB_REGION,
        AWS_ACCESS_KEY_ID: LAB_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LAB_CREDENTIALS.secretAccessKey,
        POWERTOOLS_LOG_LEVEL: "SILENT",
      });
      try {
        const { handler } = await import("../../handlers/api/index");
        const res = await handler(event(API_ROUTES.getFile, { path: { key: SPECIAL_KEY } }));
        expect(res.statusCode).to.equal(200);
        expect(body<MetadataDocument>(res).key).to.equal(SPECIAL_KEY);
      } finally {
        for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
        Object.assign(process.env, saved);
      }
    });
  });
});
