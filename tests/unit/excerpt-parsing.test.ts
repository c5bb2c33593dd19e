/**
 * The movie-header reader (mp4-first-sample.ts) and the excerpt builder (annexb-excerpt.ts) on
 * crafted boxes: a valid example first, then one field changed at a time, including lies an
 * uploaded file can tell (sizes past the end, a first chunk that is not chunk 1, no slice).
 */
import { expect } from "chai";
import { annexBExcerpt, SLICE_HEAD_BYTES } from "../../handlers/extractor/annexb-excerpt";
import {
  findFirstVideoSample,
  firstVideoSampleOf,
  MAX_BOXES_SCANNED,
  MAX_MOOV_BYTES,
} from "../../handlers/extractor/mp4-first-sample";

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, "latin1");
  return Buffer.concat([head, body]);
}
const u32 = (...values: number[]) =>
  Buffer.concat(values.map((v) => Buffer.from([v >>> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255])));
const u16 = (v: number) => Buffer.from([v >> 8, v & 255]);
const FULL_BOX = u32(0); // version and flags

const SPS = Buffer.from([0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00]);
const PPS = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
function avcC(lengthSize = 4): Buffer {
  return Buffer.concat([
    Buffer.from([1, 0x42, 0xc0, 0x1e, 0xfc | (lengthSize - 1), 0xe1]),
    u16(SPS.length),
    SPS,
    Buffer.from([1]),
    u16(PPS.length),
    PPS,
  ]);
}

interface TrackOptions {
  handler?: string;
  entry?: string;
  firstChunk?: number;
  chunkOffset?: number;
  sampleSize?: number;
  co64?: boolean;
}

function trak(o: TrackOptions = {}): Buffer {
  const handler = o.handler ?? "vide";
  const entry = box(o.entry ?? "avc1", Buffer.alloc(78), box("avcC", avcC()));
  const chunk = o.co64
    ? box("co64", FULL_BOX, u32(1, 0, o.chunkOffset ?? 4096))
    : box("stco", FULL_BOX, u32(1, o.chunkOffset ?? 4096));
  const stbl = box(
    "stbl",
    box("stsd", FULL_BOX, u32(1), entry),
    box("stsc", FULL_BOX, u32(1, o.firstChunk ?? 1, 1, 1)),
    box("stsz", FULL_BOX, u32(0, 2, o.sampleSize ?? 300_000, 1000)),
    chunk,
  );
  const hdlr = box("hdlr", FULL_BOX, u32(0), Buffer.from(handler, "latin1"), Buffer.alloc(12));
  return box("trak", box("mdia", hdlr, box("minf", stbl)));
}

