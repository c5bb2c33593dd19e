/**
 * lib/sdk-logging.ts: a client without a logger loses the SDK's call-logging middleware (which
 * would filter every Query item for a no-op logger); a client given a logger keeps logging.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { makeLabDynamoClient } from "../../lab/clients";
import { SDK_LOGGER_MIDDLEWARE, withoutSdkCallLogging } from "../../lib/sdk-logging";

/** A client whose every call answers one Query page, without a network. */
function cannedClient(extra: ConstructorParameters<typeof DynamoDBClient>[0] = {}) {
  const body = JSON.stringify({
    Items: [{ key: { S: "a/b.mp4" }, processedAt: { S: "2026-01-01T00:00:00.000Z" }, streams: { L: [{ M: {} }] } }],
    Count: 1,
    ScannedCount: 1,
  });
  return new DynamoDBClient({
    region: "us-east-1",
    endpoint: "http://127.0.0.1:9",
    credentials: { accessKeyId: "x", secretAccessKey: "y" },
    requestHandler: {
      handle: async () => ({
        response: {
          statusCode: 200,
          reason: "OK",
          headers: { "content-type": "application/x-amz-json-1.0" },
          body: new Response(body).body as unknown as never,
        },
      }),
    } as never,
    ...extra,
  });
}

const query = new QueryCommand({
  TableName: "t",
  KeyConditionExpression: "#lp = :lp",
  ExpressionAttributeNames: { "#lp": "listPartition" },
  ExpressionAttributeValues: { ":lp": "files" },
});

describe("SDK call logging (lib/sdk-logging.ts)", () => {
  it("an SDK client has the call-logging middleware by default, with a no-op logger", () => {
    const client = cannedClient();
    expect((client.config.logger as object).constructor.name).to.equal("NoOpLogger");
    expect(client.middlewareStack.identify().some((m) => m.startsWith(SDK_LOGGER_MIDDLEWARE))).to.equal(true);
  });

  it("removes it from a client without a logger; its calls answer as before", async () => {
    const client = withoutSdkCallLogging(cannedClient(), {});
    expect(client.middlewareStack.identify().some((m) => m.startsWith(SDK_LOGGER_MIDDLEWARE))).to.equal(false);
    const res = await DynamoDBDocumentClient.from(client).send(query);
    expect(res.Items).to.deep.equal([{ key: "a/b.mp4", processedAt: "2026-01-01T00:00:00.000Z", streams: [{}] }]);
  });

  it("keeps it on a client given a logger, which still sees each call", async () => {
    const lines: unknown[] = [];
    const logger = { debug() {}, info: (l: unknown) => lines.push(l), warn() {}, error() {} };
    const client = withoutSdkCallLogging(cannedClient({ logger }), { logger });
    expect(client.middlewareStack.identify().some((m) => m.startsWith(SDK_LOGGER_MIDDLEWARE))).to.equal(true);
    await DynamoDBDocumentClient.from(client).send(query);
    expect(lines).to.have.length(1);
  });

  it("decides on the configuration, not on the logger's class name (minified bundles rename the SDK's NoOpLogger)", () => {
    // A given logger whose class happens to be called NoOpLogger is still a logger: it keeps the middleware.
    class NoOpLogger {
      debug() {}
      info() {}
      warn() {}
      error() {}
    }
    const logger = new NoOpLogger();
    const given = withoutSdkCallLogging(cannedClient({ logger }), { logger });
    expect(given.middlewareStack.identify().some((m) => m.startsWith(SDK_LOGGER_MIDDLEWARE))).to.equal(true);
    // The SDK's default logger, renamed as minification does: the middleware still goes.
    const renamed = cannedClient();
    const sdkClass = (renamed.config.logger as object).constructor;
    const name = Object.getOwnPropertyDescriptor(sdkClass, "name") as PropertyDescriptor;
    Object.defineProperty(sdkClass, "name", { value: "e", configurable: true });
    try {
      withoutSdkCallLogging(renamed, {});
    } finally {
      Object.defineProperty(sdkClass, "name", name);
    }
    expect(renamed.middlewareStack.identify().some((m) => m.startsWith(SDK_LOGGER_MIDDLEWARE))).to.equal(false);
  });

  it("the lab's DynamoDB clients are built without it (and keep it when given a logger)", () => {
    const plain = makeLabDynamoClient("http://127.0.0.1:9");
    const logged = makeLabDynamoClient("http://127.0.0.1:9", {
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    try {
      expect(plain.middlewareStack.identify().some((m) => m.startsWith(SDK_LOGGER_MIDDLEWARE))).to.equal(false);
      expect(logged.middlewareStack.identify().some((m) => m.startsWith(SDK_LOGGER_MIDDLEWARE))).to.equal(true);
    } finally {
      plain.destroy();
      logged.destroy();
    }
  });
});
