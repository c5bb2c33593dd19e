/**
 * Where the first video sample of an MP4 / QuickTime file lies, and the decoder configuration
 * it needs, read from the movie header (`moov`) alone: the top-level box headers, then the
 * `moov` box, and nothing of the media data.
 *
 * Why: to find a video stream's pixel format and profile, ffprobe reads its first packet
 * whole. In an MP4 that is the first sample, a key frame: 535 KB in the bench's 1 GB file,
 * more than its whole `moov`. The decoder needs only the parameter sets (in the `avcC` /
 * `hvcC` record of the sample description) and the first slice's header (a few bytes at the
 * start of that sample). excerpt-probe.ts hands ffprobe exactly those.
 *
 * Only H.264 and HEVC are read here, the codecs whose configuration record holds every
 * parameter set; any other layout (no `moov` among the first boxes, a fragmented file whose
 * samples live in `moof`s, an encrypted or unknown sample entry) gives no answer, and the
 * probe reads the file as before. Box layouts: ISO/IEC 14496-12 (ISO base media file format)
 * and 14496-15 (AVC and HEVC file formats).
 */

/** Reads bytes [start, end] (inclusive) of the file. */
export type ReadRange = (start: number, end: number) => Promise<Buffer>;

export type ExcerptCodec = "h264" | "hevc";

export interface FirstVideoSample {
  /** ffprobe's codec_name for the track. */
  codec: ExcerptCodec;
  /** The `avcC` / `hvcC` record (the box's payload). */
  config: Buffer;
  /** File offset of the track's first sample. */
  offset: number;
  /** Its size in bytes. */
  size: number;
  /**
   * Whether a sample of another track lies before it in the file. ffprobe reads packets in file
   * order (the mov demuxer interleaves by position within a second of decoding time), so with
   * `-probesize 32` it reads that packet, not the video frame.
   */
  afterOtherSamples: boolean;
  /**
   * Its track: the position among the `moov`'s tracks (ffprobe's stream index) and the `tkhd`
   * track_ID (ffprobe's stream `id`, in hex), when the track has one. The excerpt's facts go
   * to the stream with both, never to another video stream of the same codec.
   */
  track: { index: number; id?: number };
}

/** Top-level boxes looked at before giving up (a moov-at-end file has 3 or 4: ftyp, free, mdat, moov). */
const MAX_TOP_LEVEL_BOXES = 16;
/**
 * A larger `moov` is not read here (ffprobe still reads it whole: it is the index of every
 * sample). Below the range proxy's 8 MiB read cache (range-proxy.ts DEFAULT_CACHE_BYTES), with
 * room for the head and the sample's start, so ffprobe's own read of it costs no second S3 read.
 */
export const MAX_MOOV_BYTES = 6 * 1024 * 1024;
/** Box types an MP4 / QuickTime file can start with. */
const FIRST_BOX_TYPES = new Set(["ftyp", "moov", "free", "skip", "wide", "mdat", "pnot"]);
const SAMPLE_ENTRY_CODEC: Record<string, { codec: ExcerptCodec; record: string }> = {
  avc1: { codec: "h264", record: "avcC" },
  avc3: { codec: "h264", record: "avcC" },
  hvc1: { codec: "hevc", record: "hvcC" },
  hev1: { codec: "hevc", record: "hvcC" },
};
/**
 * Box headers looked at in one `moov` before giving up (then ffprobe reads the file as before).
 * A real movie header has about 15 per track; a crafted 16 MiB one can hold two million 8-byte
 * boxes, and looking up each child type in such a container again and again took 17 s of the
 * event loop and 660 MB (tests/unit/excerpt-parsing.test.ts).
 */
export const MAX_BOXES_SCANNED = 65_536;
/** Bytes of a VisualSampleEntry before its child boxes (ISO/IEC 14496-12, 12.1.3). */
const VISUAL_SAMPLE_ENTRY_FIELDS = 78;

interface Box {
  type: string;
  /** Start of the payload, and its end (exclusive), within the buffer. */
  start: number;
  end: number;
}

/** Box headers the parse of one `moov` may still look at. */
interface Scan {
  left: number;
}

class TooManyBoxes extends Error {}

/** The boxes inside buf[from, to), in order; stops at the first one that does not fit. */
function childBoxes(buf: Buffer, from: number, to: number, scan: Scan): Box[] {
  const boxes: Box[] = [];
  let pos = from;
  while (pos + 8 <= to) {
    if (--scan.left < 0) throw new TooManyBoxes();
    let size = buf.readUInt32BE(pos);
    let header = 8;
    if (size === 1) {
      if (pos + 16 > to) break;
      size = Number(buf.readBigUInt64BE(pos + 8));
      header = 16;
    } else if (size === 0) {
      size = to - pos;
    }
    if (size < header || pos + size > to) break;
    boxes.push({ type: buf.toString("latin1", pos + 4, pos + 8), start: pos + header, end: pos + size });
    pos += size;
  }
  return boxes;
}

