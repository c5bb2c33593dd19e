import { expect } from "chai";
import { labDestroyable } from "../../policies/lab-destroyable";
import { LAB_STACK, res, runResource } from "./harness";

const BUCKET = "aws:s3/bucket:Bucket";
const TABLE = "aws:dynamodb/table:Table";
const OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration";
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

  it("lab: reports a bucket without forceDestroy, a protected table, a protected resource (mandatory by default)", async () => {
    const bucket = await runResource(labDestroyable, res(BUCKET, "b"), lab);
    expect(bucket.levels).to.deep.equal(["mandatory"]);
    expect(bucket.messages).to.deep.equal([
      "bucket b (aws:s3/bucket:Bucket) does not set forceDestroy: true, so `pulumi destroy` fails while it holds objects in this lab stack.",
    ]);
    const table = await runResource(labDestroyable, res(TABLE, "t", { deletionProtectionEnabled: true }), lab);
    expect(table.messages).to.deep.equal([
      "t (aws:dynamodb/table:Table) sets deletionProtectionEnabled: true, so `pulumi destroy` fails in this lab stack; turn it off.",
    ]);
    const pool = await runResource(
      labDestroyable,
      res("aws:cognito/userPool:UserPool", "p", { deletionProtection: "ACTIVE" }),
      lab,
    );
    expect(pool.messages[0]).to.contain('sets deletionProtection: "ACTIVE"');
    const protectedQueue = await runResource(
      labDestroyable,
      { ...res("aws:sqs/queue:Queue", "q"), opts: { protect: true } },
      lab,
    );
    expect(protectedQueue.messages).to.deep.equal([
      "q (aws:sqs/queue:Queue) is protected (protect: true), so `pulumi destroy` fails in this lab stack; remove protect.",
    ]);
  });

  it("lab: deletion protection of any service (an RDS instance, an EC2 termination guard) is refused", async () => {
    const rds = await runResource(
      labDestroyable,
      res("aws:rds/instance:Instance", "db", { deletionProtection: true }),
      lab,
    );
    expect(rds.messages[0]).to.contain("sets deletionProtection: true");
    const vm = await runResource(
      labDestroyable,
      res("aws:ec2/instance:Instance", "vm", { disableApiTermination: true }),
      lab,
    );
    expect(vm.messages[0]).to.contain("sets disableApiTermination: true");
  });

  // Class: S3 Object Lock in compliance mode (pulumi destroy impossible for years) passed in a lab stack.
  it("lab: refuses Object Lock retention in COMPLIANCE mode (configuration resource, inline, per object)", async () => {
    const config = res(OBJECT_LOCK, "lock", {
      bucket: "b",
      rule: { defaultRetention: { mode: "COMPLIANCE", years: 5 } },
    });
    const out = await runResource(labDestroyable, config, lab);
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.messages[0]).to.contain("S3 Object Lock retention in COMPLIANCE mode for 5 year(s)");
    const inline = await runResource(
      labDestroyable,
      res(BUCKET, "b", {
        forceDestroy: true,
        objectLockConfiguration: {
          objectLockEnabled: "Enabled",
          rule: { defaultRetention: { mode: "COMPLIANCE", days: 30 } },
        },
      }),
      lab,
    );
    expect(inline.messages[0]).to.contain("COMPLIANCE mode for 30 day(s)");
    const object = await runResource(
      labDestroyable,
      res("aws:s3/bucketObjectv2:BucketObjectv2", "o", {
        objectLockMode: "COMPLIANCE",
        objectLockLegalHoldStatus: "ON",
      }),
      lab,
    );
    expect(object.messages).to.have.length(2);
  });

  it("fair use, lab: Object Lock in GOVERNANCE mode (forceDestroy bypasses it) passes", async () => {
    const config = res(OBJECT_LOCK, "lock", {
      bucket: "b",
      rule: { defaultRetention: { mode: "GOVERNANCE", days: 1 } },
    });
    expect((await runResource(labDestroyable, config, lab)).messages).to.deep.equal([]);
  });

  it("fair use, production: COMPLIANCE Object Lock is the production stack's business", async () => {
    const config = res(OBJECT_LOCK, "lock", {
      bucket: "b",
      rule: { defaultRetention: { mode: "COMPLIANCE", years: 5 } },
    });
    expect((await runResource(labDestroyable, config, prod)).messages).to.deep.equal([]);
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
    const bad = await runResource(labDestroyable, res(TABLE, "t", {}), prod);
    expect(bad.levels).to.deep.equal(["mandatory", "mandatory"]);
    expect(bad.messages).to.deep.equal([
      "table t (aws:dynamodb/table:Table) has no deletion protection in this production stack (the policy config's `lab`); set deletionProtectionEnabled: true.",
      "table t (aws:dynamodb/table:Table) has no point-in-time recovery in this production stack (the policy config's `lab`); set pointInTimeRecovery: { enabled: true }.",
    ]);
    // Buckets are not required to keep data in production by this policy.
    expect((await runResource(labDestroyable, res(BUCKET, "b", { forceDestroy: true }), prod)).messages).to.deep.equal(
      [],
    );
  });
});

// Issue 16: any stack name works; lab or production follows the stack's own configuration.
describe("policies: lab-destroyable follows the stack's own lab setting", () => {
  const table = (stack: string) => ({
    ...res(TABLE, "t", { deletionProtectionEnabled: false, pointInTimeRecovery: { enabled: false } }),
    urn: `urn:pulumi:${stack}::media-pipeline::${TABLE}::t`,
  });

  it("a lab stack named `edge` with no config file of its own is judged as a lab", async () => {
    const out = await runResource(labDestroyable, table("edge"), { stack: "edge", stackConfig: LAB_STACK });
    expect(out.messages).to.deep.equal([]);
  });

  it("a review stack named after a pull request follows its lab setting too", async () => {
    const lab = await runResource(labDestroyable, table("pr-123"), { stack: "pr-123", stackConfig: LAB_STACK });
    expect(lab.messages).to.deep.equal([]);
    const notLab = await runResource(labDestroyable, table("pr-123"), {
      stack: "pr-123",
      stackConfig: { "media-pipeline:lab": "false" },
    });
    expect(notLab.messages[0]).to.contain(
      "has no deletion protection in this production stack (the stack's config media-pipeline:lab=false)",
    );
  });

  it("a stack whose configuration says nothing is production; an explicit policy config still wins", async () => {
    const none = await runResource(labDestroyable, table("edge"), { stack: "edge" });
    expect(none.messages).to.have.length(2);
    expect(none.messages[0]).to.contain("(no lab setting in the stack's config (production by default))");
    const forced = await runResource(labDestroyable, table("edge"), {
      stack: "edge",
      stackConfig: LAB_STACK,
      config: { lab: false },
    });
    expect(forced.messages).to.have.length(2);
  });
});
