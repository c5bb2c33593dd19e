/**
 * What the stored document of each media fixture (media/media.ts) must say, for every
 * way a document is made: the extractor over embedded S3, the lab, `npm run probe`.
 */
import { expect } from "chai";
import { documentBytes } from "../../handlers/extractor/document";
import { MAX_DOCUMENT_BYTES, type MediaKind, type MetadataDocument } from "../../lib/schema";
import { DURATION_TOLERANCE_S, EXPECTED, type ExpectedStream, type MediaName } from "../../media/media";

/** What the document's `kind` must be for each fixture that ffprobe can read. */
export const KIND: Partial<Record<MediaName, MediaKind>> = {
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

/** Asserts that `doc` describes fixture `name` as the pinned ffprobe reads it. */
export function expectFixtureDocument(name: MediaName, doc: MetadataDocument): void {
  const want = EXPECTED[name];
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
    if (w.rotation !== undefined) expect(s.rotation, `stream ${i} rotation`).to.equal(((w.rotation % 360) + 360) % 360);
    if (w.attachedPic) expect(s.attachedPic, `stream ${i} cover art`).to.equal(true);
  });
}
