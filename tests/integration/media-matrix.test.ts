/**
 * Every fixture of tests/helpers/media.ts through the real extractor (real ffprobe, in place
 * over the range proxy, embedded S3 and DynamoDB): the stored document must say what the
 * file is, whatever its name says.
 */
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { documentBytes } from "../../handlers/extractor/document";
import { createExtractor, type Extractor } from "../../handlers/extractor/extractor";
import { resolveLocalFfprobe } from "../../handlers/extractor/ffprobe";
import { MAX_DOCUMENT_BYTES, type MediaKind, type MetadataItem } from "../../lib/schema";
import { type EmbeddedAws, startEmbeddedAws } from "../helpers/embedded-aws";
import {
  DURATION_TOLERANCE_S,
  EXPECTED,
  type ExpectedStream,
  ensureAllMedia,
  MEDIA_NAMES,
  type MediaName,
} from "../helpers/media";
import { s3EventBody, sqsEvent, sqsRecord } from "../helpers/s3-events";

/** What the document's `kind` must be for each fixture that ffprobe can read. */
const KIND: Partial<Record<MediaName, MediaKind>> = {
  "mp4-moov-end": "video",
  "mp4-faststart": "video",
  "mp4-fragmented": "video",
  "mp4-rotated": "video",
  "mkv-two-audio": "video",
  "webm-vp9-opus": "video",
  "mp3-big-id3": "audio",
  wav: "audio",
  flac: "audio",
  png: "image",
  gif: "image",
  "mov-prores": "video",
  "mkv-subtitles": "video",
  "webm-webvtt": "video",
  "ts-h264-aac": "video",
  "ts-mpeg2-mp2": "video",
  "ts-audio-aac": "audio",
  "mpeg-ps": "video",
  avi: "video",
  mxf: "video",
  flv: "video",
  wmv: "video",
  "mp3-plain": "audio",
  "aac-adts": "audio",
  "m4a-cover": "audio",
  "ogg-vorbis": "audio",
  "ogg-opus": "audio",
  aiff: "audio",
  ac3: "audio",
  jpeg: "image",
  webp: "image",
  tiff: "image",
};

/** Keys that are not `<name>.<ext>`: misleading, upper-case or camera-style names must not matter. */
const ODD_KEYS: Partial<Record<MediaName, string>> = {
  "webm-vp9-opus": "fixtures/CLIP.MOV",
  flac: "fixtures/song.mp4",
  "ts-h264-aac": "fixtures/PRIVATE/AVCHD/BDMV/STREAM/00001.MTS",
  "mp3-plain": "fixtures/voice memo",
};

function keyFor(name: MediaName): string {
  return ODD_KEYS[name] ?? `fixtures/${name}.${EXPECTED[name].ext}`;
}

