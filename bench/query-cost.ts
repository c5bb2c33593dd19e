/**
 * What one list Query costs in the lab, by items read: `npx tsx bench/query-cost.ts [--json]`.
 *
 * The figures behind docs/api.md "Performance": a dynalite on a temporary folder holding the
 * API bench's 10,000 documents in 4 shards (bench/api.ts seedDocuments), then the same Query
 * of one shard (newest first, Limit 1, 13 and 26) sent, one after another, three ways:
 * - `sdk`: through DynamoDBDocumentClient as the read API sends it (no call logging,
 *   lib/sdk-logging.ts);
 * - `sdk+log`: the same with the SDK's call-logging middleware left in (the SDK's default);
 * - `dynalite`: the same request as plain HTTP, without the SDK (dynalite's own share).
 * Everything runs in this one process, as in the lab, so the CPU time per Query
 * (process.cpuUsage) is the handler's and dynalite's together. The ways are measured in
 * turns (A B C C B A ...), several rounds each, and the median is reported: other work on a
 * shared machine weighs on all of them alike.
 */
import * as fs from "node:fs/promises";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { makeLabDynamoClient } from "../lab/clients";
import { ensureMetadataTable, startLabDynamo } from "../lab/dynamodb";
import { listPartitionValue } from "../lib/list-index";
import { METADATA_TABLE } from "../lib/schema";
import { type Cli, parseFlags, runCli } from "../tools/cli";
import { seedDocuments } from "./api";
import { median, table } from "./section";

const WAYS = ["sdk", "sdk+log", "dynalite"] as const;
const LIMITS = [1, 13, 26] as const;
const ROUNDS = 10;
const QUERIES_PER_ROUND = 150;

export interface QueryCost {
  way: (typeof WAYS)[number];
  limit: number;
  /** Median over the rounds of the CPU milliseconds per Query. */
  cpuMs: number;
}

/** The order of the ways in round `round`: forwards on even rounds, backwards on odd ones. */
export function turnOrder<T>(ways: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...ways] : [...ways].reverse();
}

async function measure(log: (line: string) => void): Promise<QueryCost[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-query-cost-"));
  const dynamo = await startLabDynamo({ path: dir, host: "127.0.0.1", port: 0 });
  const tableName = "query-cost";
  const plain = makeLabDynamoClient(dynamo.endpoint);
  const logged = makeLabDynamoClient(dynamo.endpoint, {
    logger: { debug() {}, info() {}, warn() {}, error() {} }, // drops every line, as the default
  });
  const agent = new http.Agent({ keepAlive: true });
  try {
    await ensureMetadataTable(plain, tableName);
    log("writing 10,000 documents in 4 shards...");
    await seedDocuments({ dynamodbEndpoint: dynamo.endpoint, tableName }, 10_000, 4);
    const index = METADATA_TABLE.listIndex;
    const input = (limit: number) => ({
      TableName: tableName,
      IndexName: index.name,
      KeyConditionExpression: "#lp = :lp",
      ExpressionAttributeNames: { "#lp": index.partitionKey.name },
      ScanIndexForward: false,
      Limit: limit,
    });
    const docs = { sdk: DynamoDBDocumentClient.from(plain), "sdk+log": DynamoDBDocumentClient.from(logged) };
    const raw = (limit: number) => {
      const body = JSON.stringify({
        ...input(limit),
        ExpressionAttributeValues: { ":lp": { S: listPartitionValue(1) } },
      });
      return new Promise<void>((resolve, reject) => {
        const req = http.request(
          dynamo.endpoint,
          {
            method: "POST",
            agent,
            headers: {
              "content-type": "application/x-amz-json-1.0",
              "x-amz-target": "DynamoDB_20120810.Query",
              // dynalite checks that a signature is there, not what it signs.
              authorization:
                "AWS4-HMAC-SHA256 Credential=S3RVER/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
              "x-amz-date": "20260101T000000Z",
            },
          },
          (res) => {
            res.resume();
            res.on("end", () =>
              res.statusCode === 200 ? resolve() : reject(new Error(`dynalite: ${res.statusCode}`)),
            );
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    };
    const send = async (way: (typeof WAYS)[number], limit: number) => {
      if (way === "dynalite") return raw(limit);
      await docs[way].send(
        new QueryCommand({ ...input(limit), ExpressionAttributeValues: { ":lp": listPartitionValue(1) } }),
      );
    };
    const samples = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      log(`round ${round + 1} of ${ROUNDS}...`);
      for (const limit of LIMITS) {
        for (const way of turnOrder(WAYS, round)) {
          for (let i = 0; i < 10; i++) await send(way, limit); // warm
          const before = process.cpuUsage();
          for (let i = 0; i < QUERIES_PER_ROUND; i++) await send(way, limit);
          const used = process.cpuUsage(before);
          const key = `${way} ${limit}`;
          samples.set(key, [...(samples.get(key) ?? []), (used.user + used.system) / 1000 / QUERIES_PER_ROUND]);
        }
      }
    }
    return WAYS.flatMap((way) =>
      LIMITS.map((limit) => ({
        way,
        limit,
        cpuMs: Math.round(median(samples.get(`${way} ${limit}`) ?? []) * 100) / 100,
      })),
    );
  } finally {
    agent.destroy();
    plain.destroy();
    logged.destroy();
    await dynamo.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

export const cli: Cli = {
  name: "query-cost",
  usage:
    "usage: npx tsx bench/query-cost.ts [--json]\n\n  CPU per list Query in the lab (SDK with and without call logging, dynalite alone), by items read.\n  --json  the figures as JSON on stdout",
  async main(argv) {
    const { values } = parseFlags(argv, { json: { type: "boolean" } });
    const costs = await measure((line) => process.stderr.write(`${line}\n`));
    if (values.json) {
      process.stdout.write(`${JSON.stringify(costs)}\n`);
      return 0;
    }
    process.stdout.write(
      `${table([
        ["CPU ms per Query (median of rounds)", ...LIMITS.map((l) => `${l} item${l === 1 ? "" : "s"}`)],
        ...WAYS.map((way) => [
          way,
          ...LIMITS.map((l) => String(costs.find((c) => c.way === way && c.limit === l)?.cpuMs)),
        ]),
      ])}\n`,
    );
    return 0;
  },
};

if (require.main === module) runCli(cli);
