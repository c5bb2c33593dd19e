/**
 * In-invocation retries of transient AWS errors (handlers/extractor/retry.ts): a throttling
 * burst longer than the SDK's own retries no longer sends a probed record back to the queue.
 */
import { DynamoDBClient, ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { DEFAULT_RETRY, deadlineFrom, invocationDeadline, retryTransient } from "../../handlers/extractor/retry";
import { MetadataStore } from "../../handlers/extractor/store";

const throttled = () =>
  new ProvisionedThroughputExceededException({
    message: "Rate of requests exceeds the allowed throughput",
    $metadata: {},
  });

describe("retryTransient", () => {
  it("waits with growing, jittered backoff and returns the first success", async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await retryTransient(
      async () => {
        calls += 1;
        if (calls < 5) throw throttled();
        return "done";
      },
      DEFAULT_RETRY,
      { sleep: async (ms) => void waits.push(ms), random: () => 0.999 },
    );
    expect(result).to.equal("done");
    expect(calls).to.equal(5);
    expect(waits).to.deep.equal([199, 399, 799, 1598]);
  });

  it("does not retry an error about the request itself", async () => {
    let calls = 0;
    const err = await retryTransient(async () => {
      calls += 1;
      throw Object.assign(new Error("bad"), { name: "ValidationException" });
    }).catch((e: Error) => e);
    expect((err as Error).name).to.equal("ValidationException");
    expect(calls).to.equal(1);
  });

  it("gives up rather than wait past the invocation's deadline", async () => {
    let calls = 0;
    let clock = 1_000_000;
    const err = await invocationDeadline.run(clock + 1_000, () =>
      retryTransient(
        async () => {
          calls += 1;
          throw throttled();
        },
        DEFAULT_RETRY,
        {
          now: () => clock,
          sleep: async (ms) => {
            clock += ms;
          },
          random: () => 0.999,
        },
      ).catch((e: Error) => e),
    );
    expect((err as Error).name).to.equal("ProvisionedThroughputExceededException");
    expect(calls).to.equal(3); // waits 199 + 399; the next (799) would end past the deadline
  });

  it("keeps a margin of Lambda's remaining time for answering the batch", () => {
    expect(deadlineFrom(60_000, 0)).to.equal(55_000);
    expect(deadlineFrom(10_000, 0)).to.equal(9_000);
  });
});

describe("MetadataStore under throttling", () => {
  it("writes the document through a burst of throttled requests instead of failing the record", async () => {
    const ddb = mockClient(DynamoDBDocumentClient);
    ddb
      .on(PutCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolves({});
    const store = new MetadataStore(
      new DynamoDBClient({ region: "us-east-1" }),
      "t",
      new S3Client({ region: "us-east-1" }),
      "m",
      {
        ...DEFAULT_RETRY,
        baseMs: 1,
      },
    );
    const written = await store.putTombstone(
      { bucket: "b", key: "w1/00170-wav.wav", sequencer: "00A", eventTime: "2026-01-01T00:00:00Z" },
      new Date(),
    );
    expect(written).to.equal("written");
    expect(ddb.commandCalls(PutCommand)).to.have.length(5);
    ddb.restore();
  });
});
