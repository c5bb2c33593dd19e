/**
 * Builds the ffprobe Lambda layer zip from the pin in lib/ffprobe-pin.ts:
 *
 *   bin/ffprobe                      the pinned static binary, mode 0755
 *   share/licenses/ffprobe/LICENSE   the GNU GPL v3 text (the build is GPL-3.0-or-later)
 *   share/licenses/ffprobe/NOTICE    which build, which package, where the source is
 *
 * The binary comes from the pinned npm package: for x86_64 the copy `npm ci` installed
 * (when its version is the pinned one), otherwise `npm pack <pkg>@<version>` into
 * .cache/npm/ (npm checks the registry's integrity hash). Whatever its source, its SHA-256
 * must equal the pin, or the build fails naming both digests. npm skips install scripts
 * here, so the package's `postinstall: chmod u+x` never ran; the execute bit is set in
 * the zip itself (see zip.ts for why Pulumi cannot be trusted with it).
 *
 * Built zips are cached under .cache/ffprobe-layer/ keyed by architecture and pinned
 * digest, with a sidecar SHA-256 that is checked on every reuse.
 *
 *   npx tsx build/ffprobe-layer.ts arm64     # prebuild (and fetch) one architecture
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { FFPROBE_PIN, type FfprobeBinaryPin, type LambdaArchitecture } from "../lib/ffprobe-pin";
import { REPO_ROOT } from "../lib/repo-root";
import { buildZip, type ZipEntry } from "./zip";

export const DEFAULT_CACHE_DIR = path.join(REPO_ROOT, ".cache");

/** The FSF's GPL v3 text (https://www.gnu.org/licenses/gpl-3.0.txt), shipped in the layer. */
export const GPL3_TEXT_PATH = path.join(__dirname, "assets", "GPL-3.0.txt");
/** SHA-256 of the verbatim FSF text: the file cannot be swapped or truncated unnoticed. */
export const GPL3_TEXT_SHA256 = "3972dc9744f6499f0f9b2dbf76696f2ae7ad8af9b23dde66d6af86c9dfb36986";

/**
 * Bump when the layer's layout, the NOTICE or the zip writer's bytes change, so cached zips
 * are rebuilt. 2: written by yazl (build/zip.ts), whose central directory says "made by
 * UNIX, spec 6.3" and sets no MS-DOS directory bit; the entries and their data are as in v1.
 */
const LAYOUT_VERSION = 2;

export interface FfprobeLayerBuildOptions {
  architecture: LambdaArchitecture;
  /** The binary's pin; defaults to FFPROBE_PIN.binaries[architecture]. */
  pin?: FfprobeBinaryPin;
  /** Use this file as the binary instead of the pinned package (tests). Its digest must still match the pin. */
  binaryPath?: string;
  /** Where fetched tarballs and built zips are kept. Defaults to <repo>/.cache. */
  cacheDir?: string;
}

export interface FfprobeLayerZip {
  architecture: LambdaArchitecture;
  zipPath: string;
  /** SHA-256 of the zip file, hex. */
  zipSha256: string;
  /** SHA-256 of bin/ffprobe inside it (equal to the pin). */
  binarySha256: string;
  bytes: number;
  fromCache: boolean;
}

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Path inside the zip for a path under /opt (where Lambda mounts layers). */
export function layerZipPath(optPath: string): string {
  if (!optPath.startsWith("/opt/")) throw new Error(`layer path ${optPath} is not under /opt/`);
  return optPath.slice("/opt/".length);
}

/** Builds (or reuses from the cache) the layer zip for one architecture. */
export function buildFfprobeLayerZip(options: FfprobeLayerBuildOptions): FfprobeLayerZip {
  const { architecture } = options;
  const pin = options.pin ?? FFPROBE_PIN.binaries[architecture];
  if (!pin) throw new Error(`no ffprobe pin for architecture ${architecture}`);
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const zipDir = path.join(cacheDir, "ffprobe-layer");
  const zipPath = path.join(zipDir, `ffprobe-${architecture}-${pin.sha256.slice(0, 16)}-v${LAYOUT_VERSION}.zip`);

  const cached = readCachedZip(zipPath);
  if (cached) {
    return {
      architecture,
      zipPath,
      zipSha256: cached.sha,
      binarySha256: pin.sha256,
      bytes: cached.bytes,
      fromCache: true,
    };
  }

  const source = options.binaryPath ?? locatePinnedBinary(pin, cacheDir);
  const binary = fs.readFileSync(source);
  const actual = sha256(binary);
  if (actual !== pin.sha256) {
    throw new Error(
      `ffprobe binary ${source} has SHA-256 ${actual}, but lib/ffprobe-pin.ts pins ${pin.npmPackage}@${pin.version} ` +
        `(${architecture}) at ${pin.sha256}; refusing to build the layer`,
    );
  }

  const zip = buildZip(layerEntries(binary, pin, architecture));
  fs.mkdirSync(zipDir, { recursive: true });
  // Write then rename, so a concurrent or interrupted build never leaves a half-written zip under the cache key.
  const tmp = `${zipPath}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, zip);
  fs.renameSync(tmp, zipPath);
  const zipSha256 = sha256(zip);
  fs.writeFileSync(`${zipPath}.sha256`, `${zipSha256}\n`);
  return { architecture, zipPath, zipSha256, binarySha256: actual, bytes: zip.length, fromCache: false };
}

function readCachedZip(zipPath: string): { sha: string; bytes: number } | undefined {
  try {
    const expected = fs.readFileSync(`${zipPath}.sha256`, "utf8").trim();
    const zip = fs.readFileSync(zipPath);
    const sha = sha256(zip);
    return sha === expected ? { sha, bytes: zip.length } : undefined;
  } catch {
    return undefined; // not cached (or half there): build it
  }
}

function layerEntries(binary: Buffer, pin: FfprobeBinaryPin, architecture: LambdaArchitecture): ZipEntry[] {
  const license = fs.readFileSync(GPL3_TEXT_PATH);
  const licenseSha = sha256(license);
  if (licenseSha !== GPL3_TEXT_SHA256) {
    throw new Error(`${GPL3_TEXT_PATH} has SHA-256 ${licenseSha}, not the FSF GPL v3 text's ${GPL3_TEXT_SHA256}`);
  }
  const binaryPath = layerZipPath(FFPROBE_PIN.layerBinaryPath);
  const licensePath = layerZipPath(FFPROBE_PIN.layerLicensePath);
  const noticePath = path.posix.join(path.posix.dirname(licensePath), "NOTICE");
  const files: ZipEntry[] = [
    { name: binaryPath, data: binary, mode: 0o755 },
    { name: licensePath, data: license, mode: 0o644 },
    { name: noticePath, data: Buffer.from(noticeText(pin, architecture), "utf8"), mode: 0o644 },
  ];
  return [...directoriesOf(files.map((f) => f.name)).map((name) => ({ name, mode: 0o755 })), ...files];
}