function child(buf: Buffer, parent: Box | undefined, type: string, scan: Scan): Box | undefined {
  return parent && childBoxes(buf, parent.start, parent.end, scan).find((b) => b.type === type);
}

/** Top-level boxes, read header by header, until `moov`: its offset and size. */
async function findMoov(read: ReadRange, fileSize: number): Promise<{ offset: number; size: number } | undefined> {
  let offset = 0;
  for (let i = 0; i < MAX_TOP_LEVEL_BOXES && offset + 8 <= fileSize; i++) {
    const head = await read(offset, Math.min(offset + 15, fileSize - 1));
    if (head.length < 8) return undefined;
    const type = head.toString("latin1", 4, 8);
    if (i === 0 && !FIRST_BOX_TYPES.has(type)) return undefined;
    let size = head.readUInt32BE(0);
    let header = 8;
    if (size === 1) {
      if (head.length < 16) return undefined;
      size = Number(head.readBigUInt64BE(8));
      header = 16;
    } else if (size === 0) {
      size = fileSize - offset;
    }
    if (size < header || offset + size > fileSize) return undefined;
    if (type === "moov") return { offset, size };
    offset += size;
  }
  return undefined;
}

/** The first video track's first sample and configuration, from a parsed `moov`. */
export function firstVideoSampleOf(moov: Buffer): FirstVideoSample | undefined {
  try {
    return firstVideoSampleWithin(moov, { left: MAX_BOXES_SCANNED });
  } catch (err) {
    if (err instanceof TooManyBoxes) return undefined;
    throw err;
  }
}

function firstVideoSampleWithin(moov: Buffer, scan: Scan): FirstVideoSample | undefined {
  const root: Box = { type: "root", start: 0, end: moov.length };
  const moovBox = child(moov, root, "moov", scan);
  const traks = childBoxes(moov, moovBox?.start ?? 0, moovBox?.end ?? 0, scan).filter((b) => b.type === "trak");
  let video: Omit<FirstVideoSample, "afterOtherSamples"> | undefined;
  let firstOther = Number.POSITIVE_INFINITY;
  for (const [index, trak] of traks.entries()) {
    const mdia = child(moov, trak, "mdia", scan);
    const hdlr = child(moov, mdia, "hdlr", scan);
    const stbl = child(moov, child(moov, mdia, "minf", scan), "stbl", scan);
    // hdlr: version/flags (4), pre_defined (4), handler_type (4).
    const isVideo =
      hdlr !== undefined &&
      hdlr.end - hdlr.start >= 12 &&
      moov.toString("latin1", hdlr.start + 8, hdlr.start + 12) === "vide";
    // The first video track decides: ffprobe's first video stream is the one the document leads with.
    if (isVideo && video === undefined) {
      const sample = sampleOfTrack(moov, stbl, scan);
      if (!sample || !editStartsAtFirstSample(moov, trak, stbl, scan)) return undefined;
      video = { ...sample, track: { index, id: trackId(moov, child(moov, trak, "tkhd", scan)) } };
    } else {
      firstOther = Math.min(firstOther, firstChunkOffset(moov, stbl, scan) ?? Number.POSITIVE_INFINITY);
    }
  }
  return video && { ...video, afterOtherSamples: firstOther < video.offset };
}

/**
 * Whether ffprobe's first packet of the track is its first sample under the track's edit list.
 * The mov demuxer starts a track at the key frame before the first edit's media_time, dropping
 * the samples before it: a media_time at or past the second key frame skips the first sample,
 * and a file whose parameter sets change there would be described by a frame ffprobe never
 * reads (tests/security/excerpt-attacks.test.ts). B-frame files start a few frames in, before it.
 */
function editStartsAtFirstSample(buf: Buffer, trak: Box, stbl: Box | undefined, scan: Scan): boolean {
  const elst = child(buf, child(buf, trak, "edts", scan), "elst", scan);
  if (!elst) return true;
  // elst: version/flags, entry_count, then (segment_duration, media_time, rate): 12 or 20 bytes.
  const wide = buf[elst.start] === 1;
  const entryBytes = wide ? 20 : 12;
  if (elst.end - elst.start < 8) return false;
  const count = buf.readUInt32BE(elst.start + 4);
  let mediaTime: number | undefined;
  for (let i = 0; i < count; i++) {
    const at = elst.start + 8 + i * entryBytes;
    if (at + entryBytes > elst.end) return false;
    const time = wide ? Number(buf.readBigInt64BE(at + 8)) : buf.readInt32BE(at + 4);
    if (time === -1) continue; // an empty edit: a delay, no samples
    mediaTime = time;
    break;
  }
  if (mediaTime === undefined || mediaTime === 0) return true;
  if (mediaTime < 0) return false;
  // Negative composition offsets (ctts version 1) shift the demuxer's timestamps: not followed here.
  const ctts = child(buf, stbl, "ctts", scan);
  if (ctts && buf[ctts.start] !== 0) return false;
  // stss: version/flags, entry_count, 1-based sample numbers. No stss: every sample is a key frame.
  const stss = child(buf, stbl, "stss", scan);
  let secondKey = 2;
  if (stss) {
    if (stss.end - stss.start < 8) return false;
    if (buf.readUInt32BE(stss.start + 4) < 2) return true;
    if (stss.end - stss.start < 16) return false;
    secondKey = buf.readUInt32BE(stss.start + 12);
  }
  // stts: version/flags, entry_count, then (sample_count, sample_delta): the second key frame's time.
  const stts = child(buf, stbl, "stts", scan);
  if (!stts || stts.end - stts.start < 8) return false;
  let before = secondKey - 1;
  let time = 0;
  const entries = buf.readUInt32BE(stts.start + 4);
  for (let i = 0; i < entries && before > 0; i++) {
    const at = stts.start + 8 + i * 8;
    if (at + 8 > stts.end) return false;
    const samples = Math.min(before, buf.readUInt32BE(at));
    time += samples * buf.readUInt32BE(at + 4);
    before -= samples;
  }
  return before === 0 && mediaTime < time;
}

