import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { buildFfprobeLayerZip, extractFromTarball, GPL3_TEXT_SHA256 } from "../../build/ffprobe-layer";
import {
  FFPROBE_LAYER_TYPE,
  FfprobeLayer,
  FORMER_FFPROBE_LAYER_TYPE,
  LAYER_RUNTIMES,
} from "../../components/ffprobe-layer";
import { FFPROBE_PIN, layerDescription } from "../../lib/ffprobe-pin";
import { PROJECT_NAME } from "../../lib/naming";
import { readZipEntries, readZipFile } from "../helpers/zip";
import { fakeBinary, fakeLayerZip, settled, startMocks, T, TEST_STACK } from "./helpers";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "mp-layer-test-"));

describe("ffprobe layer zip", () => {
  it("ships the binary with mode 0755 at bin/ffprobe, the GPL text and a notice naming version, digest and source", async () => {
    const bin = fakeBinary();
    const pin = { npmPackage: "fake-ffprobe", version: "1.2.3", sha256: bin.sha256 };
    const built = buildFfprobeLayerZip({ architecture: "arm64", pin, binaryPath: bin.path, cacheDir: tmpDir() });
    const zip = fs.readFileSync(built.zipPath);
    const entries = new Map((await readZipEntries(zip)).map((e) => [e.name, e]));

    expect([...entries.keys()]).to.include.members([
      "bin/",
      "bin/ffprobe",
      "share/licenses/ffprobe/LICENSE",
      "share/licenses/ffprobe/NOTICE",
    ]);
    // Layers mount at /opt: the zip paths are the pin's paths without it.
    expect(`/opt/${"bin/ffprobe"}`).to.equal(FFPROBE_PIN.layerBinaryPath);
    expect(`/opt/${"share/licenses/ffprobe/LICENSE"}`).to.equal(FFPROBE_PIN.layerLicensePath);
    expect(entries.get("bin/ffprobe")?.unixMode).to.equal(0o100755);
    expect(entries.get("share/licenses/ffprobe/LICENSE")?.unixMode).to.equal(0o100644);
    expect(entries.get("bin/")?.unixMode).to.equal(0o040755);

    expect(sha256(await readZipFile(zip, "bin/ffprobe"))).to.equal(bin.sha256);
    const license = await readZipFile(zip, "share/licenses/ffprobe/LICENSE");
    expect(sha256(license)).to.equal(GPL3_TEXT_SHA256);
    expect(license.toString("utf8")).to.contain("GNU GENERAL PUBLIC LICENSE").and.contain("Version 3, 29 June 2007");
    const notice = (await readZipFile(zip, "share/licenses/ffprobe/NOTICE")).toString("utf8");
    expect(notice).to.contain("fake-ffprobe@1.2.3").and.contain(bin.sha256).and.contain(FFPROBE_PIN.sourceUrl);
    expect(notice).to.contain("Architecture: arm64");
    expect(built.zipSha256).to.equal(sha256(zip));
  });

  it("is deterministic: the same inputs give the same bytes (no spurious layer replacement)", () => {
    const bin = fakeBinary();
    const pin = { npmPackage: "fake-ffprobe", version: "1.2.3", sha256: bin.sha256 };
    const a = buildFfprobeLayerZip({ architecture: "x86_64", pin, binaryPath: bin.path, cacheDir: tmpDir() });
    const b = buildFfprobeLayerZip({ architecture: "x86_64", pin, binaryPath: bin.path, cacheDir: tmpDir() });
    expect(a.zipSha256).to.equal(b.zipSha256);
  });

  it("fails loudly, naming both digests, when the binary is not the pinned one, and caches nothing", () => {
    const bin = fakeBinary();
    const cacheDir = tmpDir();
    const wrong = "0".repeat(64);
    expect(() =>
      buildFfprobeLayerZip({
        architecture: "x86_64",
        pin: { npmPackage: "fake-ffprobe", version: "1.2.3", sha256: wrong },
        binaryPath: bin.path,
        cacheDir,
      }),
    )
      .to.throw(/refusing to build the layer/)
      .with.property("message")
      .that.contains(bin.sha256)
      .and.contains(wrong);
    expect(
      fs.existsSync(path.join(cacheDir, "ffprobe-layer")) && fs.readdirSync(path.join(cacheDir, "ffprobe-layer")),
    ).to.satisfy((v: false | string[]) => v === false || v.length === 0);
  });

  it("reuses a cached zip only while its recorded digest still matches", () => {
    const bin = fakeBinary();
    const pin = { npmPackage: "fake-ffprobe", version: "1.2.3", sha256: bin.sha256 };
    const cacheDir = tmpDir();
    const first = buildFfprobeLayerZip({ architecture: "x86_64", pin, binaryPath: bin.path, cacheDir });
    expect(first.fromCache).to.equal(false);
    expect(buildFfprobeLayerZip({ architecture: "x86_64", pin, binaryPath: bin.path, cacheDir }).fromCache).to.equal(
      true,
    );
    fs.appendFileSync(first.zipPath, "corruption");
    const rebuilt = buildFfprobeLayerZip({ architecture: "x86_64", pin, binaryPath: bin.path, cacheDir });
    expect(rebuilt.fromCache).to.equal(false);
    expect(rebuilt.zipSha256).to.equal(first.zipSha256);
  });

  it("reads the binary out of an npm tarball (how the arm64 package is fetched)", () => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, "package"));
    fs.writeFileSync(path.join(dir, "package", "ffprobe"), "arm64 binary");
    fs.writeFileSync(path.join(dir, "package", "package.json"), "{}");
    const tgz = path.join(dir, "pkg.tgz");
    execFileSync("tar", ["-czf", tgz, "-C", dir, "package"]);
    expect(extractFromTarball(tgz, "package/ffprobe").toString()).to.equal("arm64 binary");
    expect(() => extractFromTarball(tgz, "package/missing")).to.throw(/has no file package\/missing/);
  });

  it("builds the real pinned x86_64 layer: bin/ffprobe has the pinned SHA-256 and is executable", async function () {
    this.timeout(60_000); // first build deflates 79 MB; later runs reuse .cache/ffprobe-layer
    const built = buildFfprobeLayerZip({ architecture: "x86_64" });
    expect(built.binarySha256).to.equal(FFPROBE_PIN.binaries.x86_64.sha256);
    const zip = fs.readFileSync(built.zipPath);
    const binary = (await readZipEntries(zip)).find((e) => e.name === "bin/ffprobe");
    expect(binary?.unixMode).to.equal(0o100755);
    expect(sha256(await readZipFile(zip, "bin/ffprobe"))).to.equal(FFPROBE_PIN.binaries.x86_64.sha256);
    expect(built.bytes).to.be.below(50 * 1024 * 1024, "Lambda's direct-upload limit");
  });

  it("builds the real pinned arm64 layer from the npm package (fetched with npm pack)", async function () {
    const pin = FFPROBE_PIN.binaries.arm64;
    this.timeout(300_000); // the first run fetches the 30 MB package from the registry
    const built = buildFfprobeLayerZip({ architecture: "arm64" });
    const zip = fs.readFileSync(built.zipPath);
    expect(sha256(await readZipFile(zip, "bin/ffprobe"))).to.equal(pin.sha256);
  });
});

