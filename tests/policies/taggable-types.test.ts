/**
 * Taggability comes from the installed @pulumi/aws (policies/taggable-types.ts): a type is
 * taggable when its Args declare `tags`. A type @pulumi/aws does not know stays mandatory.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { declaresTags, mustBeTagged } from "../../policies/taggable-types";

describe("policies: taggable types from the @pulumi/aws typings", () => {
  it("reads taggability from the typings, including types outside the services the project uses", () => {
    expect(declaresTags("aws:s3/bucket:Bucket")).to.equal(true);
    expect(declaresTags("aws:ec2/instance:Instance")).to.equal(true);
    expect(declaresTags("aws:rds/instance:Instance")).to.equal(true);
    expect(declaresTags("aws:s3/bucketPolicy:BucketPolicy")).to.equal(false);
    expect(declaresTags("aws:lambda/permission:Permission")).to.equal(false);
  });

  it("finds classes whose file name does not follow the token (aws:datasync/s3Location -> s3location.js)", () => {
    expect(declaresTags("aws:datasync/s3Location:S3Location")).to.equal(true);
  });

  it("keeps a type @pulumi/aws does not know mandatory, and skips non-AWS types", () => {
    expect(declaresTags("aws:future/gadget:Gadget")).to.equal(undefined);
    expect(mustBeTagged("aws:future/gadget:Gadget")).to.equal(true);
    expect(mustBeTagged("aws:s3/bucketPolicy:BucketPolicy")).to.equal(false);
    expect(mustBeTagged("media-pipeline:storage:MediaBucket")).to.equal(false);
  });

  it("decides every AWS type the project's components create", () => {
    const dir = path.join(__dirname, "..", "..", "components");
    const tokens = new Set<string>();
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".ts"))) {
      const src = fs.readFileSync(path.join(dir, f), "utf8");
      for (const m of src.matchAll(/new aws\.(\w+)\.(\w+)\(/g)) {
        const [mod, cls] = [m[1] as string, m[2] as string];
        if (mod === "Provider") continue;
        tokens.add(`aws:${mod}/${cls.charAt(0).toLowerCase()}${cls.slice(1)}:${cls}`);
      }
    }
    expect(tokens.size).to.be.greaterThan(10);
    expect([...tokens].filter((t) => declaresTags(t) === undefined)).to.deep.equal([]);
  });
});