/** tkhd: version (1), flags (3), creation and modification times (4 or 8 each), track_ID (4). */
function trackId(buf: Buffer, tkhd: Box | undefined): number | undefined {
  if (!tkhd) return undefined;
  const at = tkhd.start + (buf[tkhd.start] === 1 ? 20 : 12);
  return at + 4 <= tkhd.end ? buf.readUInt32BE(at) : undefined;
}

/** The file offset of a track's first chunk, when it has one. */
function firstChunkOffset(buf: Buffer, stbl: Box | undefined, scan: Scan): number | undefined {
  const stco = child(buf, stbl, "stco", scan);
  const co = stco ?? child(buf, stbl, "co64", scan);
  const width = stco ? 4 : 8;
  // stco / co64: version/flags, entry_count, then 32- or 64-bit chunk offsets.
  if (!co || co.end - co.start < 8 + width || buf.readUInt32BE(co.start + 4) === 0) return undefined;
  return stco ? buf.readUInt32BE(co.start + 8) : Number(buf.readBigUInt64BE(co.start + 8));
}

function sampleOfTrack(
  buf: Buffer,
  stbl: Box | undefined,
  scan: Scan,
): Omit<FirstVideoSample, "afterOtherSamples" | "track"> | undefined {
  const stsd = child(buf, stbl, "stsd", scan);
  const stsc = child(buf, stbl, "stsc", scan);
  const stsz = child(buf, stbl, "stsz", scan);
  const offset = firstChunkOffset(buf, stbl, scan);
  if (!stsd || !stsc || !stsz || offset === undefined) return undefined;
  // stsd: version/flags (4), entry_count (4), then the sample entries as boxes.
  const entry = childBoxes(buf, stsd.start + 8, stsd.end, scan)[0];
  const kind = entry && SAMPLE_ENTRY_CODEC[entry.type];
  if (!kind) return undefined;
  const record = childBoxes(buf, entry.start + VISUAL_SAMPLE_ENTRY_FIELDS, entry.end, scan).find(
    (b) => b.type === kind.record,
  );
  if (!record) return undefined;
  // stsc: version/flags, entry_count, then (first_chunk, samples_per_chunk, description_index).
  // The first sample opens the first chunk only when the first run starts at chunk 1 with samples
  // of the first description.
  if (stsc.end - stsc.start < 20 || buf.readUInt32BE(stsc.start + 4) === 0) return undefined;
  const [firstChunk, samplesPerChunk, descriptionIndex] = [0, 4, 8].map((o) => buf.readUInt32BE(stsc.start + 8 + o));
  if (firstChunk !== 1 || samplesPerChunk === 0 || descriptionIndex !== 1) return undefined;
  // stsz: version/flags, sample_size (0: sizes follow), sample_count, then the sizes.
  if (stsz.end - stsz.start < 12 || buf.readUInt32BE(stsz.start + 8) === 0) return undefined;
  let size = buf.readUInt32BE(stsz.start + 4);
  if (size === 0) {
    if (stsz.end - stsz.start < 16) return undefined;
    size = buf.readUInt32BE(stsz.start + 12);
  }
  if (size === 0) return undefined;
  return { codec: kind.codec, config: Buffer.from(buf.subarray(record.start, record.end)), offset, size };
}

/**
 * The first video sample of an MP4 / QuickTime file of `fileSize` bytes, or undefined when the
 * file is not one, has no H.264 / HEVC video track with a sample table, or its `moov` is not
 * among the first top-level boxes or is too large. Reads the box headers and the `moov`.
 */
export async function findFirstVideoSample(read: ReadRange, fileSize: number): Promise<FirstVideoSample | undefined> {
  const moov = await findMoov(read, fileSize);
  if (!moov || moov.size > MAX_MOOV_BYTES) return undefined;
  const sample = firstVideoSampleOf(await read(moov.offset, moov.offset + moov.size - 1));
  return sample && sample.offset + sample.size <= fileSize ? sample : undefined;
}
