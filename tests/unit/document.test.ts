import { expect } from "chai";
import {
  buildDocument,
  type DocumentContext,
  documentBytes,
  parseRate,
  selectTags,
} from "../../handlers/extractor/document";
import type { FfprobeOutput } from "../../handlers/extractor/ffprobe";
import { DYNAMODB_ITEM_LIMIT_BYTES, MAX_DOCUMENT_BYTES, MAX_STREAMS, TAG_LIMITS } from "../../lib/schema";

const ctx: DocumentContext = {
  bucket: "ingest",
  key: "clip.mp4",
  size: 1000,
  sequencer: "1".padEnd(64, "0"),
  eventTime: "2026-11-23T10:00:00.000Z",
  ffprobeVersion: "test",
  bytesRead: 500,
  probeMs: 12,
  processedAt: "2026-11-23T10:00:01.000Z",
};

const video: FfprobeOutput = {
  format: {
    format_name: "mov,mp4,m4a,3gp,3g2,mj2",
    format_long_name: "QuickTime / MOV",
    duration: "10.010000",
    bit_rate: "1234567",
    start_time: "0.000000",
    probe_score: 100,
    tags: { major_brand: "isom", title: "A title" },
  },
  streams: [
    {
      index: 0,
      codec_type: "video",
      codec_name: "h264",
      profile: "High",
      width: 1920,
      height: 1080,
      avg_frame_rate: "30000/1001",
      pix_fmt: "yuv420p",
      bit_rate: "1100000",
      duration: "10.010000",
      side_data_list: [{ side_data_type: "Display Matrix", rotation: -90 }],
      tags: { language: "und" },
    },
    {
      index: 1,
      codec_type: "audio",
      codec_name: "aac",
      profile: "LC",
      sample_rate: "48000",
      channels: 2,
      channel_layout: "stereo",
      tags: { language: "eng" },
    },
  ],
};

describe("document normalization", () => {
  it("summarizes container and streams with numbers, not strings", () => {
    const doc = buildDocument(ctx, video);
    expect(doc.status).to.equal("ok");
    expect(doc.kind).to.equal("video");
    expect(doc.container).to.deep.include({
      format: "mov,mp4,m4a,3gp,3g2,mj2",
      durationSec: 10.01,
      bitRate: 1234567,
      probeScore: 100,
    });
    expect(doc.streams[0]).to.deep.include({
      kind: "video",
      codec: "h264",
      width: 1920,
      height: 1080,
      frameRate: 29.97,
      rotation: 270,
    });
    expect(doc.streams[0]).not.to.have.property("language"); // "und" is no language
    expect(doc.streams[1]).to.deep.include({
      kind: "audio",
      sampleRate: 48000,
      channels: 2,
      channelLayout: "stereo",
      language: "eng",
    });
    expect(doc.tags).to.deep.equal({ title: "A title", major_brand: "isom" });
    expect(doc).not.to.have.property("tagsTruncated");
  });

  it("parses frame rates and refuses 0/0", () => {
    expect(parseRate("25/1")).to.equal(25);
    expect(parseRate("0/0")).to.equal(undefined);
    expect(parseRate(undefined)).to.equal(undefined);
  });

  it("calls a picture an image and cover art on audio an audio file", () => {
    const png = buildDocument(ctx, {
      format: { format_name: "png_pipe" },
      streams: [{ index: 0, codec_type: "video", codec_name: "png" }],
    });
    expect(png.kind).to.equal("image");
    const mp3 = buildDocument(ctx, {
      format: { format_name: "mp3" },
      streams: [
        { index: 0, codec_type: "audio", codec_name: "mp3" },
        { index: 1, codec_type: "video", codec_name: "mjpeg", disposition: { attached_pic: 1 } },
      ],
    });
    expect(mp3.kind).to.equal("audio");
    expect(mp3.streams[1].attachedPic).to.equal(true);
  });

  it("makes output without streams unprocessable with a reason", () => {
    const doc = buildDocument(ctx, { format: { format_name: "tty" }, streams: [] });
    expect(doc.status).to.equal("unprocessable");
    expect(doc.reason).to.match(/no audio, video or image streams/);
  });
});

describe("document size bound", () => {
  it("keeps preferred tags first and marks truncation", () => {
    const tags: Record<string, string> = { title: "t" };
    for (let i = 0; i < 100; i++) tags[`custom_${String(i).padStart(3, "0")}`] = "v";
    const picked = selectTags(tags);
    expect(Object.keys(picked.tags)).to.have.length(TAG_LIMITS.maxTags);
    expect(Object.keys(picked.tags)[0]).to.equal("title");
    expect(picked.truncated).to.equal(true);
  });

  it("shortens long values and caps total tag bytes", () => {
    const huge = "x".repeat(500 * 1024); // an ID3 lyrics tag larger than a DynamoDB item
    const picked = selectTags({ lyrics: huge, comment: "é".repeat(2000), artist: "someone" });
    expect(picked.truncated).to.equal(true);
    expect(Array.from(picked.tags.lyrics)).to.have.length(TAG_LIMITS.maxValueChars);
    expect(picked.tags.lyrics.endsWith("…")).to.equal(true);
    const total = Object.entries(picked.tags).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    expect(total).to.be.at.most(TAG_LIMITS.maxTotalBytes);
  });

  it("counts characters, not UTF-16 units, when it shortens a value", () => {
    const max = TAG_LIMITS.maxValueChars;
    const emoji = "\u{1F3B5}"; // two UTF-16 units, one character
    const exact = selectTags({ a: emoji.repeat(max), b: "x".repeat(max) });
    expect(exact.tags.a).to.equal(emoji.repeat(max));
    expect(exact.tags.b).to.equal("x".repeat(max));
    const over = selectTags({ a: emoji.repeat(max + 1) }).tags.a;
    expect(over).to.equal(`${emoji.repeat(max - 1)}…`);
    const mixed = `${"y".repeat(max - 2)}${emoji}${emoji}z`;
    expect(selectTags({ a: mixed }).tags.a).to.equal(`${"y".repeat(max - 2)}${emoji}…`);
  });

  it("keeps a document with 500 KB of tags and 1,000 streams under the cap", () => {
    const tags: Record<string, string> = {};
    for (let i = 0; i < 50; i++) tags[`t${i}`] = "y".repeat(10 * 1024);
    const streams = Array.from({ length: 1000 }, (_, i) => ({
      index: i,
      codec_type: "audio",
      codec_name: "pcm_s16le",
      tags: { language: "eng" },
    }));
    const doc = buildDocument(ctx, { format: { format_name: "wav", tags }, streams });
    expect(doc.tagsTruncated).to.equal(true);
    expect(doc.streamsTruncated).to.equal(true);
    expect(doc.streams.length).to.be.at.most(MAX_STREAMS);
    expect(documentBytes(doc)).to.be.at.most(MAX_DOCUMENT_BYTES);
    expect(MAX_DOCUMENT_BYTES).to.be.lessThan(DYNAMODB_ITEM_LIMIT_BYTES);
  });
});
