/**
 * The deterministic ZIP writer (build/zip.ts, yazl in a worker thread) and the ffprobe layer
 * zip it writes (build/ffprobe-layer.ts): same inputs, same bytes, in any time zone; the
 * fixed time, the entry order and the modes survive an `unzip`.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { buildFfprobeLayerZip } from "../../build/ffprobe-layer";
import { buildZip, type ZipEntry } from "../../build/zip";
import { REPO_ROOT } from "../../lib/repo-root";
import { fakeBinary } from "../components/helpers";
import { readZipEntries, readZipFile } from "../helpers/zip";

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "mp-zip-test-"));
/** 1980-01-01 in DOS date format (years since 1980 << 9 | month << 5 | day), 00:00:00 as DOS time. */
const DOS_EPOCH_DATE = (0 << 9) | (1 << 5) | 1;

function hasUnzip(): boolean {
  try {
    execFileSync("unzip", ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function fakeLayer(cacheDir = tmpDir()) {
  const bin = fakeBinary("#!/bin/sh\necho fake ffprobe ran\n");
  const pin = { npmPackage: "fake-ffprobe", version: "1.2.3", sha256: bin.sha256 };
  return { bin, built: buildFfprobeLayerZip({ architecture: "x86_64", pin, binaryPath: bin.path, cacheDir }) };
}

describe("ZIP writer (build/zip.ts)", function () {
  this.timeout(120_000);

  it("two layer builds give identical bytes", () => {
    const a = fakeLayer();
    const b = fakeLayer();
    expect(a.built.fromCache).to.equal(false);
    expect(b.built.fromCache).to.equal(false);
    expect(a.built.zipPath).to.not.equal(b.built.zipPath);
    expect(fs.readFileSync(a.built.zipPath).equals(fs.readFileSync(b.built.zipPath))).to.equal(true);
  });

  it("gives the same bytes in any time zone (DOS time only, no UTC timestamp field)", () => {
    const script = [
      `const { buildZip } = require(${JSON.stringify(path.join(REPO_ROOT, "build", "zip.ts"))});`,
      `const zip = buildZip([{ name: "d/", mode: 0o755 }, { name: "d/f", data: Buffer.from("x"), mode: 0o644 }]);`,
      `process.stdout.write(require("node:crypto").createHash("sha256").update(zip).digest("hex"));`,
    ].join("\n");
    const digests = ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"].map((tz) =>
      execFileSync(process.execPath, ["--import", "tsx", "-e", script], {
        cwd: REPO_ROOT,
        env: { ...process.env, TZ: tz },
        encoding: "utf8",
      }),
    );
    expect(digests[0]).to.match(/^[0-9a-f]{64}$/);
    expect(new Set(digests).size, digests.join(" ")).to.equal(1);
  });

  it("writes the layer's entries in order, directories first, all at 1980-01-01 00:00, with their modes", async () => {
    const { built } = fakeLayer();
    const entries = await readZipEntries(fs.readFileSync(built.zipPath));
    expect(entries.map((e) => [e.name, e.unixMode?.toString(8)])).to.deep.equal([
      ["bin/", "40755"],
      ["share/", "40755"],
      ["share/licenses/", "40755"],
      ["share/licenses/ffprobe/", "40755"],
      ["bin/ffprobe", "100755"],
      ["share/licenses/ffprobe/LICENSE", "100644"],
      ["share/licenses/ffprobe/NOTICE", "100644"],
    ]);
    for (const e of entries) {
      expect([e.name, e.dosDate, e.dosTime, e.extraFieldIds]).to.deep.equal([e.name, DOS_EPOCH_DATE, 0, []]);
      expect([e.name, e.method]).to.deep.equal([e.name, e.name.endsWith("/") ? 0 : 8]); // stored, deflated
    }
  });

  it("bin/ffprobe is executable once unzipped (unzip, or the external attributes when unzip is absent)", async () => {
    const { built } = fakeLayer();
    if (hasUnzip()) {
      const out = tmpDir();
      execFileSync("unzip", ["-q", built.zipPath, "-d", out]);
      expect((fs.statSync(path.join(out, "bin", "ffprobe")).mode & 0o777).toString(8)).to.equal("755");
      expect((fs.statSync(path.join(out, "share/licenses/ffprobe/LICENSE")).mode & 0o777).toString(8)).to.equal("644");
      // It runs as it is, as Lambda would run /opt/bin/ffprobe.
      expect(execFileSync(path.join(out, "bin", "ffprobe"), { encoding: "utf8" })).to.equal("fake ffprobe ran\n");
      expect(execFileSync("unzip", ["-Z", built.zipPath, "bin/ffprobe"], { encoding: "utf8" })).to.match(
        /^-rwxr-xr-x .* unx .* 80-Jan-01 00:00 bin\/ffprobe/,
      );
    } else {
      const entries = await readZipEntries(fs.readFileSync(built.zipPath));
      expect(entries.find((e) => e.name === "bin/ffprobe")?.unixMode).to.equal(0o100755);
    }
  });

  it("round-trips contents of any size, and refuses duplicate names and files without data", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7, "media-pipeline ");
    const entries: ZipEntry[] = [
      { name: "a/", mode: 0o700 },
      { name: "a/big.bin", data: big, mode: 0o600 },
      { name: "a/empty", data: Buffer.alloc(0), mode: 0o644 },
    ];
    const zip = buildZip(entries);
    expect((await readZipFile(zip, "a/big.bin")).equals(big)).to.equal(true);
    expect((await readZipFile(zip, "a/empty")).length).to.equal(0);
    expect((await readZipEntries(zip)).map((e) => e.unixMode?.toString(8))).to.deep.equal([
      "40700",
      "100600",
      "100644",
    ]);
    expect(() => buildZip([...entries, { name: "a/empty", data: Buffer.alloc(1), mode: 0o644 }])).to.throw(
      /a\/empty appears twice/,
    );
    expect(() => buildZip([{ name: "b", mode: 0o644 }])).to.throw(/directories end with "\/"/);
  });

  it("reports yazl's own refusal (an absolute path) as an error instead of hanging", () => {
    expect(() => buildZip([{ name: "/etc/passwd", data: Buffer.from("x"), mode: 0o644 }])).to.throw(
      /writing the zip failed: .*absolute path/,
    );
  });
});
