/**
 * Every fixture of media/media.ts through the real extractor (real ffprobe, in place
 * over the range proxy, embedded S3 and DynamoDB): the stored document must say what the
 * file is, whatever its name says.
 */
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { createExtractor, type Extractor } from "../../handlers/extractor/extractor";
import { resolveLocalFfprobe } from "../../handlers/extractor/ffprobe";
import type { MetadataItem } from "../../lib/schema";
import { EXPECTED, ensureAllMedia, MEDIA_NAMES, type MediaName } from "../../media/media";
import { type EmbeddedAws, startEmbeddedAws } from "../helpers/embedded-aws";
import { extractObjects } from "../helpers/extract-objects";
import { expectFixtureDocument, KIND } from "../helpers/fixture-documents";

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
    // Batches of ten, as an event source mapping would deliver them.
    const objects = await Promise.all(
      MEDIA_NAMES.map(async (name) => ({ key: keyFor(name), bytes: await readFile(files[name]) })),
    );
    const stored = await extractObjects(aws, extractor, objects, 10);
    for (const name of MEDIA_NAMES) docs.set(name, stored.get(keyFor(name)) as MetadataItem);
  });
  after(async () => aws?.stop());

  for (const name of MEDIA_NAMES) {
    const want = EXPECTED[name];
    it(`${name} is ${want.probe.ok ? `ok, ${KIND[name]}` : "unprocessable"}`, () => {
      const doc = docs.get(name);
      expect(doc, "document stored").to.not.equal(undefined);
      if (!doc) return;
      expectFixtureDocument(name, doc);
      if (want.probe.ok) expect(doc.raw?.bucket).to.equal(aws.metadataBucket);
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
