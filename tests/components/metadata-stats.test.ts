import { expect } from "chai";
import { MetadataStats } from "../../components/metadata-stats";
import { MetadataTable } from "../../components/metadata-table";
import { ENV } from "../../lib/runtime-env";
import { STATS_TABLE } from "../../lib/stats-table";
import { settled, startMocks, T } from "./helpers";

describe("MetadataStats (GET /stats totals from the table's stream)", () => {
  beforeEach(startMocks);

  it("streams the metadata table with both images and reads it in order, retrying by bisection", async () => {
    const table = new MetadataTable("docs", { pointInTimeRecovery: false, deletionProtection: false, listShards: 4 });
    const STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/docs/stream/2026-01-01T00:00:00.000";
    new MetadataStats("stats", {
      streamArn: STREAM,
      architecture: "x86_64",
      logRetentionDays: 7,
      pointInTimeRecovery: false,
      deletionProtection: false,
    });
    const res = await settled();
    const docs = res.one(T.table, "docs");
    expect(docs.inputs).to.deep.include({ streamEnabled: true, streamViewType: "NEW_AND_OLD_IMAGES" });
    expect(table.listShards).to.equal(4);
    const esm = res.one(T.eventSourceMapping);
    expect(esm.inputs).to.deep.include({
      eventSourceArn: STREAM,
      startingPosition: "TRIM_HORIZON",
      parallelizationFactor: 1,
      bisectBatchOnFunctionError: true,
      batchSize: 100,
    });
    const statsTable = res.one(T.table, "stats-table");
    expect(statsTable.inputs).to.deep.include({
      billingMode: "PAY_PER_REQUEST",
      hashKey: STATS_TABLE.partitionKey.name,
    });
    const fn = res.one(T.function);
    expect((fn.inputs.environment as { variables: Record<string, string> }).variables[ENV.statsTableName]).to.equal(
      statsTable.state.name,
    );
  });

  it("grants only the stream reads, the stats table's items and its own logs", async () => {
    new MetadataStats("stats", {
      streamArn: "arn:aws:dynamodb:us-east-1:123456789012:table/docs/stream/2026-01-01T00:00:00.000",
      architecture: "x86_64",
      logRetentionDays: 7,
      pointInTimeRecovery: false,
      deletionProtection: false,
    });
    const res = await settled();
    const policy = JSON.parse(String(res.one("aws:iam/rolePolicy:RolePolicy").inputs.policy)) as {
      Statement: { Sid?: string; Action: string | string[]; Resource: string | string[] }[];
    };
    const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
    expect(bySid.ReadTableStream.Resource).to.equal(
      "arn:aws:dynamodb:us-east-1:123456789012:table/docs/stream/2026-01-01T00:00:00.000",
    );
    expect(bySid.KeepTotals.Resource).to.equal(res.one(T.table).state.arn);
    expect(bySid.KeepTotals.Action).to.not.include("dynamodb:Scan");
    // Nothing on every table: the stream actions (ListStreams included) name this stream only.
    for (const s of policy.Statement.filter((x) => [x.Action].flat().some((a) => a.startsWith("dynamodb:")))) {
      expect(s.Resource, s.Sid).to.not.equal("*");
    }
  });
});
