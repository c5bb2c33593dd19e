/**
 * The lab's DynamoDB: dynalite on loopback with a LevelDB folder, the metadata table
 * created from lib/schema.ts (the same definition the Pulumi MetadataTable component
 * uses), and TTL emulated by a sweep since dynalite has no UpdateTimeToLive.
 */
import type { Server } from "node:http";
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { METADATA_TABLE, tableAttributeDefinitions } from "../lib/schema";
import { closeServer, listen } from "./http-server";

export interface LabDynamo {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** Starts dynalite; with `path`, tables and items persist in that LevelDB folder. */
export async function startLabDynamo(options: { path?: string; host: string; port: number }): Promise<LabDynamo> {
  const server: Server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listen(server, options.port, options.host);
  return {
    endpoint: `http://${options.host}:${port}`,
    port,
    // dynalite's close also closes the LevelDB store (releasing its LOCK).
    close: () => closeServer(server),
  };
}

/** CreateTable input for the metadata table, from METADATA_TABLE. */
export function metadataTableInput(tableName: string): CreateTableCommandInput {
  const index = METADATA_TABLE.listIndex;
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: tableAttributeDefinitions().map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: [{ AttributeName: METADATA_TABLE.partitionKey.name, KeyType: "HASH" }],
    GlobalSecondaryIndexes: [
      {
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: "HASH" },
          { AttributeName: index.sortKey.name, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: index.projection },
      },
    ],
  };
}

/**
 * Creates the metadata table when missing and waits until it is ACTIVE. An existing
 * table must have the expected key schema and index; otherwise the lab refuses to start
 * (its data folder belongs to an incompatible schema).
 */
export async function ensureMetadataTable(client: DynamoDBClient, tableName: string): Promise<"created" | "existing"> {
  let outcome: "created" | "existing" = "existing";
  const describe = () => client.send(new DescribeTableCommand({ TableName: tableName }));
  let table = await describe().catch((err) => {
    if (err instanceof ResourceNotFoundException || err?.name === "ResourceNotFoundException") return undefined;
    throw err;
  });
  if (!table) {
    await client.send(new CreateTableCommand(metadataTableInput(tableName)));
    outcome = "created";
    table = await describe();
  }
  for (let i = 0; table.Table?.TableStatus !== "ACTIVE"; i++) {
    if (i > 200) throw new Error(`table ${tableName} did not become ACTIVE`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    table = await describe();
  }
  const expected = metadataTableInput(tableName);
  const hash = table.Table?.KeySchema?.find((k) => k.KeyType === "HASH")?.AttributeName;
  const index = table.Table?.GlobalSecondaryIndexes?.find((g) => g.IndexName === METADATA_TABLE.listIndex.name);
  const indexKeys = JSON.stringify(index?.KeySchema ?? []);
  if (
    hash !== METADATA_TABLE.partitionKey.name ||
    indexKeys !== JSON.stringify(expected.GlobalSecondaryIndexes?.[0].KeySchema)
  ) {
    throw new Error(
      `table ${tableName} exists with a different key schema or without index ${METADATA_TABLE.listIndex.name}; ` +
        "remove the lab's data folder to start over",
    );
  }
  return outcome;
}

/**
 * TTL emulation: deletes items whose TTL attribute (epoch seconds) is in the past, as
 * DynamoDB's TTL process would (eventually). Returns how many were deleted. A scan, but
 * only ever in the lab; the API never scans.
 */
export async function sweepExpiredItems(client: DynamoDBClient, tableName: string, now = new Date()): Promise<number> {
  const doc = DynamoDBDocumentClient.from(client);
  const ttl = METADATA_TABLE.ttlAttribute;
  const pk = METADATA_TABLE.partitionKey.name;
  const nowSec = Math.floor(now.getTime() / 1000);
  let deleted = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: "#ttl < :now",
        ExpressionAttributeNames: { "#ttl": ttl, "#pk": pk },
        ExpressionAttributeValues: { ":now": nowSec },
        ProjectionExpression: "#pk",
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      try {
        await doc.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { [pk]: item[pk] },
            // Only if still expired: a newer write may have replaced the tombstone meanwhile.
            ConditionExpression: "#ttl < :now",
            ExpressionAttributeNames: { "#ttl": ttl },
            ExpressionAttributeValues: { ":now": nowSec },
          }),
        );
        deleted += 1;
      } catch (err) {
        if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return deleted;
}