/** Every parent directory of the given paths, parents first, each ending in "/". */
function directoriesOf(paths: string[]): string[] {
  const dirs = new Set<string>();
  for (const p of paths) {
    const parts = p.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(`${parts.slice(0, i).join("/")}/`);
  }
  return [...dirs].sort();
}

function noticeText(pin: FfprobeBinaryPin, architecture: LambdaArchitecture): string {
  return [
    `ffprobe ${FFPROBE_PIN.build} (${FFPROBE_PIN.versionLine})`,
    `Architecture: ${architecture}`,
    `Package: ${pin.npmPackage}@${pin.version} (npm)`,
    `SHA-256 of bin/ffprobe: ${pin.sha256}`,
    `License: ${FFPROBE_PIN.license}; the full text is in LICENSE next to this file.`,
    `This is a static FFmpeg build configured with --enable-gpl --enable-version3.`,
    `Binaries and the corresponding source code: ${FFPROBE_PIN.sourceUrl}`,
    "",
  ].join("\n");
}

/** Path of the pinned binary on this machine, fetching the package into the cache when needed. */
export function locatePinnedBinary(pin: FfprobeBinaryPin, cacheDir = DEFAULT_CACHE_DIR): string {
  const installed = installedBinary(pin);
  if (installed) return installed;

  const extracted = path.join(cacheDir, "npm", `${pin.npmPackage.replace(/^@/, "").replace("/", "-")}-${pin.version}`);
  const binaryPath = path.join(extracted, "ffprobe");
  if (fs.existsSync(binaryPath)) return binaryPath;

  const tarball = npmPack(`${pin.npmPackage}@${pin.version}`, path.join(cacheDir, "npm"));
  const file = extractFromTarball(tarball, "package/ffprobe");
  fs.mkdirSync(extracted, { recursive: true });
  fs.writeFileSync(`${binaryPath}.tmp`, file);
  fs.renameSync(`${binaryPath}.tmp`, binaryPath);
  return binaryPath;
}

/** The copy in node_modules, when the installed version is exactly the pinned one. */
function installedBinary(pin: FfprobeBinaryPin): string | undefined {
  try {
    const pkgJson = require.resolve(`${pin.npmPackage}/package.json`, { paths: [REPO_ROOT] });
    const { version } = JSON.parse(fs.readFileSync(pkgJson, "utf8")) as { version?: string };
    const binary = path.join(path.dirname(pkgJson), "ffprobe");
    return version === pin.version && fs.existsSync(binary) ? binary : undefined;
  } catch {
    return undefined; // not installed (the arm64 package never is on an x64 machine)
  }
}

/** `npm pack <spec>` into dir; returns the tarball's path. */
function npmPack(spec: string, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  let stdout: string;
  try {
    stdout = execFileSync("npm", ["pack", spec, "--pack-destination", dir, "--json", "--ignore-scripts"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 300_000,
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`npm pack ${spec} failed (needs the npm registry): ${stderr.trim() || (err as Error).message}`, {
      cause: err,
    });
  }
  const packed = JSON.parse(stdout) as { filename?: string }[];
  const filename = packed[0]?.filename;
  if (!filename) throw new Error(`npm pack ${spec} printed no tarball name: ${stdout.slice(0, 500)}`);
  return path.join(dir, filename);
}

/** Reads one regular file out of a .tgz (ustar; pax headers skipped). */
export function extractFromTarball(tarball: string, member: string): Buffer {
  const tar = zlib.gunzipSync(fs.readFileSync(tarball));
  let at = 0;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) =>
      header.toString("utf8", start, start + length).replace(/\0.*$/s, "");
    const prefix = field(345, 155);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const size = Number.parseInt(field(124, 12).trim() || "0", 8);
    const type = String.fromCharCode(header[156] ?? 0);
    const dataStart = at + 512;
    if (name === member && (type === "0" || type === "\0"))
      return Buffer.from(tar.subarray(dataStart, dataStart + size));
    at = dataStart + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${tarball} has no file ${member}`);
}

if (require.main === module) {
  const archs = (process.argv.slice(2).length ? process.argv.slice(2) : ["x86_64"]) as LambdaArchitecture[];
  for (const architecture of archs) {
    const built = buildFfprobeLayerZip({ architecture });
    const where = path.relative(process.cwd(), built.zipPath);
    console.log(
      `${architecture}: ${where} ${(built.bytes / 2 ** 20).toFixed(1)} MiB${built.fromCache ? " (cached)" : ""}`,
    );
  }
}
