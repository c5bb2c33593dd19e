/**
 * GET /stats: the aggregator (handlers/stats) kept up to date by the lab's change feed
 * (dynalite writes -> lab/stats-feed.ts), checked against a count made directly from the
 * table, before and after removals and re-processing; replays add nothing twice; the
 * stream handler's record mapping.
 */
import { DeleteItemCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { expect } from "chai";
import { API_ROUTES, createApi } from "../../handlers/api/routes";
import { applyChanges } from "../../handlers/stats/aggregator";
import { changesOf } from "../../handlers/stats/index";
import { DynamoStatsStore } from "../../handlers/stats/store";
import { makeLabDynamoClient, makeLabS3Client } from "../../lab/clients";
import { ensureMetadataTable, ensureStatsTable, type LabDynamo, startLabDynamo } from "../../lab/dynamodb";
import { LabLogger } from "../../lab/log";
import { type LabStatsFeed, startLabStatsFeed } from "../../lab/stats-feed";
import { listingAttributes } from "../../lib/list-index";
import type { MetadataItem } from "../../lib/schema";
import { statsFromCounters, type TableStats } from "../../lib/stats";

const TABLE = "stats-docs";
const STATS = "stats-totals";

function doc(i: number, overrides: Partial<MetadataItem> = {}): MetadataItem {
  const key = `media/${String(i).padStart(3, "0")}.mp4`;
  const bad = i % 7 === 0;
  return {
    schemaVersion: 1,
    bucket: "media-ingest",
    key,
    objectKey: key,
    size: 1000 * i,
    status: bad ? "unprocessable" : "ok",
    ...(bad ? { reason: "not media" } : {}),
    kind: bad ? "other" : i % 3 === 0 ? "audio" : "video",
    container: bad ? undefined : { format: "mov,mp4", durationSec: i },
    streams: bad
      ? []
      : i % 3 === 0
        ? [{ index: 0, kind: "audio", codec: "aac" }]
        : [{ index: 0, kind: "video", codec: i % 2 ? "h264" : "hevc", width: 1920, height: 1080 }],
    tags: {},
    ffprobeVersion: "t",
    extractorVersion: "1.0.0",
    processedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    bytesRead: 1,
    probeMs: 30 + i,
    sequencer: `0${String(i).padStart(4, "0")}`,
    eventTime: new Date(Date.UTC(2026, 0, 1)).toISOString(),
    ...listingAttributes(key, 4),
    ...overrides,
  } as MetadataItem;
}

/** The truth, counted straight from the table (a scan: fine in a test). */
async function countFromTable(client: DynamoDBClient) {
  const res = await DynamoDBDocumentClient.from(client).send(
    new ScanCommand({ TableName: TABLE, ConsistentRead: true }),
  );
  const live = (res.Items ?? []).filter((i) => i.deleted !== true) as MetadataItem[];
  return {
    files: live.length,
    ok: live.filter((d) => d.status === "ok").length,
    unprocessable: live.filter((d) => d.status === "unprocessable").length,
    bytes: live.reduce((n, d) => n + d.size, 0),
    durationSec: live.filter((d) => d.status === "ok").reduce((n, d) => n + (d.container?.durationSec ?? 0), 0),
  };
}

describe("table statistics (handlers/stats, lab/stats-feed.ts, GET /stats)", function () {
  this.timeout(60_000);
  let dynamo: LabDynamo;
  let client: DynamoDBClient;
  let feed: LabStatsFeed;
  let store: DynamoStatsStore;
  const put = (item: object) =>
    DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }).send(
      new PutCommand({ TableName: TABLE, Item: item as Record<string, unknown> }),
    );
  const apiStats = async (): Promise<TableStats> => {
    const api = createApi({
      dynamodb: client,
      tableName: TABLE,
      s3: makeLabS3Client("http://127.0.0.1:9"),
      ingestBucket: "i",
      metadataBucket: "m",
      cursorSecret: "x".repeat(40),
      stats: store,
      logger: new LabLogger({ serviceName: "api" }, () => {}),
    });
    const res = await api({ routeKey: API_ROUTES.stats, requestContext: {} } as never);
    expect(res.statusCode).to.equal(200);
    return JSON.parse(String(res.body)) as TableStats;
  };
  async function expectMatchesTable() {
    await feed.idle();
    const truth = await countFromTable(client);
    const s = await apiStats();
    expect({
      files: s.files,
      ok: s.byStatus.ok,
      unprocessable: s.byStatus.unprocessable,
      bytes: s.totalBytes,
      durationSec: s.totalDurationSec,
    }).to.deep.equal(truth);
    return s;
  }

  before(async () => {
    dynamo = await startLabDynamo({
      host: "127.0.0.1",
      port: 0,
      onWrite: (table, keys) => {
        if (table === TABLE) feed?.written(keys);
      },
    });
    client = makeLabDynamoClient(dynamo.endpoint);
    await ensureMetadataTable(client, TABLE);
    await ensureStatsTable(client, STATS);
    store = new DynamoStatsStore(client, STATS, false);
    // Items written before the feed starts are counted by its start-up pass.
    for (let i = 1; i <= 5; i++) await put(doc(i));
    feed = startLabStatsFeed({ dynamodb: client, tableName: TABLE, store, onError: (e) => console.error(e) });
  });
  after(async () => {
    await feed?.stop();
    client?.destroy();
    await dynamo?.close();
  });

  it("counts the whole table beyond any page: 120 files, some unprocessable", async () => {
    for (let i = 6; i <= 120; i++) await put(doc(i));
    const s = await expectMatchesTable();
    expect(s.files).to.equal(120);
    expect(s.byStatus.unprocessable).to.equal(17);
    expect(s.codecs.map((c) => c.label).sort()).to.deep.equal(["aac", "h264", "hevc"]);
    expect(s.resolutions.find((r) => r.label === "1080p")?.value).to.be.greaterThan(0);
    expect(s.processingMs.count).to.equal(120);
    expect(s.processingMs.p50Ms).to.equal(100);
  });

  it("follows removals (tombstones and deleted items) and re-processing", async () => {
    for (const i of [1, 2, 3]) {
      const { listPartition: _, searchName: __, ...rest } = doc(i);
      await put({ ...rest, deleted: true, sequencer: "09999" }); // tombstone
    }
    await DynamoDBDocumentClient.from(client).send(
      new DeleteCommand({ TableName: TABLE, Key: { objectKey: doc(4).key } }),
    );
    // Re-processing: an unprocessable file becomes ok, an ok file grows.
    await put(doc(7, { status: "ok", reason: undefined, kind: "video", processedAt: "2026-02-01T00:00:00.000Z" }));
    await put(doc(8, { size: 123_456, processedAt: "2026-02-01T00:00:00.000Z" }));
    const s = await expectMatchesTable();
    expect(s.files).to.equal(116);
  });

  it("adds nothing when the same changes are applied again, and skips older states", async () => {
    const before = await store.totals();
    const current = [doc(10), doc(11)];
    await applyChanges(
      store,
      current.map((item) => ({ key: item.key, item })),
    );
    await applyChanges(
      store,
      current.map((item) => ({ key: item.key, item })),
    );
    // An older state of doc 8 (before its re-processing) arriving late.
    const r = await applyChanges(store, [{ key: doc(8).key, item: doc(8) }]);
    expect(r.skipped).to.equal(1);
    expect((await store.totals()).counters).to.deep.equal(before.counters);
    await expectMatchesTable();
  });

  it("applies, on a clean stop, a removal still inside its window", async () => {
    await put(doc(30));
    await feed.idle();
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: { objectKey: { S: doc(30).key } } }));
    await feed.stop(); // well within the 5 s window: nothing applied it yet
    feed = startLabStatsFeed({ dynamodb: client, tableName: TABLE, store, onError: (e) => console.error(e) });
    await expectMatchesTable();
  });

  it("takes back, at the next start, a removal it never applied (the lab was killed inside the window)", async () => {
    await put(doc(31));
    await feed.idle();
    const killed = feed;
    feed = undefined as unknown as LabStatsFeed; // a SIGKILL: nothing follows the writes any more
    await client.send(new DeleteItemCommand({ TableName: TABLE, Key: { objectKey: { S: doc(31).key } } }));
    await killed.stop();
    feed = startLabStatsFeed({
      dynamodb: client,
      tableName: TABLE,
      store,
      statsTableName: STATS,
      onError: (e) => console.error(e),
    });
    await expectMatchesTable();
  });

  it("maps stream records to document states (NewImage; nothing for REMOVE)", () => {
    const a = doc(1);
    const event = {
      Records: [
        {
          eventName: "INSERT",
          dynamodb: { Keys: marshall({ objectKey: a.key }), NewImage: marshall(a, { removeUndefinedValues: true }) },
        },
        {
          eventName: "REMOVE",
          dynamodb: { Keys: marshall({ objectKey: a.key }), OldImage: marshall(a, { removeUndefinedValues: true }) },
        },
      ],
    } as unknown as DynamoDBStreamEvent;
    const changes = changesOf(event);
    expect(changes.map((c) => [c.key, (c.item as MetadataItem | undefined)?.status])).to.deep.equal([
      [a.key, "ok"],
      [a.key, undefined],
    ]);
  });

  describe("gathering writes as the stream's event source mapping does", () => {
    /** A stats store that only records the batches the feed applied. */
    const batches: number[] = [];
    const counting = {
      readRows: async (keys: string[]) => {
        batches.push(keys.length);
        return new Map();
      },
      commit: async () => {},
      totals: async () => ({ counters: {} }),
    };
    let gathering: LabStatsFeed | undefined;
    const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    afterEach(async () => {
      await gathering?.stop();
      batches.length = 0;
    });

    it("applies writes that arrive one by one within the window as one batch", async () => {
      gathering = startLabStatsFeed({
        dynamodb: client,
        tableName: TABLE,
        store: counting,
        onError: () => {},
        batchingWindowMs: 300,
      });
      await gathering.idle(); // the start-up pass
      batches.length = 0;
      for (let i = 1; i <= 10; i++) {
        gathering.written([doc(i).key]);
        await settle(5);
      }
      expect(batches, "nothing before the window ends").to.deep.equal([]);
      await settle(600);
      expect(batches).to.deep.equal([10]);
    });

    it("retries keys whose batch failed after a window of their own, with no other write to wake it", async () => {
      let failures = 1;
      const failingOnce = {
        ...counting,
        readRows: async (keys: string[]) => {
          if (failures-- > 0) throw new Error("throttled");
          return counting.readRows(keys);
        },
      };
      gathering = startLabStatsFeed({
        dynamodb: client,
        tableName: TABLE,
        store: failingOnce,
        onError: () => {},
        batchingWindowMs: 200,
      });
      await settle(300); // the start-up pass fails (failures: 1 -> 0)
      await settle(800);
      expect(batches.length, "the keys of the failed pass were applied again").to.be.above(0);
    });

    it("applies a full batch at once, without waiting for the window, and idle() applies the rest at once", async () => {
      gathering = startLabStatsFeed({
        dynamodb: client,
        tableName: TABLE,
        store: counting,
        onError: () => {},
        batchingWindowMs: 60_000,
      });
      await gathering.idle();
      batches.length = 0;
      gathering.written(Array.from({ length: 105 }, (_, i) => `gathered-${i}`));
      await settle(300);
      expect(batches).to.deep.equal([100]);
      await gathering.idle();
      expect(batches).to.deep.equal([100, 5]);
    });
  });

  it("answers from an empty table with zeros", () => {
    const s = statsFromCounters({});
    expect(s.files).to.equal(0);
    expect(s.processingMs).to.deep.include({ count: 0 });
  });
});
