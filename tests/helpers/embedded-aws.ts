/**
 * Embedded S3 (s3rver) and DynamoDB (dynalite) on loopback, in a temp folder, for
 * integration tests of the extractor. The table is created from lib/schema.ts.
 */
import * as fs from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import dynalite from "dynalite";
import S3rver from "s3rver";
import { METADATA_TABLE, tableAttributeDefinitions } from "../../lib/schema";

export interface EmbeddedAws {
  s3: S3Client;
  dynamodb: DynamoDBClient;
  s3Endpoint: string;
  dynamoEndpoint: string;
  ingestBucket: string;
  metadataBucket: string;
  tableName: string;
  dir: string;
  stop(): Promise<void>;
}

const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export async function startEmbeddedAws(): Promise<EmbeddedAws> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-it-"));
  const s3rver = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: path.join(dir, "s3") });
  const s3Address = await s3rver.run();
  const s3Endpoint = `http://127.0.0.1:${s3Address.port}`;
  const ddbServer: Server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => ddbServer.listen(0, "127.0.0.1", resolve));
  const dynamoEndpoint = `http://127.0.0.1:${(ddbServer.address() as AddressInfo).port}`;

  const s3 = new S3Client({
    endpoint: s3Endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: "WHEN_REQUIRED",
  });
  const dynamodb = new DynamoDBClient({ endpoint: dynamoEndpoint, region: "us-east-1", credentials });
  const env: EmbeddedAws = {
    s3,
    dynamodb,
    s3Endpoint,
    dynamoEndpoint,
    ingestBucket: "it-ingest",
    metadataBucket: "it-metadata",
    tableName: "it-metadata",
    dir,
    async stop() {
      s3.destroy();
      dynamodb.destroy();
      await s3rver.close();
      await new Promise<void>((resolve) => ddbServer.close(() => resolve()));
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  await s3.send(new CreateBucketCommand({ Bucket: env.ingestBucket }));
  await s3.send(new CreateBucketCommand({ Bucket: env.metadataBucket }));
  const index = METADATA_TABLE.listIndex;
  await dynamodb.send(
    new CreateTableCommand({
      TableName: env.tableName,
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
    }),
  );
  await waitUntilTableExists({ client: dynamodb, maxWaitTime: 10 }, { TableName: env.tableName });
  return env;
}
