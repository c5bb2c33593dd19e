/**
 * Embedded S3 (plain s3rver, no notifications: tests deliver events themselves) and the
 * lab's DynamoDB with the metadata table, in a temp folder, for integration tests of the
 * extractor.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, type S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { makeLabDynamoClient, makeLabS3Client } from "../../lab/clients";
import { ensureMetadataTable, startLabDynamo } from "../../lab/dynamodb";

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

export async function startEmbeddedAws(): Promise<EmbeddedAws> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-it-"));
  const s3rver = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: path.join(dir, "s3") });
  const { port } = await s3rver.run();
  const s3Endpoint = `http://127.0.0.1:${port}`;
  const ddb = await startLabDynamo({ host: "127.0.0.1", port: 0 });
  const s3 = makeLabS3Client(s3Endpoint);
  const dynamodb = makeLabDynamoClient(ddb.endpoint);
  const env: EmbeddedAws = {
    s3,
    dynamodb,
    s3Endpoint,
    dynamoEndpoint: ddb.endpoint,
    ingestBucket: "it-ingest",
    metadataBucket: "it-metadata",
    tableName: "it-metadata",
    dir,
    async stop() {
      s3.destroy();
      dynamodb.destroy();
      await s3rver.close();
      await ddb.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  await s3.send(new CreateBucketCommand({ Bucket: env.ingestBucket }));
  await s3.send(new CreateBucketCommand({ Bucket: env.metadataBucket }));
  await ensureMetadataTable(dynamodb, env.tableName);
  return env;
}
