/**
 * Signed list cursors and the helpers of browser uploads (key naming, declared types,
 * presigned PUTs), without any server.
 */
import { expect } from "chai";
import { createCursorCodec, InvalidCursorError } from "../../handlers/api/cursor";
import { resolveUploadPolicy } from "../../handlers/api/routes";
import {
  contentTypeDeclared,
  MAX_SINGLE_PUT_BYTES,
  presignUpload,
  safeFileName,
  UPLOAD_CONTENT_TYPES,
  uploadKey,
} from "../../handlers/api/uploads";
import { makeLabS3Client } from "../../lab/clients";

const SECRET = "a-secret-that-is-long-enough-for-hmac-keys";
const position = { objectKey: "dir/a b.mp4", processedAt: "2026-01-02T03:04:05.000Z", shard: 2, exhausted: 5 };

describe("list cursors (handlers/api/cursor.ts)", () => {
  const codec = createCursorCodec(SECRET);

  it("round-trips a position for the same filters, as an opaque base64url string", () => {
    const cursor = codec.encode(position, { status: "ok" });
    expect(cursor).to.match(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(codec.decode(cursor, { status: "ok" })).to.deep.equal(position);
    expect(createCursorCodec(SECRET).decode(cursor, { status: "ok" })).to.deep.equal(position); // another instance
  });

  it("refuses any change to the payload or the signature", () => {
    const cursor = codec.encode(position, {});
    const [payload, mac] = cursor.split(".");
    for (let i = 0; i < payload.length; i += 7) {
      const c = payload[i] === "A" ? "B" : "A";
      expect(() => codec.decode(`${payload.slice(0, i)}${c}${payload.slice(i + 1)}.${mac}`, {})).to.throw(
        InvalidCursorError,
      );
    }
    expect(() => codec.decode(`${payload}.${"A".repeat(43)}`, {})).to.throw(InvalidCursorError);
    expect(() => codec.decode(payload, {})).to.throw(InvalidCursorError);
  });

  it("refuses cursors signed with another secret, and moved to other filters", () => {
    const other = createCursorCodec(`${SECRET}-rotated`).encode(position, {});
    expect(() => codec.decode(other, {})).to.throw(InvalidCursorError, "not one this API issued");
    const cursor = codec.encode(position, { status: "ok", kind: "video" });
    expect(() => codec.decode(cursor, { status: "ok" })).to.throw(InvalidCursorError, "other filters");
    expect(() => codec.decode(cursor, { kind: "video" })).to.throw(InvalidCursorError, "other filters");
  });

  it("needs a secret of at least 32 characters", () => {
    expect(() => createCursorCodec("short")).to.throw("at least 32 characters");
  });
});

describe("uploads (handlers/api/uploads.ts)", () => {
  it("makes safe, readable file names", () => {
    expect(safeFileName("My clip (1).mp4")).to.equal("My-clip-1.mp4");
    expect(safeFileName("../../etc/passwd")).to.equal("passwd");
    expect(safeFileName("C:\\Users\\me\\vid.MOV")).to.equal("vid.MOV");
    expect(safeFileName("映像 ü.wav")).to.equal("映像-ü.wav");
    expect(safeFileName("...")).to.equal("upload");
    expect(safeFileName("<b>alert(1)<b>.mp4")).to.equal("b-alert-1-b.mp4");
    const long = safeFileName(`${"x".repeat(300)}.webm`);
    expect([...long]).to.have.length(120);
    expect(long.endsWith(".webm")).to.equal(true);
  });

  it("puts every upload under uploads/<sub>/<id>/", () => {
    const at = new Date("2026-12-02T04:44:00.123Z");
    expect(uploadKey("user-1", "a b.mp4", at, "3f9a1c")).to.equal("uploads/user-1/a-b-20261202-044400-3f9a1c.mp4");
    expect(uploadKey("user-1", "README", at, "000000")).to.equal("uploads/user-1/README-20261202-044400-000000");
    // One folder per user, no UUID folder per upload.
    expect(uploadKey("user-1", "my-holiday-clip-final-é.mp4", at).split("/")).to.have.length(3);
  });

  it("accepts the declared media types only", () => {
    expect(UPLOAD_CONTENT_TYPES).to.deep.equal(["video/*", "audio/*", "image/*"]);
    for (const t of ["video/mp4", "audio/mpeg", "image/jpeg", "video/x-matroska"]) {
      expect(contentTypeDeclared(t, UPLOAD_CONTENT_TYPES), t).to.equal(true);
    }
    for (const t of ["text/html", "application/octet-stream", "videos/mp4", "application/mp4"]) {
      expect(contentTypeDeclared(t, UPLOAD_CONTENT_TYPES), t).to.equal(false);
    }
    expect(contentTypeDeclared("audio/flac", ["audio/flac"])).to.equal(true);
    expect(contentTypeDeclared("audio/mpeg", ["audio/flac"])).to.equal(false);
  });

  it("checks the upload policy", () => {
    expect(resolveUploadPolicy().maxBytes).to.equal(MAX_SINGLE_PUT_BYTES);
    expect(() => resolveUploadPolicy({ maxBytes: MAX_SINGLE_PUT_BYTES + 1 })).to.throw("upload limit");
    expect(() => resolveUploadPolicy({ maxBytes: 0 })).to.throw("upload limit");
    expect(() => resolveUploadPolicy({ contentTypes: [] })).to.throw("content type");
  });

  it("signs content-type and content-length into the URL, with the lifetime asked", async () => {
    const s3 = makeLabS3Client("http://127.0.0.1:9");
    const put = await presignUpload(
      s3,
      "bucket",
      "uploads/u/1/a.mp4",
      "video/mp4",
      42,
      60,
      new Date("2026-05-01T00:00:00Z"),
    );
    s3.destroy();
    const url = new URL(put.url);
    expect(url.searchParams.get("X-Amz-SignedHeaders")).to.equal("content-length;content-type;host");
    expect(url.searchParams.get("X-Amz-Expires")).to.equal("60");
    expect(put).to.deep.include({
      method: "PUT",
      key: "uploads/u/1/a.mp4",
      headers: { "content-type": "video/mp4", "content-length": "42" },
      expiresAt: "2026-05-01T00:01:00.000Z",
    });
  });
});
