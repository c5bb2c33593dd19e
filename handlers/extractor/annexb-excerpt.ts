/**
 * An H.264 / HEVC elementary stream (Annex B: start codes before each NAL unit) holding a
 * track's parameter sets, from its `avcC` / `hvcC` record, and the start of its first sample:
 * what ffprobe's parser and decoder need to name the stream's profile, level and pixel format,
 * without the rest of the frame (excerpt-probe.ts).
 *
 * Record layouts: ISO/IEC 14496-15, 5.3.3.1 (AVCDecoderConfigurationRecord) and 8.3.3.1
 * (HEVCDecoderConfigurationRecord). A sample is a run of NAL units, each after a big-endian
 * length of lengthSizeMinusOne + 1 bytes.
 */
import type { ExcerptCodec } from "./mp4-first-sample";

const START_CODE = Buffer.from([0, 0, 0, 1]);
/** Bytes kept of the first slice: its header is a few dozen bytes; the rest is picture data. */
export const SLICE_HEAD_BYTES = 4096;

interface ConfigRecord {
  /** Bytes of each NAL unit's length prefix in a sample. */
  lengthSize: number;
  /** The parameter set NAL units, in the record's order. */
  parameterSets: Buffer[];
}

/** Reads `count` NAL units, each after a 16-bit length, from `pos`; undefined when they do not fit. */
function lengthPrefixed(buf: Buffer, pos: number, count: number): { nals: Buffer[]; pos: number } | undefined {
  const nals: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    if (pos + 2 > buf.length) return undefined;
    const length = buf.readUInt16BE(pos);
    if (pos + 2 + length > buf.length) return undefined;
    nals.push(buf.subarray(pos + 2, pos + 2 + length));
    pos += 2 + length;
  }
  return { nals, pos };
}

function avcRecord(buf: Buffer): ConfigRecord | undefined {
  if (buf.length < 7 || buf[0] !== 1) return undefined;
  const sps = lengthPrefixed(buf, 6, buf[5] & 0x1f);
  if (!sps || sps.pos >= buf.length) return undefined;
  const pps = lengthPrefixed(buf, sps.pos + 1, buf[sps.pos]);
  if (!pps) return undefined;
  return { lengthSize: (buf[4] & 3) + 1, parameterSets: [...sps.nals, ...pps.nals] };
}

function hevcRecord(buf: Buffer): ConfigRecord | undefined {
  if (buf.length < 23 || buf[0] !== 1) return undefined;
  const parameterSets: Buffer[] = [];
  let pos = 23;
  for (let array = 0; array < buf[22]; array++) {
    // array_completeness, reserved, NAL_unit_type (1 byte), numNalus (2 bytes), then the units.
    if (pos + 3 > buf.length) return undefined;
    const units = lengthPrefixed(buf, pos + 3, buf.readUInt16BE(pos + 1));
    if (!units) return undefined;
    parameterSets.push(...units.nals);
    pos = units.pos;
  }
  return { lengthSize: (buf[21] & 3) + 1, parameterSets };
}

/** Whether a NAL unit carries picture data (a slice): H.264 types 1-5, HEVC types 0-31. */
function isSlice(codec: ExcerptCodec, nal: Buffer): boolean {
  if (nal.length === 0) return false;
  if (codec === "h264") {
    const type = nal[0] & 0x1f;
    return type >= 1 && type <= 5;
  }
  return ((nal[0] >> 1) & 0x3f) <= 31;
}

/**
 * The excerpt: parameter sets, then the NAL units of `sampleHead` (the first bytes of the
 * first sample) up to and including the start of its first slice. Undefined when the record
 * is malformed, has no parameter set, or no slice starts within `sampleHead` (the caller then
 * reads the file as a whole).
 */
export function annexBExcerpt(codec: ExcerptCodec, config: Buffer, sampleHead: Buffer): Buffer | undefined {
  const record = codec === "h264" ? avcRecord(config) : hevcRecord(config);
  if (!record || record.parameterSets.length === 0) return undefined;
  const parts: Buffer[] = [];
  for (const nal of record.parameterSets) parts.push(START_CODE, nal);
  let pos = 0;
  while (pos + record.lengthSize <= sampleHead.length) {
    const length = sampleHead.readUIntBE(pos, record.lengthSize);
    const start = pos + record.lengthSize;
    const nal = sampleHead.subarray(start, Math.min(start + length, sampleHead.length));
    if (isSlice(codec, nal)) {
      parts.push(START_CODE, nal.subarray(0, SLICE_HEAD_BYTES));
      return Buffer.concat(parts);
    }
    // A unit before the slice (access unit delimiter, SEI, in-band parameter set) must be whole.
    if (start + length > sampleHead.length) return undefined;
    parts.push(START_CODE, nal);
    pos = start + length;
  }
  return undefined;
}
