/**
 * The sharded list index (lib/list-index.ts) and server-side search through GET /files,
 * against dynalite: documents spread over N partition values, merged newest first with the
 * same cursor guarantees as the unsharded listing (every live document exactly once, in
 * order, whatever the page size, ties of processedAt across shards included), cursors that
 * resume every shard, search by file name and key prefix composing with the filters.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { expect } from "chai";
import { createCursorCodec } from "../../handlers/api/cursor";
import { API_ROUTES, createApi, type FileList } from "../../handlers/api/routes";
import { makeLabDynamoClient, makeLabS3Client } from "../../lab/clients";
import { ensureMetadataTable, type LabDynamo, startLabDynamo } from "../../lab/dynamodb";
import { LabLogger } from "../../lab/log";
import {
  LIST_SHARDS,
  listingAttributes,
  listPartitionValue,
  listPartitionValues,
  listShardOf,
  listShardsFromEnv,
} from "../../lib/list-index";
import type { MetadataItem } from "../../lib/schema";

const SECRET = "test-cursor-secret-0123456789abcdef";
const SHARDS = 4;

function listEvent(query: Record<string, string>): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: API_ROUTES.listFiles,
    rawPath: "/files",
    rawQueryString: new URLSearchParams(query).toString(),
    headers: {},
    queryStringParameters: query,
    requestContext: { requestId: "r", http: { method: "GET", path: "/files" } },
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

function body<T>(res: APIGatewayProxyStructuredResultV2): T {
  return JSON.parse(String(res.body)) as T;
}

function item(key: string, processedAt: string, extra: Partial<MetadataItem> = {}, shards = SHARDS): MetadataItem {
  return {
    schemaVersion: 1,
    bucket: "media-ingest",
    key,
    size: 100,
    status: "ok",
    kind: "video",
    streams: [],
    tags: {},
    ffprobeVersion: "test",
    extractorVersion: "1.0.0",
    processedAt,
    bytesRead: 1,
    probeMs: 1,
    sequencer: "01",
    eventTime: processedAt,
    objectKey: key,
    ...listingAttributes(key, shards),
    ...extra,
  } as MetadataItem;
}

describe("list index shards (lib/list-index.ts)", () => {
  it("keeps shard 0 at the historical value and numbers the others", () => {
    expect(listPartitionValues(3)).to.deep.equal(["files", "files#1", "files#2"]);
    expect(listPartitionValue(0)).to.equal("files");
  });

  it("spreads keys over every shard, the same key always to the same shard", () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 800; i++) counts[listShardOf(`clips/${i}.mp4`, 8)]++;
    for (const c of counts) expect(c).to.be.within(60, 140); // 100 expected each
    expect(listShardOf("a/b.mp4", 8)).to.equal(listShardOf("a/b.mp4", 8));
    expect(listShardOf("anything", 1)).to.equal(0);
  });

  it("reads N from LIST_SHARDS, refusing values out of range", () => {
    expect(listShardsFromEnv({})).to.equal(LIST_SHARDS.default);
    expect(LIST_SHARDS.default).to.equal(1); // the lab's: no partition limit there
    expect(listShardsFromEnv({ LIST_SHARDS: "8" })).to.equal(8);
    for (const bad of ["0", "65", "x", "1.5"])
      expect(() => listShardsFromEnv({ LIST_SHARDS: bad })).to.throw("LIST_SHARDS");
  });
});

describe("GET /files across shards, and search (against dynalite)", function () {
  this.timeout(30_000);
  let dynamo: LabDynamo;
  let client: DynamoDBClient;
  const queries: Record<string, unknown>[] = [];
  const TABLE = "shards-test";
  const items: MetadataItem[] = [];

  const api = (shards = SHARDS) =>
    createApi({
      dynamodb: client,
      tableName: TABLE,
      s3: makeLabS3Client("http://127.0.0.1:9"),
      ingestBucket: "media-ingest",
      metadataBucket: "media-metadata",
      cursorSecret: SECRET,
      listShards: shards,
      logger: new LabLogger({ serviceName: "api" }, () => {}),
    });

  /** Every key of a listing, page by page; fails on a repeated cursor. */
  async function pageAll(query: Record<string, string>, shards = SHARDS): Promise<{ keys: string[]; pages: number }> {
    const keys: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    const seen = new Set<string>();
    do {
      const res = await api(shards)(listEvent({ ...query, ...(cursor ? { cursor } : {}) }));
      expect(res.statusCode, String(res.body)).to.equal(200);
      const list = body<FileList>(res);
      keys.push(...list.items.map((d) => d.key));
      cursor = list.nextCursor;
      if (cursor) {
        expect(seen.has(cursor)).to.equal(false);
        seen.add(cursor);
      }
      pages++;
    } while (cursor && pages < 500);
    return { keys, pages };
  }

  /** Keys in the merged order: processedAt descending, ties by shard (within a shard, DynamoDB's order). */
  function expectMergedOrder(keys: string[], expected: MetadataItem[]): void {
    expect([...keys].sort()).to.deep.equal(expected.map((d) => d.key).sort()); // each exactly once
    const at = new Map(expected.map((d) => [d.key, d.processedAt]));
    for (let i = 1; i < keys.length; i++) {
      const [ta, tb] = [at.get(keys[i - 1]) as string, at.get(keys[i]) as string];
      const [sa, sb] = [listShardOf(keys[i - 1], SHARDS), listShardOf(keys[i], SHARDS)];
      expect(ta > tb || (ta === tb && sa <= sb), `${keys[i - 1]} before ${keys[i]}`).to.equal(true);
    }
  }

  before(async () => {
    dynamo = await startLabDynamo({ host: "127.0.0.1", port: 0 });
    client = makeLabDynamoClient(dynamo.endpoint);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "QueryCommand") queries.push(args.input as Record<string, unknown>);
        return next(args);
      },
      { step: "initialize", name: "recordQueries" },
    );
    await ensureMetadataTable(client, TABLE);
    const doc = DynamoDBDocumentClient.from(client);
    // 60 documents, every 3 sharing one processedAt (ties inside and across shards).
    for (let i = 0; i < 60; i++) {
      const at = new Date(Date.UTC(2026, 1, 1, 0, 0, Math.floor(i / 3))).toISOString();
      const folder = i % 2 === 0 ? "library/2026" : "uploads/u1";
      const name =
        i % 5 === 0 ? `Holiday-A${String(i).padStart(2, "0")}.MP4` : `clip-${String(i).padStart(2, "0")}.mov`;
      items.push(item(`${folder}/${name}`, at, i % 4 === 0 ? { status: "unprocessable", kind: "other" } : {}));
    }
    for (const it of items) await doc.send(new PutCommand({ TableName: TABLE, Item: it }));
  });
  beforeEach(() => {
    queries.length = 0;
  });
  after(async () => {
    client?.destroy();
    await dynamo?.close();
  });

  it("stores the documents in every shard", () => {
    const used = new Set(items.map((d) => d.listPartition));
    expect([...used].sort()).to.deep.equal(listPartitionValues(SHARDS).sort());
  });

  for (const limit of [1, 2, 3, 7, 25, 100]) {
    it(`lists every live document exactly once, newest first, at limit=${limit}`, async () => {
      const { keys, pages } = await pageAll({ limit: String(limit) });
      expectMergedOrder(keys, items);
      // Pages join into exactly the one-page listing.
      const onePage = body<FileList>(await api()(listEvent({ limit: "100" }))).items.map((d) => d.key);
      expect(keys).to.deep.equal(onePage);
      // As without shards, a last full page may carry a cursor to one empty page.
      expect(pages).to.be.within(Math.ceil(items.length / limit), Math.ceil(items.length / limit) + 1);
    });
  }

  it("queries every shard's partition value in parallel first, reading more only where needed, never scanning", async () => {
    await api()(listEvent({ limit: "10" }));
    const values = queries.map((q) => (q.ExpressionAttributeValues as Record<string, string>)[":lp"]);
    expect(values.slice(0, SHARDS).sort()).to.deep.equal(listPartitionValues(SHARDS).sort());
    expect(values.length).to.be.below(2 * SHARDS);
    for (const q of queries) expect(q).to.include({ IndexName: "byProcessedAt", ScanIndexForward: false });
    // Each shard first reads its share of the page with a margin (handlers/api/read-limit.ts), not a whole page.
    for (const q of queries.slice(0, SHARDS)) expect(q.Limit as number).to.be.below(10);
  });

  it("resumes every shard from the one position a cursor carries", async () => {
    const first = body<FileList>(await api()(listEvent({ limit: "5" })));
    queries.length = 0;
    await api()(listEvent({ limit: "5", cursor: first.nextCursor ?? "" }));
    const last = first.items[4];
    const lastShard = listShardOf(last.key, SHARDS);
    for (const q of queries) {
      const lp = (q.ExpressionAttributeValues as Record<string, string>)[":lp"];
      const shard = listPartitionValues(SHARDS).indexOf(lp);
      if (shard === lastShard) {
        expect(q.ExclusiveStartKey).to.include({ objectKey: last.key, processedAt: last.processedAt });
      } else {
        expect(q.KeyConditionExpression).to.equal(
          shard < lastShard ? "#lp = :lp AND #at < :at" : "#lp = :lp AND #at <= :at",
        );
        expect((q.ExpressionAttributeValues as Record<string, string>)[":at"]).to.equal(last.processedAt);
      }
    }
  });

  it("does not query shards a cursor says were read to the end", async () => {
    // A listing whose only matches sit in one shard: the other shards end on the first page.
    const target = items.find((d) => d.status === "ok") as MetadataItem;
    const folder = target.key.split("/").slice(0, -1).join("/");
    const name = target.key.split("/").pop() as string;
    const onlyOne = body<FileList>(await api()(listEvent({ q: name, prefix: `${folder}/`, limit: "1" })));
    expect(onlyOne.items.map((d) => d.key)).to.deep.equal([target.key]);
    // With limit 1 the page is full: a cursor may follow; it must not query the ended shards again.
    if (onlyOne.nextCursor) {
      queries.length = 0;
      const rest = body<FileList>(
        await api()(listEvent({ q: name, prefix: `${folder}/`, limit: "1", cursor: onlyOne.nextCursor })),
      );
      expect(rest.items).to.deep.equal([]);
      expect(queries.length).to.be.at.most(1);
    }
  });

  it("gives the same listing with 1 shard as with 4 when every document is in shard 0", async () => {
    const doc = DynamoDBDocumentClient.from(client);
    const one = items.slice(0, 9).map((d, i) => item(`one/part-${i}.bin`, d.processedAt, {}, 1));
    for (const it of one) await doc.send(new PutCommand({ TableName: TABLE, Item: it }));
    const withOne = await pageAll({ limit: "4", prefix: "one/" }, 1);
    const withFour = await pageAll({ limit: "4", prefix: "one/" }, 4);
    expect(withOne.keys).to.have.length(9);
    expect(withFour.keys).to.deep.equal(withOne.keys);
  });

  it("still accepts a cursor issued before sharding (version 1, shard 0)", async () => {
    const sorted = body<FileList>(await api()(listEvent({ limit: "100" }))).items.map((d) => d.key);
    // A v1 cursor: the payload {v:1,k,t} signed as the unsharded API did.
    const { createHmac, hkdfSync } = await import("node:crypto");
    const key = Buffer.from(
      hkdfSync("sha256", Buffer.from(SECRET), Buffer.alloc(0), "media-pipeline/list-cursor/v1", 32),
    );
    const at = items.find((d) => d.key === sorted[0])?.processedAt as string;
    const payload = Buffer.from(JSON.stringify({ v: 1, k: sorted[0], t: at })).toString("base64url");
    const v1 = `${payload}.${createHmac("sha256", key).update(`v1.${payload}`).digest("base64url")}`;
    const res = await api()(listEvent({ limit: "100", cursor: v1 }));
    expect(res.statusCode, String(res.body)).to.equal(200);
    const keys = body<FileList>(res).items.map((d) => d.key);
    // Everything older than the position, and nothing at or before it in the merged order of shard 0.
    expect(keys).to.not.include(sorted[0]);
    expect(keys.length).to.be.greaterThan(50);
  });

  it("refuses a cursor naming a shard the listing does not have", async () => {
    const cursor = createCursorCodec(SECRET).encode(
      { objectKey: items[0].key, processedAt: items[0].processedAt, shard: SHARDS },
      {},
    );
    const res = await api()(listEvent({ cursor }));
    expect(res.statusCode).to.equal(400);
    expect(body<{ detail: string }>(res).detail).to.contain("cursor");
  });

  describe("search", () => {
    it("finds file names case-insensitively, not folder names", async () => {
      const { keys } = await pageAll({ q: "holiday-a", limit: "4" });
      const expected = items.filter((d) => /holiday-a/i.test(d.key.split("/").pop() ?? ""));
      expect(expected.length).to.equal(12);
      expectMergedOrder(keys, expected);
      expect((await pageAll({ q: "library" })).keys).to.deep.equal([]);
    });

    it("lists a key prefix", async () => {
      const { keys } = await pageAll({ prefix: "uploads/u1/", limit: "6" });
      expectMergedOrder(
        keys,
        items.filter((d) => d.key.startsWith("uploads/u1/")),
      );
    });

    it("composes search, prefix, status and kind", async () => {
      const { keys } = await pageAll({
        q: "A",
        prefix: "library/",
        status: "unprocessable",
        kind: "other",
        limit: "2",
      });
      const expected = items.filter(
        (d) =>
          d.key.startsWith("library/") &&
          (d.key.split("/").pop() ?? "").toLowerCase().includes("a") &&
          d.status === "unprocessable" &&
          d.kind === "other",
      );
      expect(expected.length).to.be.greaterThan(2);
      expectMergedOrder(keys, expected);
    });

    it("binds the cursor to the search: another query or prefix is a 400", async () => {
      const { nextCursor } = body<FileList>(await api()(listEvent({ q: "clip", limit: "2" })));
      expect(nextCursor).to.be.a("string");
      const others: Record<string, string>[] = [{ q: "clap" }, {}, { q: "clip", prefix: "library/" }];
      for (const query of others) {
        const res = await api()(listEvent({ ...query, limit: "2", cursor: nextCursor ?? "" }));
        expect(res.statusCode).to.equal(400);
        expect(body<{ detail: string }>(res).detail).to.contain("other filters");
      }
    });

    it("finds documents written before the search attribute existed, by their key as typed", async () => {
      const doc = DynamoDBDocumentClient.from(client);
      const { searchName: _, ...legacy } = item("legacy/Old-Name.mp4", "2026-01-01T00:00:00.000Z");
      await doc.send(new PutCommand({ TableName: TABLE, Item: legacy }));
      expect((await pageAll({ q: "Old-Name" })).keys).to.deep.equal(["legacy/Old-Name.mp4"]);
    });

    it("rejects control characters and over-long queries", async () => {
      for (const q of ["a\u0000b", "x".repeat(201)]) {
        const res = await api()(listEvent({ q }));
        expect(res.statusCode).to.equal(400);
        expect(body<{ detail: string }>(res).detail).to.match(/^q /);
      }
    });
  });
});
