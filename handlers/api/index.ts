/**
 * Lambda entry for the read API (API Gateway HTTP API, payload format 2.0).
 * The clients and logger live at module scope: once per execution environment. The
 * configuration is read on the first request, so a missing variable fails requests
 * loudly (500, logged) instead of crashing the module load.
 *
 * Environment: TABLE_NAME, INGEST_BUCKET, METADATA_BUCKET, CURSOR_SECRET_PARAMETER (an SSM
 * SecureString, read once per container; locally CURSOR_SECRET, the value), optional
 * UPLOAD_MAX_BYTES.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SSMClient } from "@aws-sdk/client-ssm";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { ENV, requireEnv } from "../../lib/runtime-env";
import { loadCursorSecret } from "./cursor-secret";
import { problemResponse } from "./problem";
import { type Api, createApi } from "./routes";

const logger = new Logger({ serviceName: process.env[ENV.serviceName] ?? "api" });
const dynamodb = new DynamoDBClient({});
// Only presigns (no request is sent). No default checksum: it would sign the CRC of an empty body into upload URLs.
const s3 = new S3Client({ requestChecksumCalculation: "WHEN_REQUIRED" });

let api: Api | undefined;
/** The cursor secret, fetched once per container; a failed fetch is tried again on the next request. */
let cursorSecret: Promise<string> | undefined;

/** The upload limit from UPLOAD_MAX_BYTES, if set. */
function uploadMaxBytes(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[ENV.uploadMaxBytes];
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d{1,16}$/.test(raw)) throw new Error(`${ENV.uploadMaxBytes} must be a number of bytes, got ${raw}`);
  return Number(raw);
}

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    const maxBytes = uploadMaxBytes();
    cursorSecret ??= loadCursorSecret(() => new SSMClient({})).catch((err) => {
      cursorSecret = undefined;
      throw err;
    });
    const secret = await cursorSecret;
    api ??= createApi({
      dynamodb,
      s3,
      tableName: requireEnv(ENV.tableName),
      ingestBucket: requireEnv(ENV.ingestBucket),
      metadataBucket: requireEnv(ENV.metadataBucket),
      cursorSecret: secret,
      uploads: maxBytes === undefined ? {} : { maxBytes },
      logger,
    });
  } catch (err) {
    // Configuration is read again on the next request until the API could be built.
    if (!api) cursorSecret = undefined;
    // The message names variables, never their values.
    logger.error("API is misconfigured", { error: err as Error });
    return problemResponse("internal", "the API is misconfigured");
  }
  return api(event);
}
