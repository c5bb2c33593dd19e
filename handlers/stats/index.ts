/**
 * Lambda entry of the stats aggregator: a DynamoDB Streams event source mapping on the
 * metadata table (NEW_AND_OLD_IMAGES) delivers batches of one stream shard in order;
 * each record becomes the new state of one document (NewImage; none for REMOVE) and the
 * batch is applied by applyChanges. Any failure throws: the mapping retries the batch
 * (bisecting it), and applying a batch again adds nothing twice (see aggregator.ts).
 * Environment: STATS_TABLE_NAME.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { ENV, requireEnv } from "../../lib/runtime-env";
import { METADATA_TABLE } from "../../lib/schema";
import { applyChanges, type DocumentChange } from "./aggregator";
import { DynamoStatsStore } from "./store";

const logger = new Logger({ serviceName: process.env[ENV.serviceName] ?? "stats" });
const dynamodb = new DynamoDBClient({});
let store: DynamoStatsStore | undefined;

type StreamImage = Parameters<typeof unmarshall>[0];

/** The document changes a stream event carries, in order. */
export function changesOf(event: DynamoDBStreamEvent): DocumentChange[] {
  const pk = METADATA_TABLE.partitionKey.name;
  return event.Records.flatMap((r) => {
    const keys = r.dynamodb?.Keys ? unmarshall(r.dynamodb.Keys as StreamImage) : {};
    const key = keys[pk];
    if (typeof key !== "string") return [];
    const image = r.eventName === "REMOVE" ? undefined : r.dynamodb?.NewImage;
    return [{ key, item: image ? unmarshall(image as StreamImage) : undefined }];
  });
}

export async function handler(event: DynamoDBStreamEvent): Promise<void> {
  store ??= new DynamoStatsStore(dynamodb, requireEnv(ENV.statsTableName));
  const changes = changesOf(event);
  const result = await applyChanges(store, changes);
  logger.info("stats updated", { records: event.Records.length, ...result });
}
