import { expect } from "chai";
import { labDestroyable } from "../../policies/lab-destroyable";
import { res, runResource } from "./harness";

const BUCKET = "aws:s3/bucket:Bucket";
const TABLE = "aws:dynamodb/table:Table";
const lab = { config: { lab: true } };
const prod = { config: { lab: false } };

describe("policies: lab-destroyable", () => {
  it("lab: passes a force-destroy bucket and an unprotected table", async () => {
    expect((await runResource(labDestroyable, res(BUCKET, "b", { forceDestroy: true }), lab)).messages).to.deep.equal(
      [],
    );
    const table = res(TABLE, "t", { deletionProtectionEnabled: false, pointInTimeRecovery: { enabled: false } });
    expect((await runResource(labDestroyable, table, lab)).messages).to.deep.equal([]);
  });

  it("lab: reports a bucket without forceDestroy, a protected table, a protected resource", async () => {
    const bucket = await runResource(labDestroyable, res(BUCKET, "b"), lab);
    expect(bucket.levels).to.deep.equal(["advisory"]);
    expect(bucket.messages).to.deep.equal([
      "bucket b (aws:s3/bucket:Bucket) does not set forceDestroy: true, so `pulumi destroy` fails while it holds objects in this lab stack.",
    ]);
    const table = await runResource(labDestroyable, res(TABLE, "t", { deletionProtectionEnabled: true }), lab);
    expect(table.messages).to.deep.equal([
      "t (aws:dynamodb/table:Table) has deletion protection, so `pulumi destroy` fails in this lab stack; set deletionProtectionEnabled: false.",
    ]);
    const pool = await runResource(
      labDestroyable,
      res("aws:cognito/userPool:UserPool", "p", { deletionProtection: "ACTIVE" }),
      lab,
    );
    expect(pool.messages[0]).to.contain('set deletionProtection: "INACTIVE"');
    const protectedQueue = await runResource(
      labDestroyable,
      { ...res("aws:sqs/queue:Queue", "q"), opts: { protect: true } },
      lab,
    );
    expect(protectedQueue.messages).to.deep.equal([
      "q (aws:sqs/queue:Queue) is protected (protect: true), so `pulumi destroy` fails in this lab stack; remove protect.",
    ]);
  });

  it("lab: skipDestroy is an advisory even when the policy is mandatory", async () => {
    const layer = res("aws:lambda/layerVersion:LayerVersion", "l", { skipDestroy: true });
    const out = await runResource(labDestroyable, layer, { ...lab, enforcementLevel: "mandatory" });
    expect(out.levels).to.deep.equal(["advisory"]);
    expect(out.messages[0]).to.contain("sets skipDestroy, so `pulumi destroy` leaves it behind");
  });

  it("production: requires deletion protection and point-in-time recovery on tables", async () => {
    const good = res(TABLE, "t", { deletionProtectionEnabled: true, pointInTimeRecovery: { enabled: true } });
    expect((await runResource(labDestroyable, good, prod)).messages).to.deep.equal([]);
    const bad = await runResource(labDestroyable, res(TABLE, "t", {}), { ...prod, enforcementLevel: "mandatory" });
    expect(bad.levels).to.deep.equal(["mandatory", "mandatory"]);
    expect(bad.messages).to.deep.equal([
      "table t (aws:dynamodb/table:Table) has no deletion protection in this production stack; set deletionProtectionEnabled: true.",
      "table t (aws:dynamodb/table:Table) has no point-in-time recovery in this production stack; set pointInTimeRecovery: { enabled: true }.",
    ]);
    // Buckets are not required to keep data in production by this policy.
    expect((await runResource(labDestroyable, res(BUCKET, "b", { forceDestroy: true }), prod)).messages).to.deep.equal(
      [],
    );
  });
});
