/** The dashboard's configuration checks and the numbers behind its charts. */
import { expect } from "chai";
import { DASHBOARD_SCOPES } from "../../lib/auth";
import {
  contentTypeAllowed,
  DashboardConfigError,
  DEFAULT_UPLOAD_LIMITS,
  parseDashboardConfig,
} from "../../lib/dashboard-config";
import type { MetadataDocument } from "../../lib/schema";
import { toPresignedUpload } from "../../web/src/api";
import {
  codecSummary,
  formatBytes,
  formatDuration,
  formatName,
  formatTotalDuration,
  resolutionOf,
} from "../../web/src/format";
import {
  codecMix,
  durationDistribution,
  niceScale,
  processingTimeline,
  resolutionDistribution,
} from "../../web/src/stats";

function doc(over: Partial<MetadataDocument>): MetadataDocument {
  return {
    schemaVersion: 1,
    bucket: "b",
    key: "k",
    size: 1000,
    status: "ok",
    kind: "video",
    streams: [],
    tags: {},
    ffprobeVersion: "x",
    extractorVersion: "1",
    processedAt: "2026-01-01T00:00:00.000Z",
    bytesRead: 100,
    probeMs: 20,
    sequencer: "1",
    eventTime: "2026-01-01T00:00:00.000Z",
    ...over,
  };
}

const video = (key: string, w: number, h: number, dur: number, codecs: string[], at = "2026-01-01T00:00:00Z") =>
  doc({
    key,
    processedAt: at,
    container: { format: "mov,mp4", durationSec: dur },
    streams: [
      { index: 0, kind: "video", codec: codecs[0], width: w, height: h },
      ...codecs.slice(1).map((c, i) => ({ index: i + 1, kind: "audio" as const, codec: c })),
    ],
  });

describe("dashboard configuration", () => {
  const valid = {
    apiUrl: "https://api.example.com/",
    auth: { authority: "https://issuer.example.com/pool", clientId: "abc", scopes: [...DASHBOARD_SCOPES] },
    uploads: { maxBytes: 1000, contentTypes: ["video/*"] },
    extra: true,
  };

  it("accepts a valid config.json, trims the API URL's slash and drops unknown fields", () => {
    const config = parseDashboardConfig(valid);
    expect(config.apiUrl).to.equal("https://api.example.com");
    expect(config).to.not.have.property("extra");
    expect(config.auth.scopes).to.deep.equal([...DASHBOARD_SCOPES]);
  });

  it("refuses a config.json the page could not work with", () => {
    for (const bad of [
      null,
      [],
      { ...valid, apiUrl: 1 },
      { ...valid, auth: { ...valid.auth, authority: "" } },
      { ...valid, auth: { ...valid.auth, scopes: "openid" } },
      { ...valid, auth: { ...valid.auth, redirectPath: "callback" } },
      { ...valid, uploads: { maxBytes: 0, contentTypes: [] } },
      { ...valid, uploads: undefined },
    ]) {
      expect(() => parseDashboardConfig(bad), JSON.stringify(bad)).to.throw(DashboardConfigError);
    }
  });

  it("matches content types against patterns", () => {
    expect(contentTypeAllowed("video/mp4", DEFAULT_UPLOAD_LIMITS.contentTypes)).to.equal(true);
    expect(contentTypeAllowed("Audio/MPEG; charset=x", ["audio/*"])).to.equal(true);
    expect(contentTypeAllowed("application/pdf", DEFAULT_UPLOAD_LIMITS.contentTypes)).to.equal(false);
    expect(contentTypeAllowed("text/plain", [])).to.equal(true);
    expect(contentTypeAllowed("image/png", ["image/jpeg"])).to.equal(false);
  });

  it("reads the presigned upload the API returns (nested PUT, flat PUT, POST form)", () => {
    const nested = toPresignedUpload({
      bucket: "in",
      key: "uploads/u/1/a.mp4",
      upload: {
        method: "PUT",
        url: "https://s3/x",
        headers: { "content-type": "video/mp4" },
        key: "uploads/u/1/a.mp4",
      },
    });
    expect(nested).to.deep.include({ method: "PUT", url: "https://s3/x", key: "uploads/u/1/a.mp4" });
    const form = toPresignedUpload({ url: "https://s3/", fields: { key: "k", policy: "p" }, key: "k" });
    expect(form).to.deep.include({ method: "POST", fields: { key: "k", policy: "p" } });
    expect(() => toPresignedUpload({ nope: 1 })).to.throw(/without a URL/);
  });
});

