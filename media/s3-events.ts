/**
 * Builds SQS batches whose bodies are S3 event notifications shaped exactly as S3 sends
 * them (URL-encoded key, hex sequencer, ETag without quotes), for driving the extractor.
 */
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { encodeS3EventKey } from "../handlers/extractor/s3-event";

export interface EventSpec {
  eventName: string;
  bucket: string;
  key: string;
  size?: number;
  etag?: string;
  versionId?: string;
  /** Hex sequencer; defaults to a fresh, increasing one. */
  sequencer?: string;
}

let counter = 0x100000;
/** A fresh sequencer, greater than every one handed out before in this process. */
export function nextSequencer(): string {
  counter += 1;
  return `00${counter.toString(16).toUpperCase().padStart(14, "0")}`;
}

export function s3EventBody(spec: EventSpec): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: "us-east-1",
        eventTime: new Date().toISOString(),
        eventName: spec.eventName,
        userIdentity: { principalId: "AWS:TEST" },
        requestParameters: { sourceIPAddress: "127.0.0.1" },
        responseElements: { "x-amz-request-id": "TEST", "x-amz-id-2": "TEST" },
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "extractor",
          bucket: { name: spec.bucket, ownerIdentity: { principalId: "TEST" }, arn: `arn:aws:s3:::${spec.bucket}` },
          object: {
            key: encodeS3EventKey(spec.key),
            ...(spec.eventName.startsWith("ObjectCreated:") ? { size: spec.size ?? 0, eTag: spec.etag } : {}),
            ...(spec.versionId ? { versionId: spec.versionId } : {}),
            sequencer: spec.sequencer ?? nextSequencer(),
          },
        },
      },
    ],
  });
}

let messageCounter = 0;
export function sqsRecord(body: string, receiveCount = 1): SQSRecord {
  messageCounter += 1;
  return {
    messageId: `msg-${messageCounter}`,
    receiptHandle: `rh-${messageCounter}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: "s3.amazonaws.com",
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:extractor",
    awsRegion: "us-east-1",
  };
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}
