/**
 * The taggable-types lists are maintained by hand; this checks every entry against the
 * installed @pulumi/aws typings (a type is taggable when its Args declare `tags`), so a wrong
 * entry, or a type that changed in a provider upgrade, fails here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { NON_TAGGABLE_TYPES, TAGGABLE_TYPES } from "../../policies/taggable-types";

const AWS_DIR = path.dirname(require.resolve("@pulumi/aws/package.json"));

/** Whether the resource's Args interface declares a `tags` input; undefined when the type is not in @pulumi/aws. */
function declaresTags(type: string): boolean | undefined {
  const [, module] = type.split(":");
  const [dir, file] = (module ?? "").split("/");
  const dts = path.join(AWS_DIR, dir ?? "", `${file}.d.ts`);
  if (!fs.existsSync(dts)) return undefined;
  const text = fs.readFileSync(dts, "utf8");
  const args = text.match(/export interface \w+Args \{([\s\S]*?)\n\}/);
  return !!args && /^\s+tags\?:/m.test(args[1] ?? "");
}

describe("policies: taggable-types lists", () => {
  it("lists each type once, in one list only", () => {
    const both = [...TAGGABLE_TYPES].filter((t) => NON_TAGGABLE_TYPES.has(t));
    expect(both).to.deep.equal([]);
  });

  it("agrees with the @pulumi/aws typings for every listed type", () => {
    const wrong: string[] = [];
    for (const t of TAGGABLE_TYPES) if (declaresTags(t) !== true) wrong.push(`${t} listed taggable`);
    for (const t of NON_TAGGABLE_TYPES) if (declaresTags(t) !== false) wrong.push(`${t} listed non-taggable`);
    expect(wrong).to.deep.equal([]);
  });

  it("covers every AWS type the project's components create", () => {
    const types = new Set<string>();
    const dir = path.join(__dirname, "..", "..", "components");
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".ts"))) {
      const src = fs.readFileSync(path.join(dir, f), "utf8");
      for (const m of src.matchAll(/new aws\.(\w+)\.(\w+)\(/g)) types.add(`${m[1]}.${m[2]}`);
    }
    const tokens = [...types].map((t) => {
      const [mod, cls] = t.split(".") as [string, string];
      return `aws:${mod}/${cls.charAt(0).toLowerCase()}${cls.slice(1)}:${cls}`;
    });
    expect(tokens.length).to.be.greaterThan(0);
    const unlisted = tokens.filter(
      (t) => !TAGGABLE_TYPES.has(t) && !NON_TAGGABLE_TYPES.has(t) && t !== "aws:index/provider:Provider",
    );
    expect(unlisted).to.deep.equal([]);
  });
});