describe("FfprobeLayer", () => {
  beforeEach(startMocks);

  it("publishes the zip as a layer version recording package, version, arch and digest, kept on replacement", async () => {
    const zipPath = fakeLayerZip("x86_64");
    const layer = new FfprobeLayer("ffprobe", { architecture: "x86_64", zipPath });
    const res = await settled();
    const v = res.one(T.layer);
    expect(v.parent).to.equal(res.one(T.ffprobeLayer).urn);
    expect(v.inputs).to.deep.include({
      layerName: "ffprobe-x86-64",
      description: layerDescription("x86_64"),
      licenseInfo: "GPL-3.0-or-later",
      skipDestroy: true,
    });
    expect(v.inputs.description)
      .to.contain(FFPROBE_PIN.binaries.x86_64.sha256)
      .and.contain("@ffprobe-installer/linux-x64@5.2.0");
    expect(v.inputs.compatibleArchitectures).to.deep.equal(["x86_64"]);
    expect(v.inputs.compatibleRuntimes).to.deep.equal(LAYER_RUNTIMES);
    // A FileArchive of our own .zip: Pulumi uploads those bytes as they are (modes intact).
    expect(v.inputs.code).to.deep.include({ archive: "file", path: zipPath });
    expect(layer.binaryPath).to.equal("/opt/bin/ffprobe");
    expect(layer.binarySha256).to.equal(FFPROBE_PIN.binaries.x86_64.sha256);
  });

  it("keeps the identity it was deployed under as FfmpegLayer: the old type is an alias, its layer version follows", async () => {
    new FfprobeLayer("ffprobe", { architecture: "x86_64", zipPath: fakeLayerZip("x86_64") });
    const res = await settled();
    const component = res.one(T.ffprobeLayer);
    expect(component.type).to.equal(FFPROBE_LAYER_TYPE);
    const old = (chain: string) => `urn:pulumi:${TEST_STACK}::${PROJECT_NAME}::${chain}::ffprobe`;
    expect(component.aliases).to.deep.equal([old(FORMER_FFPROBE_LAYER_TYPE)]);
    expect(res.one(T.layer).aliases).to.deep.equal([old(`${FORMER_FFPROBE_LAYER_TYPE}$${T.layer}`)]);
  });

  it("supports arm64", async () => {
    const layer = new FfprobeLayer("ffprobe-arm", { architecture: "arm64", zipPath: fakeLayerZip("arm64") });
    const v = (await settled()).one(T.layer);
    expect(v.inputs.compatibleArchitectures).to.deep.equal(["arm64"]);
    expect(v.inputs.description).to.equal(layerDescription("arm64"));
    expect(layer.binarySha256).to.equal(FFPROBE_PIN.binaries.arm64.sha256);
  });
});
