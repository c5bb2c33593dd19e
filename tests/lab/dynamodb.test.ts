/**
 * The lab's DynamoDB set-up: the table from lib/schema.ts, created idempotently and kept
 * on disk, and the TTL sweep standing in for DynamoDB's TTL process.
 */
import * as fs from "node:fs/promises";
import type { Server } from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import dynalite from "dynalite";
import { Level } from "level";
import { makeLabDynamoClient } from "../../lab/clients";
import {
  ensureMetadataTable,
  type LabDynamo,
  repairSecondaryIndexes,
  startLabDynamo,
  sweepExpiredItems,
} from "../../lab/dynamodb";
import { closeServer, listen } from "../../lab/http-server";
import { METADATA_TABLE } from "../../lib/schema";

describe("lab DynamoDB", function () {
  this.timeout(20_000);
  let dir: string;
  let dynamo: LabDynamo | undefined;
  let client: DynamoDBClient | undefined;

  async function start(): Promise<DynamoDBClient> {
    dynamo = await startLabDynamo({ path: path.join(dir, "db"), host: "127.0.0.1", port: 0 });
    client = makeLabDynamoClient(dynamo.endpoint);
    return client;
  }
  async function stop(): Promise<void> {
    client?.destroy();
    await dynamo?.close();
    client = undefined;
    dynamo = undefined;
  }

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-dynamo-"));
  });
  afterEach(async () => {
    await stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("creates the table from METADATA_TABLE once, and finds it again after a restart on the same folder", async () => {
    let c = await start();
    expect(await ensureMetadataTable(c, "t-meta")).to.equal("created");
    expect(await ensureMetadataTable(c, "t-meta")).to.equal("existing");
    const { Table } = await c.send(new DescribeTableCommand({ TableName: "t-meta" }));
    expect(Table?.KeySchema).to.deep.equal([{ AttributeName: METADATA_TABLE.partitionKey.name, KeyType: "HASH" }]);
    const index = Table?.GlobalSecondaryIndexes?.find((g) => g.IndexName === METADATA_TABLE.listIndex.name);
    expect(index?.KeySchema).to.deep.equal([
      { AttributeName: METADATA_TABLE.listIndex.partitionKey.name, KeyType: "HASH" },
      { AttributeName: METADATA_TABLE.listIndex.sortKey.name, KeyType: "RANGE" },
    ]);
    await DynamoDBDocumentClient.from(c).send(new PutCommand({ TableName: "t-meta", Item: { objectKey: "kept" } }));
    await stop();

    c = await start();
    expect(await ensureMetadataTable(c, "t-meta")).to.equal("existing");
    const got = await DynamoDBDocumentClient.from(c).send(
      new GetCommand({ TableName: "t-meta", Key: { objectKey: "kept" } }),
    );
    expect(got.Item).to.deep.equal({ objectKey: "kept" });
  });

  it("refuses a table with another key schema", async () => {
    const c = await start();
    await c.send(
      new CreateTableCommand({
        TableName: "t-other",
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      }),
    );
    let error: Error | undefined;
    try {
      await ensureMetadataTable(c, "t-other");
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.match(/different key schema/);
  });

  it("sweeps items whose TTL passed, and only those", async () => {
    const c = await start();
    await ensureMetadataTable(c, "t-ttl");
    const doc = DynamoDBDocumentClient.from(c);
    const now = new Date("2026-06-01T00:00:00Z");
    const sec = Math.floor(now.getTime() / 1000);
    const ttl = METADATA_TABLE.ttlAttribute;
    const items = [
      { objectKey: "expired", deleted: true, [ttl]: sec - 10 },
      { objectKey: "not-yet", deleted: true, [ttl]: sec + 10 },
      { objectKey: "live", listPartition: METADATA_TABLE.listPartitionValue, processedAt: now.toISOString() },
    ];
    for (const Item of items) await doc.send(new PutCommand({ TableName: "t-ttl", Item }));
    expect(await sweepExpiredItems(c, "t-ttl", now)).to.equal(1);
    const remaining = await Promise.all(
      items.map((i) => doc.send(new GetCommand({ TableName: "t-ttl", Key: { objectKey: i.objectKey } }))),
    );
    expect(remaining.map((r) => r.Item?.objectKey)).to.deep.equal([undefined, "not-yet", "live"]);
  });

  describe("after a kill between dynalite's index write and its item write", () => {
    const T = "t-meta";
    const item = (processedAt: string) => ({
      objectKey: "w7/00015-mp4-fragmented.mp4",
      listPartition: METADATA_TABLE.listPartitionValue,
      processedAt,
      sequencer: processedAt,
    });
    const listed = async (c: DynamoDBClient) =>
      (
        await DynamoDBDocumentClient.from(c).send(
          new QueryCommand({
            TableName: T,
            IndexName: METADATA_TABLE.listIndex.name,
            KeyConditionExpression: "listPartition = :p",
            ExpressionAttributeValues: { ":p": METADATA_TABLE.listPartitionValue },
          }),
        )
      ).Items?.map((i) => i.processedAt) ?? [];

    /** What dynalite leaves when killed inside putItem of `next`: index updated, base item not. */
    async function tornWrite(next: ReturnType<typeof item>): Promise<void> {
      const db = new Level<string, unknown>(path.join(dir, "db"), { valueEncoding: "json" });
      await db.open();
      const table = await db.get(`table~${T}`);
      const indexDb = `index-global~${T}~${METADATA_TABLE.listIndex.name}~`;
      const old: string[] = [];
      for await (const key of db.keys({ gte: indexDb, lt: `${indexDb}\xff` })) old.push(key);
      const dyn = require("dynalite/db");
      const toDynamo = (i: Record<string, string>) =>
        Object.fromEntries(Object.entries(i).map(([k, v]) => [k, { S: v }]));
      const puts = dyn.getIndexActions(
        (table as { GlobalSecondaryIndexes: unknown[] }).GlobalSecondaryIndexes,
        null,
        toDynamo(next),
        table,
      ).puts;
      await db.batch([
        ...old.map((key) => ({ type: "del" as const, key })),
        ...puts.map((p: { key: string; item: unknown }) => ({
          type: "put" as const,
          key: `${indexDb}${p.key}`,
          value: p.item,
        })),
      ]);
      await db.close();
    }

    it("is listed twice by raw dynalite once the key is written again (the soak's 'duplicated')", async () => {
      let c = await start();
      await ensureMetadataTable(c, T);
      await DynamoDBDocumentClient.from(c).send(new PutCommand({ TableName: T, Item: item("2026-01-01T00:00:01Z") }));
      await stop();
      await tornWrite(item("2026-01-01T00:00:02Z"));
      // dynalite without the lab's repair
      const server: Server = dynalite({ path: path.join(dir, "db"), createTableMs: 0 });
      const port = await listen(server, 0, "127.0.0.1");
      c = makeLabDynamoClient(`http://127.0.0.1:${port}`);
      await DynamoDBDocumentClient.from(c).send(new PutCommand({ TableName: T, Item: item("2026-01-01T00:00:03Z") }));
      expect(await listed(c)).to.have.length(2);
      c.destroy();
      await closeServer(server);
    });

    it("is rebuilt from the base items when the lab starts, so the key is listed once", async () => {
      let c = await start();
      await ensureMetadataTable(c, T);
      await DynamoDBDocumentClient.from(c).send(new PutCommand({ TableName: T, Item: item("2026-01-01T00:00:01Z") }));
      await stop();
      await tornWrite(item("2026-01-01T00:00:02Z"));
      const repairs: unknown[] = [];
      dynamo = await startLabDynamo({
        path: path.join(dir, "db"),
        host: "127.0.0.1",
        port: 0,
        onRepair: (r) => repairs.push(r),
      });
      c = makeLabDynamoClient(dynamo.endpoint);
      client = c;
      expect(repairs).to.deep.equal([{ removed: 1, added: 1 }]);
      expect(await listed(c)).to.deep.equal(["2026-01-01T00:00:01Z"]);
      await DynamoDBDocumentClient.from(c).send(new PutCommand({ TableName: T, Item: item("2026-01-01T00:00:03Z") }));
      expect(await listed(c)).to.deep.equal(["2026-01-01T00:00:03Z"]);
      // A consistent folder is left alone.
      await stop();
      expect(await repairSecondaryIndexes(path.join(dir, "db"))).to.deep.equal({ removed: 0, added: 0 });
    });
  });
});
