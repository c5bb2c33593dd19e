/**
 * Reads ZIP archives in the tests with yauzl (https://github.com/thejoshwolfe/yauzl): the
 * central directory (names, unix modes, times) and entry contents, CRC-32 checked.
 */
import * as zlib from "node:zlib";
import * as yauzl from "yauzl";

export interface ZipEntryInfo {
  name: string;
  /** Unix mode from the external attributes (file type bits included), or undefined when not made on UNIX. */
  unixMode?: number;
  /** The raw DOS date and time of the entry. */
  dosDate: number;
  dosTime: number;
  /** Extra fields (e.g. 0x5455, Info-ZIP's UTC timestamp), by id. */
  extraFieldIds: number[];
  size: number;
  compressedSize: number;
  method: number;
}

/** Opens the archive, gives each entry (in central-directory order) to `each`, closes it. */
async function walk(zip: Buffer, each: (entry: yauzl.Entry, file: yauzl.ZipFile) => Promise<void>): Promise<void> {
  const file = await yauzl.fromBufferPromise(zip, { lazyEntries: true, autoClose: false });
  try {
    for await (const entry of file.eachEntry()) await each(entry, file);
  } finally {
    file.close();
  }
}

/** Lists the entries of a ZIP archive from its central directory. */
export async function readZipEntries(zip: Buffer): Promise<ZipEntryInfo[]> {
  const entries: ZipEntryInfo[] = [];
  await walk(zip, async (e) => {
    entries.push({
      name: e.fileName,
      unixMode: e.versionMadeBy >> 8 === 3 ? e.externalFileAttributes >>> 16 : undefined,
      dosDate: e.lastModFileDate,
      dosTime: e.lastModFileTime,
      extraFieldIds: e.extraFields.map((f) => f.id),
      size: e.uncompressedSize,
      compressedSize: e.compressedSize,
      method: e.compressionMethod,
    });
  });
  return entries;
}

/** Extracts one file's contents and checks its CRC-32. */
export async function readZipFile(zip: Buffer, name: string): Promise<Buffer> {
  let found: Buffer | undefined;
  await walk(zip, async (e, file) => {
    if (e.fileName !== name) return;
    const chunks: Buffer[] = [];
    for await (const chunk of await file.openReadStreamPromise(e)) chunks.push(chunk as Buffer);
    const data = Buffer.concat(chunks);
    if (zlib.crc32(data) !== e.crc32) throw new Error(`${name}: CRC-32 does not match the recorded one`);
    found = data;
  });
  if (!found) throw new Error(`ZIP has no entry ${name}`);
  return found;
}