describe("media matrix (integration: every fixture through the extractor)", function () {
  this.timeout(180_000);
  let aws: EmbeddedAws;
  let extractor: Extractor;
  const docs = new Map<MediaName, MetadataItem>();

  before(async () => {
    const [env, ffprobePath, files] = await Promise.all([startEmbeddedAws(), resolveLocalFfprobe(), ensureAllMedia()]);
    aws = env;
    const logs = { log() {}, info() {}, warn() {}, error() {}, debug() {} };
    extractor = createExtractor({
      s3: aws.s3,
      dynamodb: aws.dynamodb,
      tableName: aws.tableName,
      metadataBucket: aws.metadataBucket,
      ffprobePath,
      logger: new Logger({ serviceName: "extractor", logLevel: "SILENT" }),
      metrics: new Metrics({ namespace: "Test", serviceName: "extractor", logger: logs }),
    });
    const records = [];
    for (const name of MEDIA_NAMES) {
      const body = await readFile(files[name]);
      const res = await aws.s3.send(new PutObjectCommand({ Bucket: aws.ingestBucket, Key: keyFor(name), Body: body }));
      const etag = (res.ETag ?? "").replace(/"/g, "");
      records.push(
        sqsRecord(
          s3EventBody({
            eventName: "ObjectCreated:Put",
            bucket: aws.ingestBucket,
            key: keyFor(name),
            size: body.length,
            etag,
          }),
        ),
      );
    }
    // One batch of ten, the rest in a second: as an event source mapping would deliver them.
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write; // EMF lines
    try {
      for (let i = 0; i < records.length; i += 10) {
        const res = await extractor.handleBatch(sqsEvent(...records.slice(i, i + 10)));
        expect(res.batchItemFailures).to.deep.equal([]);
      }
    } finally {
      process.stdout.write = write;
    }
    const items = DynamoDBDocumentClient.from(aws.dynamodb);
    for (const name of MEDIA_NAMES) {
      const res = await items.send(new GetCommand({ TableName: aws.tableName, Key: { objectKey: keyFor(name) } }));
      docs.set(name, res.Item as MetadataItem);
    }
  });
  after(async () => aws?.stop());

  for (const name of MEDIA_NAMES) {
    const want = EXPECTED[name];
    it(`${name} is ${want.probe.ok ? `ok, ${KIND[name]}` : "unprocessable"}`, () => {
      const doc = docs.get(name);
      expect(doc, "document stored").to.not.equal(undefined);
      if (!doc) return;
      expect(documentBytes(doc)).to.be.at.most(MAX_DOCUMENT_BYTES);
      if (!want.probe.ok) {
        expect(doc.status).to.equal("unprocessable");
        expect(doc.reason).to.be.a("string").and.not.equal("");
        expect(doc.streams).to.deep.equal([]);
        return;
      }
      expect(doc.status, doc.reason).to.equal("ok");
      expect(doc.kind).to.equal(KIND[name]);
      expect(doc.container?.format).to.include(want.probe.formatName);
      const duration = "durationS" in want.probe ? want.probe.durationS : undefined;
      if (duration !== undefined) expect(doc.container?.durationSec).to.be.closeTo(duration, DURATION_TOLERANCE_S);
      const streams: readonly ExpectedStream[] = want.probe.streams;
      expect(doc.streams.map((s) => `${s.kind}:${s.codec}`)).to.deep.equal(
        streams.map((s) => `${s.codecType}:${s.codecName}`),
      );
      streams.forEach((w, i) => {
        const s = doc.streams[i];
        if (w.width !== undefined) expect(s.width, `stream ${i} width`).to.equal(w.width);
        if (w.height !== undefined) expect(s.height, `stream ${i} height`).to.equal(w.height);
        if (w.channels !== undefined) expect(s.channels, `stream ${i} channels`).to.equal(w.channels);
        if (w.sampleRate !== undefined) expect(s.sampleRate, `stream ${i} sample rate`).to.equal(w.sampleRate);
        if (w.language !== undefined) expect(s.language, `stream ${i} language`).to.equal(w.language);
        if (w.profile !== undefined) expect(s.profile, `stream ${i} profile`).to.equal(w.profile);
        if (w.rotation !== undefined)
          expect(s.rotation, `stream ${i} rotation`).to.equal(((w.rotation % 360) + 360) % 360);
        if (w.attachedPic) expect(s.attachedPic, `stream ${i} cover art`).to.equal(true);
      });
      expect(doc.raw?.bucket).to.equal(aws.metadataBucket);
    });
  }

  it("stores MPEG-TS (video and audio-only) as ok: the pinned ffprobe crashed on it (SIGSEGV) before its environment got an empty GCONV_PATH", () => {
    for (const name of ["ts-h264-aac", "ts-mpeg2-mp2", "ts-audio-aac"] as const) {
      const doc = docs.get(name);
      expect(doc?.status, `${name}: ${doc?.reason}`).to.equal("ok");
      expect(doc?.container?.format, name).to.equal("mpegts");
      expect(doc?.streams.length, name).to.equal(EXPECTED[name].probe.streams.length);
    }
  });

  it("keeps every format of the breadth list: no fixture is refused by the format whitelist", () => {
    for (const name of MEDIA_NAMES) {
      if (!EXPECTED[name].probe.ok) continue;
      const doc = docs.get(name);
      expect(doc?.status, `${name}: ${doc?.reason}`).to.equal("ok");
    }
  });

  it("why each unreadable file failed is stated in words", () => {
    expect(docs.get("empty")?.reason).to.equal("the object is empty (0 bytes)");
    expect(docs.get("mp4-truncated")?.reason).to.match(/moov atom not found/);
    expect(docs.get("text-as-mp4")?.reason).to.match(/Invalid data found when processing input/);
    expect(docs.get("random-as-mov")?.reason).to.match(/ffprobe could not read the object/);
  });

  it("bounds the MP3's 550 KB tag in the document, and keeps it whole in the raw JSON", async () => {
    const doc = docs.get("mp3-big-id3");
    expect(doc?.tagsTruncated).to.equal(true);
    expect(doc?.tags.title).to.equal("Big Tag Fixture");
    expect(doc?.tags.comment?.endsWith("…")).to.equal(true);
    const raw = await aws.s3.send(new GetObjectCommand({ Bucket: aws.metadataBucket, Key: doc?.raw?.key }));
    const bytes = Buffer.from(
      await (raw.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    const json = JSON.parse((await promisify(gunzip)(bytes)).toString("utf8"));
    expect(json.format.tags.comment.length).to.be.at.least(500_000);
  });

  it("reads a moov-at-end MP4 in place without reading it twice over", () => {
    const doc = docs.get("mp4-moov-end");
    expect(doc?.bytesRead).to.be.greaterThan(0);
    expect(doc?.bytesRead).to.be.at.most((doc?.size ?? 0) * 3);
  });
});
