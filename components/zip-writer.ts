/**
 * A small deterministic ZIP writer (and central-directory reader) for Lambda archives that
 * must carry unix file modes.
 *
 * Why not let Pulumi zip a folder or an AssetArchive: Pulumi's archive code writes every
 * ZIP entry with a bare header (no "made by UNIX", no external attributes), so an
 * executable loses its execute bit (pulumi/pulumi#3593, still open; see
 * sdk/go/common/resource/archive/archive.go addNextFileToZIP). When a FileArchive points at
 * an existing `.zip`, Pulumi uploads the bytes as they are. So we write the zip ourselves,
 * with mode 0755 on the binary, and hand Pulumi a FileArchive of it.
 *
 * Deterministic: fixed timestamps and entry order, so the same inputs give the same bytes,
 * the same hash, and no spurious layer replacement on the next `pulumi up`.
 */
import * as zlib from "node:zlib";

export interface ZipEntry {
  /** Path inside the archive, "/"-separated, no leading slash. Directories end with "/". */
  name: string;
  /** File contents; omit for a directory entry. */
  data?: Buffer;
  /** Unix permission bits, e.g. 0o755. */
  mode: number;
}

export interface ZipEntryInfo {
  name: string;
  /** Unix mode from the external attributes (file type bits included), or undefined when the entry has none. */
  unixMode?: number;
  compressedSize: number;
  size: number;
  crc32: number;
  method: number;
  localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const METHOD_STORE = 0;
const METHOD_DEFLATE = 8;
/** Version 2.0 (deflate); high byte 3 = "made by UNIX", which is what makes unzip and Lambda honour the mode. */
const VERSION_NEEDED = 20;
const VERSION_MADE_BY_UNIX = (3 << 8) | 20;
/** Bit 11: names are UTF-8. */
const FLAG_UTF8 = 0x0800;
/** 1980-01-01 00:00:00, the ZIP epoch, in DOS date/time. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const DOS_TIME = 0;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const ZIP32_LIMIT = 0xffffffff;

/** Builds a ZIP archive from the entries, in the order given. */
export function buildZip(entries: readonly ZipEntry[]): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const seen = new Set<string>();

  for (const entry of entries) {
    if (seen.has(entry.name)) throw new Error(`zip entry ${entry.name} appears twice`);
    seen.add(entry.name);
    const isDir = entry.name.endsWith("/");
    if (isDir !== (entry.data === undefined)) {
      throw new Error(`zip entry ${entry.name}: directories end with "/" and carry no data; files carry data`);
    }
    const raw = entry.data ?? Buffer.alloc(0);
    const compressed = isDir ? raw : zlib.deflateRawSync(raw, { level: 9 });
    const method = isDir ? METHOD_STORE : METHOD_DEFLATE;
    const crc = zlib.crc32(raw);
    if (raw.length >= ZIP32_LIMIT || compressed.length >= ZIP32_LIMIT || offset >= ZIP32_LIMIT) {
      throw new Error(`zip entry ${entry.name} needs ZIP64, which this writer does not produce`);
    }
    const name = Buffer.from(entry.name, "utf8");

    const local = Buffer.alloc(30);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(VERSION_NEEDED, 4);
    local.writeUInt16LE(FLAG_UTF8, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    chunks.push(local, name, compressed);

    const unixMode = (isDir ? S_IFDIR : S_IFREG) | (entry.mode & 0o7777);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(SIG_CENTRAL, 0);
    dir.writeUInt16LE(VERSION_MADE_BY_UNIX, 4);
    dir.writeUInt16LE(VERSION_NEEDED, 6);
    dir.writeUInt16LE(FLAG_UTF8, 8);
    dir.writeUInt16LE(method, 10);
    dir.writeUInt16LE(DOS_TIME, 12);
    dir.writeUInt16LE(DOS_DATE, 14);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(compressed.length, 20);
    dir.writeUInt32LE(raw.length, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt16LE(0, 30); // extra
    dir.writeUInt16LE(0, 32); // comment
    dir.writeUInt16LE(0, 34); // disk
    dir.writeUInt16LE(0, 36); // internal attributes
    // External attributes: unix mode in the high 16 bits; MS-DOS directory bit for directories.
    dir.writeUInt32LE(((unixMode << 16) | (isDir ? 0x10 : 0)) >>> 0, 38);
    dir.writeUInt32LE(offset, 42);
    central.push(dir, name);

    offset += local.length + name.length + compressed.length;
  }

  const centralSize = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(SIG_END, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...chunks, ...central, end]);
}

/** Lists the entries of a ZIP archive from its central directory (no ZIP64, no archive comment search beyond 64 KiB). */
export function readZipEntries(zip: Buffer): ZipEntryInfo[] {
  const searchFrom = Math.max(0, zip.length - 22 - 0xffff);
  let endAt = -1;
  for (let i = zip.length - 22; i >= searchFrom; i--) {
    if (zip.readUInt32LE(i) === SIG_END) {
      endAt = i;
      break;
    }
  }
  if (endAt < 0) throw new Error("not a ZIP archive: no end-of-central-directory record");
  const count = zip.readUInt16LE(endAt + 10);
  let at = zip.readUInt32LE(endAt + 16);
  const entries: ZipEntryInfo[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== SIG_CENTRAL) throw new Error(`corrupt ZIP: central directory entry ${i} not found`);
    const madeBy = zip.readUInt16LE(at + 4);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const external = zip.readUInt32LE(at + 38);
    entries.push({
      name: zip.toString("utf8", at + 46, at + 46 + nameLength),
      unixMode: madeBy >> 8 === 3 ? external >>> 16 : undefined,
      method: zip.readUInt16LE(at + 10),
      crc32: zip.readUInt32LE(at + 16),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      localHeaderOffset: zip.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Extracts one file's contents (stored or deflated) and checks its CRC-32. */
export function readZipFile(zip: Buffer, name: string): Buffer {
  const entry = readZipEntries(zip).find((e) => e.name === name);
  if (!entry) throw new Error(`ZIP has no entry ${name}`);
  const at = entry.localHeaderOffset;
  if (zip.readUInt32LE(at) !== SIG_LOCAL) throw new Error(`corrupt ZIP: local header of ${name} not found`);
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const body = zip.subarray(start, start + entry.compressedSize);
  const data = entry.method === METHOD_STORE ? Buffer.from(body) : zlib.inflateRawSync(body);
  if (data.length !== entry.size || zlib.crc32(data) !== entry.crc32) {
    throw new Error(`corrupt ZIP: ${name} does not match its recorded size and CRC-32`);
  }
  return data;
}
