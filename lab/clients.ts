/**
 * The one place AWS SDK clients for the local lab are built. The lab itself, its tests,
 * the bench and the end-to-end tests all import these, so every client talks to the
 * embedded stand-ins the same way.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { withoutSdkCallLogging } from "../lib/sdk-logging";

/** Region the lab claims to be in (ARNs, event records, client signing). */
export const LAB_REGION = "us-east-1";

/** Dummy account id used in ARNs the lab makes up (queues, API). */
export const LAB_ACCOUNT_ID = "000000000000";

/**
 * The credentials s3rver accepts (its built-in dummy account). dynalite checks nothing,
 * so the same pair is used for both.
 */
export const LAB_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/**
 * An S3 client for the lab's s3rver:
 * - path-style URLs (s3rver cannot resolve bucket sub-domains of 127.0.0.1);
 * - `requestChecksumCalculation: "WHEN_REQUIRED"`: by default SDK v3 uploads with an
 *   aws-chunked body carrying trailing checksums, which s3rver would store verbatim
 *   (chunk headers included) as the object's bytes.
 */
export function makeLabS3Client(endpoint: string, overrides: S3ClientConfig = {}): S3Client {
  return new S3Client({
    endpoint,
    region: LAB_REGION,
    forcePathStyle: true,
    credentials: { ...LAB_CREDENTIALS },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...overrides,
  });
}

/**
 * A DynamoDB client for the lab's dynalite. Without a `logger` in `overrides`, it has no
 * call-logging middleware (lib/sdk-logging.ts), as the read API's client in AWS.
 */
export function makeLabDynamoClient(endpoint: string, overrides: DynamoDBClientConfig = {}): DynamoDBClient {
  return withoutSdkCallLogging(
    new DynamoDBClient({
      endpoint,
      region: LAB_REGION,
      credentials: { ...LAB_CREDENTIALS },
      ...overrides,
    }),
    overrides,
  );
}
