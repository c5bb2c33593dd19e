/**
 * lib/aws-types.ts, the one list of AWS type tokens the pack, the plan and the tests share:
 * every token is the `__pulumiType` of a resource class of the installed @pulumi/aws, at the path
 * the token names, and no token has two names.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { AWS_TYPES, S3_BUCKET_TYPES, S3_OBJECT_TYPES } from "../../lib/aws-types";

const AWS_DIR = path.dirname(require.resolve("@pulumi/aws/package.json"));

describe("lib/aws-types", () => {
  it("names resource classes the installed @pulumi/aws defines", () => {
    const missing: string[] = [];
    for (const [key, token] of Object.entries(AWS_TYPES)) {
      if (key === "provider") continue;
      const [, mod = ""] = token.split(":");
      const [moduleName = "", file = ""] = mod.split("/");
      const js = path.join(AWS_DIR, moduleName, `${file}.js`);
      const text = fs.existsSync(js) ? fs.readFileSync(js, "utf8") : "";
      if (!text.includes(`__pulumiType = '${token}'`)) missing.push(`${key}: ${token}`);
    }
    expect(missing).to.deep.equal([]);
    expect(AWS_TYPES.provider).to.equal("pulumi:providers:aws");
  });

  it("gives each token one name, and the S3 groups are tokens of the table", () => {
    const tokens = Object.values(AWS_TYPES);
    expect(new Set(tokens).size).to.equal(tokens.length);
    for (const t of [...S3_BUCKET_TYPES, ...S3_OBJECT_TYPES]) expect(tokens).to.include(t);
  });
});
