/**
 * Lambda entry for the read API (API Gateway HTTP API, payload format 2.0).
 * The clients and logger live at module scope: once per execution environment. The
 * configuration is read on the first request, so a missing variable fails requests
 * loudly (500, logged) instead of crashing the module load.
 *
 * Environment: TABLE_NAME, INGEST_BUCKET, METADATA_BUCKET, CURSOR_SECRET_PARAMETER (an SSM
 * SecureString, read once per container; locally CURSOR_SECRET, the value), optional
 * UPLOAD_MAX_BYTES, LIST_SHARDS, STATS_TABLE_NAME (GET /stats) and
 * EXTRACTOR_EVENT_SOURCE_MAPPING_UUID (GET /health's pipeline state).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetEventSourceMappingCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { SSMClient } from "@aws-sdk/client-ssm";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { ENV, requireEnv } from "../../lib/runtime-env";
import { withoutSdkCallLogging } from "../../lib/sdk-logging";
import { DynamoStatsStore } from "../stats/store";
import { loadCursorSecret } from "./cursor-secret";
import { problemResponse } from "./problem";
import { type Api, createApi, type PipelineState } from "./routes";

const logger = new Logger({ serviceName: process.env[ENV.serviceName] ?? "api" });
// No SDK call logging: it would filter every listed item for a no-op logger (lib/sdk-logging.ts).
const dynamodb = withoutSdkCallLogging(new DynamoDBClient({}), {});
// Only presigns (no request is sent). No default checksum: it would sign the CRC of an empty body into upload URLs.
const s3 = new S3Client({ requestChecksumCalculation: "WHEN_REQUIRED" });

let api: Api | undefined;
/** The cursor secret, fetched once per container; a failed fetch is tried again on the next request. */
let cursorSecret: Promise<string> | undefined;

/** How long one reading of the pipeline state is reused (GET /health is public: bound the Lambda API calls). */
const PIPELINE_STATE_TTL_MS = 30_000;

/**
 * The pipeline's state for GET /health: the extractor's SQS event source mapping is what the
 * kill switch disables to pause (docs/kill-switch.md); Disabled or Disabling means paused.
 * Read at most every PIPELINE_STATE_TTL_MS per execution environment.
 */
export function mappingStateReader(lambda: Pick<LambdaClient, "send">, uuid: string, now: () => number = Date.now) {
  let cached: { at: number; value: Promise<PipelineState> } | undefined;
  return (): Promise<PipelineState> => {
    if (!cached || now() - cached.at > PIPELINE_STATE_TTL_MS) {
      const value = lambda
        .send(new GetEventSourceMappingCommand({ UUID: uuid }))
        .then(
          (m): PipelineState =>
            m.State === "Disabled" || m.State === "Disabling" ? { state: "paused" } : { state: "running" },
        );
      value.catch(() => {
        cached = undefined; // try again on the next request
      });
      cached = { at: now(), value };
    }
    return cached.value;
  };
}

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
      ...(process.env[ENV.statsTableName]
        ? { stats: new DynamoStatsStore(dynamodb, requireEnv(ENV.statsTableName)) }
        : {}),
      ...(process.env[ENV.extractorEventSourceMappingUuid]
        ? {
            pipelineState: mappingStateReader(new LambdaClient({}), requireEnv(ENV.extractorEventSourceMappingUuid)),
          }
        : {}),
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
