/**
 * Lambda entry for the read API (API Gateway HTTP API, payload format 2.0).
 * The client and logger live at module scope: once per execution environment. The table
 * name is read on the first request, so a missing variable fails requests loudly (500,
 * logged) instead of crashing the module load.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { ENV, requireEnv } from "../../lib/runtime-env";
import { problemResponse } from "./problem";
import { type Api, createApi } from "./routes";

const logger = new Logger({ serviceName: process.env[ENV.serviceName] ?? "api" });
const dynamodb = new DynamoDBClient({});

let api: Api | undefined;

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    api ??= createApi({ dynamodb, tableName: requireEnv(ENV.tableName), logger });
  } catch (err) {
    logger.error("API is misconfigured", { error: err as Error });
    return problemResponse("internal", "the API is misconfigured");
  }
  return api(event);
}
