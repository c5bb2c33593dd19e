/**
 * The Lambda bundles (build/bundles.ts, `npm run build`): the function's folder (its code archive)
 * holds index.js alone with no link to a source map, so nothing parses a map at load; the
 * map is kept beside, outside the archive, and still maps the bundle back to our sources.
 */
import * as fs from "node:fs";
import { SourceMap } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { type BundleResult, buildBundle } from "../../build/bundles";
import { REPO_ROOT } from "../../lib/repo-root";

describe("Lambda bundles", function () {
  this.timeout(120_000);
  let outDir: string;
  let built: BundleResult;

  before(async () => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-bundles-"));
    built = await buildBundle("extractor", outDir);
  });
  after(() => fs.rmSync(outDir, { recursive: true, force: true }));

  it("puts index.js alone in the function's folder, without a sourceMappingURL", () => {
    expect(fs.readdirSync(built.dir)).to.deep.equal(["index.js"]);
    const js = fs.readFileSync(built.outfile, "utf8");
    expect(js).not.to.match(/sourceMappingURL/);
    expect(built.bytes).to.equal(Buffer.byteLength(js));
  });

  it("keeps the map outside the folder, with the sources inlined and named from the repository root", () => {
    expect(path.relative(built.dir, built.mapFile).startsWith("..")).to.equal(true);
    const map = JSON.parse(fs.readFileSync(built.mapFile, "utf8")) as { sources: string[]; sourcesContent: string[] };
    expect(map.sources).to.include("handlers/extractor/index.ts");
    const i = map.sources.indexOf("lib/runtime-env.ts");
    expect(map.sourcesContent[i]).to.equal(fs.readFileSync(path.join(REPO_ROOT, "lib/runtime-env.ts"), "utf8"));
  });

  it("maps a position in the minified bundle back to the source line it came from", () => {
    const js = fs.readFileSync(built.outfile, "utf8");
    const needle = "is not the digest of a pinned ffprobe build";
    const at = js.indexOf(needle);
    expect(at).to.be.greaterThan(0);
    const before = js.slice(0, at);
    const line = before.split("\n").length - 1;
    const column = at - (before.lastIndexOf("\n") + 1);
    const entry = new SourceMap(JSON.parse(fs.readFileSync(built.mapFile, "utf8"))).findEntry(line, column);
    expect(entry).to.have.property("originalSource", "handlers/extractor/ffprobe-identity.ts");
    const source = fs.readFileSync(path.join(REPO_ROOT, "handlers/extractor/ffprobe-identity.ts"), "utf8").split("\n");
    expect(source[(entry as { originalLine: number }).originalLine]).to.contain(needle);
  });

  it("resolves packages through their ES module builds, which esbuild can tree-shake", () => {
    const inputs = Object.keys(built.metafile.inputs);
    expect(inputs.some((f) => /@aws-sdk\/client-s3\/dist-es\//.test(f))).to.equal(true);
    expect(inputs.some((f) => /@aws-sdk\/client-s3\/dist-cjs\//.test(f))).to.equal(false);
  });

  it("leaves lib/repo-root.ts out (its __dirname is the bundle's folder in a Lambda, not the repository)", () => {
    const inputs = Object.keys(built.metafile.inputs);
    expect(inputs).to.include("lib/runtime-env.ts");
    expect(inputs).to.not.include("lib/repo-root.ts");
  });
});