describe("excerpt parsing: the first video sample from the movie header", () => {
  it("finds the codec, configuration, offset and size of the first video sample", () => {
    const sample = firstVideoSampleOf(box("moov", trak()));
    expect(sample).to.deep.include({ codec: "h264", offset: 4096, size: 300_000, afterOtherSamples: false });
    expect(sample?.config.equals(avcC())).to.equal(true);
  });

  it("reads 64-bit chunk offsets and HEVC sample entries", () => {
    expect(firstVideoSampleOf(box("moov", trak({ co64: true })))?.offset).to.equal(4096);
    expect(firstVideoSampleOf(box("moov", trak({ entry: "hvc1" }))), "no hvcC record").to.equal(undefined);
  });

  it("names the video track by position and tkhd track_ID (version 0 and 1), ffprobe's stream index and id", () => {
    const withTkhd = (version: number, id: number) => {
      const times = Buffer.alloc(version === 1 ? 16 : 8);
      const tkhd = box("tkhd", Buffer.from([version, 0, 0, 3]), times, u32(id), Buffer.alloc(60));
      const t = trak();
      return box("trak", tkhd, t.subarray(8));
    };
    const moov = box("moov", trak({ handler: "soun", chunkOffset: 48 }), withTkhd(0, 7));
    expect(firstVideoSampleOf(moov)?.track).to.deep.equal({ index: 1, id: 7 });
    expect(firstVideoSampleOf(box("moov", withTkhd(1, 0x1234)))?.track).to.deep.equal({ index: 0, id: 0x1234 });
    expect(firstVideoSampleOf(box("moov", trak()))?.track).to.deep.equal({ index: 0, id: undefined });
  });

  it("reads the track only when its edit list starts at the first sample (else ffprobe's first packet is another)", () => {
    const edited = (...mediaTimes: number[]) => {
      const entries = mediaTimes.map((t) => Buffer.concat([u32(1000), Buffer.from(u32(t >>> 0)), u32(0x10000)]));
      const elst = box("elst", FULL_BOX, u32(mediaTimes.length), ...entries);
      return box("moov", box("trak", box("edts", elst), trak().subarray(8)));
    };
    expect(firstVideoSampleOf(edited(0))?.offset, "starts at 0").to.equal(4096);
    expect(firstVideoSampleOf(edited(-1, 0))?.offset, "an empty edit, then 0").to.equal(4096);
    // Without stss every sample is a key frame: media_time 512 may start past the first; no stts to tell.
    expect(firstVideoSampleOf(edited(512)), "starts later, no sample times").to.equal(undefined);
  });

  it("says whether another track's sample comes first in the file", () => {
    const audioFirst = box("moov", trak(), trak({ handler: "soun", chunkOffset: 48 }));
    const videoFirst = box("moov", trak(), trak({ handler: "soun", chunkOffset: 900_000 }));
    expect(firstVideoSampleOf(audioFirst)?.afterOtherSamples).to.equal(true);
    expect(firstVideoSampleOf(videoFirst)?.afterOtherSamples).to.equal(false);
  });

  it("gives no answer for layouts it does not know (then ffprobe reads the file as before)", () => {
    expect(firstVideoSampleOf(box("moov", trak({ handler: "soun" }))), "no video track").to.equal(undefined);
    expect(firstVideoSampleOf(box("moov", trak({ entry: "encv" }))), "encrypted entry").to.equal(undefined);
    expect(firstVideoSampleOf(box("moov", trak({ entry: "mp4v" }))), "other codec").to.equal(undefined);
    expect(firstVideoSampleOf(box("moov", trak({ firstChunk: 2 }))), "first run not at chunk 1").to.equal(undefined);
    expect(firstVideoSampleOf(box("moov", trak({ sampleSize: 0 }))), "empty sample").to.equal(undefined);
    const cut = box("moov", trak()).subarray(0, 120);
    cut.writeUInt32BE(cut.length, 0);
    expect(firstVideoSampleOf(cut), "boxes cut short").to.equal(undefined);
  });

  it("walks the top-level boxes to a moov at the end, and refuses a sample past the end of the file", async () => {
    const moov = box("moov", trak({ chunkOffset: 40 }));
    const mdat = box("mdat", Buffer.alloc(1000));
    const file = Buffer.concat([box("ftyp", Buffer.from("isom")), mdat, moov]);
    const read = async (start: number, end: number) => file.subarray(start, end + 1);
    const found = await findFirstVideoSample(read, file.length);
    expect(found, "a sample of 300,000 bytes cannot fit in this file").to.equal(undefined);
    const fits = Buffer.concat([
      box("ftyp", Buffer.from("isom")),
      mdat,
      box("moov", trak({ chunkOffset: 40, sampleSize: 500 })),
    ]);
    const ok = await findFirstVideoSample(async (s, e) => fits.subarray(s, e + 1), fits.length);
    expect(ok?.size).to.equal(500);
  });

  it("does not read a file that does not start like an MP4, nor a moov claiming more than the file", async () => {
    const notMp4 = Buffer.concat([Buffer.from("RIFF\0\0\0\0WAVE"), Buffer.alloc(100)]);
    let reads = 0;
    const counting = (data: Buffer) => async (start: number, end: number) => {
      reads += 1;
      return data.subarray(start, end + 1);
    };
    expect(await findFirstVideoSample(counting(notMp4), notMp4.length)).to.equal(undefined);
    expect(reads).to.equal(1);
    const lying = Buffer.concat([box("ftyp", Buffer.from("isom")), box("moov", trak())]);
    lying.writeUInt32BE(0x7fffffff, 12); // the moov's size
    expect(await findFirstVideoSample(counting(lying), lying.length)).to.equal(undefined);
  });
});

