/**
 * The read API against a real DynamoDB stand-in (dynalite) holding the metadata table as
 * lib/schema.ts defines it: listing through the byProcessedAt index (never a scan),
 * pagination, filters, single documents, tombstones and problem+json errors.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { expect } from "chai";
import { encodeCursor } from "../../handlers/api/cursor";
import { API_ROUTES, type Api, createApi, type FileList, ROUTE_TABLE } from "../../handlers/api/routes";
import { LAB_CREDENTIALS, LAB_REGION, makeLabDynamoClient } from "../../lab/clients";
import { ensureMetadataTable, type LabDynamo, startLabDynamo } from "../../lab/dynamodb";
import { LabLogger } from "../../lab/log";
import { METADATA_TABLE, type MediaKind, type MetadataDocument, type MetadataItem } from "../../lib/schema";

const TABLE = "api-test";

function event(
  routeKey: string,
  init: { path?: Record<string, string>; query?: Record<string, string> } = {},
): APIGatewayProxyEventV2 {
  const rawPath = routeKey.split(" ")[1];
  return {
    version: "2.0",
    routeKey,
    rawPath,
    rawQueryString: new URLSearchParams(init.query ?? {}).toString(),
    headers: {},
    ...(init.query ? { queryStringParameters: init.query } : {}),
    ...(init.path ? { pathParameters: init.path } : {}),
    isBase64Encoded: false,
    requestContext: {
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
    },
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
  };
  return {
    ...doc,
    objectKey: key,
    listPartition: METADATA_TABLE.listPartitionValue,
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
      const { listPartition: _, ...rest } = item(i);
      return { ...rest, deleted: true, expiresAt: Math.floor(Date.now() / 1000) + 3600 };
    });
    for (const it of [...live, ...tombstones]) await doc.send(new PutCommand({ TableName: TABLE, Item: it }));
    api = createApi({ dynamodb: client, tableName: TABLE, logger: new LabLogger({ serviceName: "api" }, () => {}) });
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
        credentials: LAB_CREDENTIALS,
        maxAttempts: 1,
      });
      const res = await createApi({ dynamodb: dead, tableName: TABLE })(event(API_ROUTES.health));
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

    it("rejects cursors it did not issue", async () => {
      for (const cursor of [
        "!!!",
        Buffer.from("not json").toString("base64url"),
        Buffer.from('{"k":1}').toString("base64url"),
      ]) {
        expectProblem(
          await api(event(API_ROUTES.listFiles, { query: { cursor } })),
          400,
          "urn:media-pipeline:problem:invalid-parameter",
        );
      }
    });

    it("continues after the position a cursor names", async () => {
      const sorted = newestFirst();
      const cursor = encodeCursor({
        objectKey: sorted[9].key,
        listPartition: METADATA_TABLE.listPartitionValue,
        processedAt: sorted[9].processedAt,
      });
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

  describe("errors", () => {
    it("turns a database failure into a 500 problem naming the request id, without internals", async () => {
      const dead = new DynamoDBClient({
        endpoint: "http://127.0.0.1:1",
        region: LAB_REGION,
        credentials: LAB_CREDENTIALS,
        maxAttempts: 1,
      });
      const logged: Record<string, unknown>[] = [];
      const failing = createApi({
        dynamodb: dead,
        tableName: TABLE,
        logger: new LabLogger({ serviceName: "api" }, (e) => logged.push(e.attributes)),
      });
      const res = await failing(event(API_ROUTES.getFile, { path: { key: "k" } }));
      dead.destroy();
      expectProblem(res, 500, "urn:media-pipeline:problem:internal");
      expect(body<{ detail: string }>(res).detail).to.contain("req-1");
      expect(res.body).not.to.contain("ECONNREFUSED");
      expect(logged.some((l) => l.message === "request failed" && l.level === "ERROR")).to.equal(true);
    });

    it("answers 404 for a route it does not serve", async () => {
      expectProblem(await api(event("DELETE /files/{key+}")), 404, "urn:media-pipeline:problem:route-not-found");
    });

    it("declares /health public and the file routes protected", () => {
      expect(ROUTE_TABLE).to.deep.equal([
        { routeKey: "GET /health", public: true },
        { routeKey: "GET /files", public: false },
        { routeKey: "GET /files/{key+}", public: false },
      ]);
    });
  });

  describe("Lambda entry (handlers/api/index.ts)", () => {
    it("reads TABLE_NAME and the SDK environment, and serves a document", async () => {
      const saved = { ...process.env };
      Object.assign(process.env, {
        TABLE_NAME: TABLE,
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