describe("dashboard chart data", () => {
  const docs = [
    video("a", 1920, 1080, 5, ["h264", "aac"], "2026-01-01T00:00:02Z"),
    video("b", 1080, 1920, 75, ["h264", "aac"], "2026-01-01T00:00:01Z"),
    video("c", 320, 240, 4000, ["vp9", "opus"], "2026-01-01T00:00:03Z"),
    doc({
      key: "song.mp3",
      kind: "audio",
      container: { format: "mp3", durationSec: 200 },
      streams: [
        { index: 0, kind: "audio", codec: "mp3" },
        { index: 1, kind: "video", codec: "png", width: 64, height: 48, attachedPic: true },
      ],
    }),
    doc({ key: "bad.mp4", status: "unprocessable", kind: "other", reason: "moov atom not found", probeMs: 90 }),
  ];

  it("counts files per codec, leaving cover art out", () => {
    expect(codecMix(docs)).to.deep.equal([
      { label: "aac", value: 2 },
      { label: "h264", value: 2 },
      { label: "mp3", value: 1 },
      { label: "opus", value: 1 },
      { label: "vp9", value: 1 },
    ]);
    const many = ["a", "b", "c", "d", "e", "f", "g", "h"].map((c, i) => video(`k${i}`, 10, 10, 1, [c]));
    const mix = codecMix(many, 6);
    expect(mix).to.have.length(7);
    expect(mix[6]).to.deep.equal({ label: "other", value: 2 });
  });

  it("buckets video by the short side and audio/video by duration", () => {
    const res = Object.fromEntries(resolutionDistribution(docs).map((d) => [d.label, d.value]));
    expect(res).to.deep.include({ "≤360p": 1, "1080p": 2, "4K+": 0 });
    const dur = Object.fromEntries(durationDistribution(docs).map((d) => [d.label, d.value]));
    expect(dur).to.deep.include({ "<10s": 1, "1–5m": 2, "≥1h": 1 });
  });

  it("orders probe times by processing time, failures included", () => {
    const t = processingTimeline(docs);
    expect(t.map((p) => p.key).slice(0, 3)).to.deep.equal(["song.mp3", "bad.mp4", "b"]);
    expect(t).to.have.length(5);
  });

  it("formats what the table shows", () => {
    expect(niceScale(210)).to.deep.equal({ step: 100, top: 300 });
    expect(niceScale(7)).to.deep.equal({ step: 2, top: 8 });
    expect(niceScale(0)).to.deep.equal({ step: 1, top: 4 });
    // Binary units everywhere (lib/uploads.ts): 5 GiB is "5 GiB", never "5.4 GB".
    expect(formatBytes(1_500_000)).to.equal("1.4 MiB");
    expect(formatBytes(5 * 1024 ** 3)).to.equal("5 GiB");
    expect(formatBytes(49_664)).to.equal("48.5 KiB");
    expect(formatBytes(512)).to.equal("512 B");
    // Totals never read as a time of day.
    expect(formatTotalDuration(901)).to.equal("15 min 01 s");
    expect(formatTotalDuration(11_100)).to.equal("3 h 05 min");
    expect(formatTotalDuration(45)).to.equal("45 s");
    expect(formatTotalDuration(2 * 86_400 + 4 * 3600)).to.equal("2 d 4 h");
    // Formats by their usual names.
    const withFormat = (key: string, format: string) => ({ ...docs[0], key, container: { format } });
    expect(formatName(withFormat("a.mp4", "mov,mp4,m4a,3gp,3g2,mj2"))).to.equal("MP4");
    expect(formatName(withFormat("a.MOV", "mov,mp4,m4a,3gp,3g2,mj2"))).to.equal("QuickTime");
    expect(formatName(withFormat("a.png", "png_pipe"))).to.equal("PNG");
    expect(formatName(withFormat("a.webm", "matroska,webm"))).to.equal("WebM");
    expect(formatName(withFormat("a.mkv", "matroska,webm"))).to.equal("Matroska");
    expect(formatName(withFormat("a.mp3", "mp3"))).to.equal("MP3");
    expect(formatDuration(75)).to.equal("1:15");
    expect(formatDuration(12.4)).to.equal("12 s");
    expect(formatDuration(4000)).to.equal("1:06:40");
    expect(resolutionOf(docs[3])).to.equal(undefined);
    expect(resolutionOf(docs[0])).to.equal("1920×1080");
    expect(codecSummary(docs[3])).to.equal("mp3");
  });
});
