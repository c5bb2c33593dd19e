/**
 * The lab's DynamoDB set-up: the table from lib/schema.ts, created idempotently and kept
 * on disk, and the TTL sweep standing in for DynamoDB's TTL process.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { makeLabDynamoClient } from "../../lab/clients";
import { ensureMetadataTable, type LabDynamo, startLabDynamo, sweepExpiredItems } from "../../lab/dynamodb";
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
});
