import { expect } from "chai";
import { MetadataTable } from "../../components/metadata-table";
import { METADATA_TABLE, tableAttributeDefinitions } from "../../lib/schema";
import { promiseOf, settled, startMocks, T } from "./helpers";

describe("MetadataTable", () => {
  beforeEach(startMocks);

  it("is on demand, keyed and indexed as lib/schema.ts says, with TTL and encryption", async () => {
    const table = new MetadataTable("docs", { pointInTimeRecovery: false, deletionProtection: false });
    const res = await settled();
    const t = res.one(T.table);
    expect(t.parent).to.equal(res.one(T.metadataTable).urn);
    expect(t.inputs).to.deep.include({
      billingMode: "PAY_PER_REQUEST",
      hashKey: METADATA_TABLE.partitionKey.name,
      deletionProtectionEnabled: false,
    });
    expect(t.inputs.rangeKey).to.equal(undefined);
    expect(t.inputs.attributes).to.have.deep.members(tableAttributeDefinitions());
    // The newest-first listing: Query on listPartition, sorted by processedAt, no scan.
    expect(t.inputs.globalSecondaryIndexes).to.deep.equal([
      {
        name: "byProcessedAt",
        keySchemas: [
          { attributeName: "listPartition", keyType: "HASH" },
          { attributeName: "processedAt", keyType: "RANGE" },
        ],
        projectionType: "ALL",
      },
    ]);
    expect(t.inputs.ttl).to.deep.equal({ attributeName: "expiresAt", enabled: true });
    expect(t.inputs.pointInTimeRecovery).to.deep.equal({ enabled: false });
    expect(t.inputs.serverSideEncryption).to.deep.equal({ enabled: true });
    expect(await promiseOf(table.listIndexArn)).to.equal(`${t.state.arn}/index/byProcessedAt`);
  });

  it("turns on point-in-time recovery and deletion protection from its arguments", async () => {
    new MetadataTable("prod-docs", { pointInTimeRecovery: true, deletionProtection: true });
    const t = (await settled()).one(T.table);
    expect(t.inputs.pointInTimeRecovery).to.deep.equal({ enabled: true });
    expect(t.inputs.deletionProtectionEnabled).to.equal(true);
  });
});