describe("excerpt parsing: a movie header of many tiny boxes (security)", () => {
  /** `count` empty 8-byte `free` boxes. */
  const tinyBoxes = (count: number) => {
    const buf = Buffer.alloc(count * 8);
    for (let pos = 0; pos < buf.length; pos += 8) {
      buf.writeUInt32BE(8, pos);
      buf.write("free", pos + 4, "latin1");
    }
    return buf;
  };

  it("gives up after MAX_BOXES_SCANNED box headers: a 16 MiB moov can hold two million, each looked at again per lookup", () => {
    // Before the bound, a MAX_MOOV_BYTES moov whose video stbl held 2 million 8-byte boxes took
    // 17 s of the Lambda's event loop and 660 MB (each child lookup listed them all again).
    const crowded = box("moov", tinyBoxes(MAX_BOXES_SCANNED + 1), trak(), trak({ handler: "soun", chunkOffset: 48 }));
    expect(crowded.length).to.be.below(MAX_MOOV_BYTES);
    expect(firstVideoSampleOf(crowded)).to.equal(undefined);
    const stbl = trak().indexOf("stbl") - 4;
    const crowdedStbl = trak();
    const withJunk = Buffer.concat([
      crowdedStbl.subarray(0, stbl + 8),
      tinyBoxes(MAX_BOXES_SCANNED),
      crowdedStbl.subarray(stbl + 8),
    ]);
    for (const at of [0, 8, 16, stbl]) withJunk.writeUInt32BE(withJunk.readUInt32BE(at) + MAX_BOXES_SCANNED * 8, at);
    expect(firstVideoSampleOf(box("moov", withJunk)), "junk inside the video track's stbl").to.equal(undefined);
  });

  it("still reads a movie header of hundreds of tracks", () => {
    const many = box("moov", trak(), ...Array.from({ length: 300 }, () => trak({ handler: "soun", chunkOffset: 48 })));
    expect(firstVideoSampleOf(many)?.afterOtherSamples).to.equal(true);
  });
});

describe("excerpt parsing: the Annex B excerpt", () => {
  const sampleOf = (...nals: Buffer[]) => Buffer.concat(nals.flatMap((n) => [u32(n.length), n]));
  const SEI = Buffer.from([0x06, 0x05, 0x01, 0x02, 0x80]);
  const IDR = Buffer.concat([Buffer.from([0x65, 0x88, 0x84]), Buffer.alloc(10_000, 0x5a)]);
  const startCode = Buffer.from([0, 0, 0, 1]);

  it("holds the parameter sets, the units before the slice, and the slice cut after SLICE_HEAD_BYTES", () => {
    const excerpt = annexBExcerpt("h264", avcC(), sampleOf(SEI, IDR));
    const expected = Buffer.concat([
      startCode,
      SPS,
      startCode,
      PPS,
      startCode,
      SEI,
      startCode,
      IDR.subarray(0, SLICE_HEAD_BYTES),
    ]);
    expect(excerpt?.equals(expected)).to.equal(true);
  });

  it("reads 2-byte length prefixes as the record says", () => {
    const sample = Buffer.concat([u16(IDR.length), IDR]);
    const excerpt = annexBExcerpt("h264", avcC(2), sample);
    expect(excerpt?.subarray(-SLICE_HEAD_BYTES).equals(IDR.subarray(0, SLICE_HEAD_BYTES))).to.equal(true);
  });

  it("gives no excerpt when no slice starts within the bytes read, or a unit before it is cut", () => {
    expect(annexBExcerpt("h264", avcC(), sampleOf(SEI))).to.equal(undefined);
    const bigSei = Buffer.concat([Buffer.from([0x06]), Buffer.alloc(5000)]);
    expect(annexBExcerpt("h264", avcC(), sampleOf(bigSei, IDR).subarray(0, 3000))).to.equal(undefined);
  });

  it("gives no excerpt for a malformed record", () => {
    expect(annexBExcerpt("h264", Buffer.from([1, 2, 3]), sampleOf(IDR)), "too short").to.equal(undefined);
    const wrongVersion = avcC();
    wrongVersion[0] = 2;
    expect(annexBExcerpt("h264", wrongVersion, sampleOf(IDR)), "version").to.equal(undefined);
    const overlong = avcC();
    overlong.writeUInt16BE(500, 6); // the SPS length runs past the record
    expect(annexBExcerpt("h264", overlong, sampleOf(IDR)), "length past the end").to.equal(undefined);
    const noSets = Buffer.from([1, 0x42, 0xc0, 0x1e, 0xff, 0xe0, 0]);
    expect(annexBExcerpt("h264", noSets, sampleOf(IDR)), "no parameter set").to.equal(undefined);
  });
});
