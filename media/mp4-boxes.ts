/**
 * A tiny reader of the top-level boxes (atoms) of an ISO-BMFF / QuickTime file: enough to
 * tell where `moov` sits relative to `mdat` without reading the media data. Reads 16 bytes
 * per box, so a 1 GB file costs a handful of reads. Used by the media tests and the bench.
 */
import * as fs from "node:fs/promises";

export interface Mp4Box {
  /** Four-character code, e.g. "ftyp", "moov", "mdat" (bytes read as Latin-1). */
  type: string;
  /** Offset of the box header in the file. */
  offset: number;
  /** Size of the whole box (header included) as declared. */
  size: number;
  /** 8, or 16 for a 64-bit "largesize" box. */
  headerSize: number;
  /** The declared size runs past the end of the file (a cut file). */
  truncated: boolean;
}

/** Top-level boxes in file order. Stops at the first header that cannot be a box (garbage, cut header). */
export async function readTopLevelBoxes(file: string, maxBoxes = 100_000): Promise<Mp4Box[]> {
  const fh = await fs.open(file, "r");
  try {
    const fileSize = (await fh.stat()).size;
    const boxes: Mp4Box[] = [];
    const h = Buffer.alloc(16);
    let offset = 0;
    while (offset + 8 <= fileSize && boxes.length < maxBoxes) {
      const { bytesRead } = await fh.read(h, 0, 16, offset);
      if (bytesRead < 8) break;
      const size32 = h.readUInt32BE(0);
      const type = h.toString("latin1", 4, 8);
      let size: number;
      let headerSize = 8;
      if (size32 === 1) {
        if (bytesRead < 16) break;
        size = Number(h.readBigUInt64BE(8));
        headerSize = 16;
      } else if (size32 === 0) {
        size = fileSize - offset; // "extends to the end of the file"
      } else {
        size = size32;
      }
      if (size < headerSize || !/^[\x20-\x7e]{4}$/.test(type)) break;
      const truncated = offset + size > fileSize;
      boxes.push({ type, offset, size, headerSize, truncated });
      if (truncated) break;
      offset += size;
    }
    return boxes;
  } finally {
    await fh.close();
  }
}

export type MoovPosition = "start" | "end" | "missing";

/**
 * Where the movie header is: "start" when `moov` comes before the first `mdat` (faststart,
 * fragmented), "end" when it comes after the media data (ffmpeg's default), "missing" when
 * there is none (a truncated upload, not an MP4).
 */
export function moovPosition(boxes: Mp4Box[]): MoovPosition {
  const moov = boxes.findIndex((b) => b.type === "moov");
  if (moov < 0) return "missing";
  const mdat = boxes.findIndex((b) => b.type === "mdat");
  return mdat >= 0 && mdat < moov ? "end" : "start";
}

/** True when the file has movie fragments (`moof` boxes). */
export function isFragmented(boxes: Mp4Box[]): boolean {
  return boxes.some((b) => b.type === "moof");
}

/** Reads the boxes of `file` and says where its `moov` is. */
export async function moovPositionOf(file: string): Promise<MoovPosition> {
  return moovPosition(await readTopLevelBoxes(file));
}
