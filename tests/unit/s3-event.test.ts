import { expect } from "chai";
import {
  compareSequencers,
  decodeS3EventKey,
  encodeS3EventKey,
  MalformedEventError,
  normalizeSequencer,
  parseS3Notification,
} from "../../handlers/extractor/s3-event";

/** A record shaped like the ones S3 puts in notifications (fields trimmed to what matters). */
function record(eventName: string, key: string, extra: Record<string, unknown> = {}) {
  return {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: "us-east-1",
    eventTime: "2026-11-23T10:00:00.000Z",
    eventName,
    s3: {
      s3SchemaVersion: "1.0",
      configurationId: "extractor",
      bucket: { name: "ingest", arn: "arn:aws:s3:::ingest" },
      object: { key, size: 1024, eTag: "0123456789abcdef0123456789abcdef", sequencer: "0055AED6DCD90281E5", ...extra },
    },
  };
}

describe("S3 event keys", () => {
  it("decodes '+' as a space, as in the AWS documentation's 'red flower.jpg' example", () => {
    expect(decodeS3EventKey("red+flower.jpg")).to.equal("red flower.jpg");
  });

  it("decodes a percent-encoded '+' as a plus, not a space", () => {
    expect(decodeS3EventKey("a%2Bb+c.mp4")).to.equal("a+b c.mp4");
  });

  it("decodes UTF-8 percent-encoding of non-Latin scripts", () => {
    expect(decodeS3EventKey("%E6%98%A0%E5%83%8F/%D0%B2%D0%B8%D0%B4%D0%B5%D0%BE+1.mkv")).to.equal("映像/видео 1.mkv");
  });

  it("keeps slashes and unreserved characters", () => {
    expect(decodeS3EventKey("uploads/2026/clip_01-final.v2.mp4")).to.equal("uploads/2026/clip_01-final.v2.mp4");
  });

  it("rejects malformed percent-encoding with the key in the message", () => {
    expect(() => decodeS3EventKey("bad%E6.mp4")).to.throw(MalformedEventError, /bad%E6\.mp4/);
  });

  it("encodes as S3 does and round-trips any key", () => {
    expect(encodeS3EventKey("red flower.jpg")).to.equal("red+flower.jpg");
    expect(encodeS3EventKey("a+b&c=d.mp4")).to.equal("a%2Bb%26c%3Dd.mp4");
    for (const key of [
      "red flower.jpg",
      "a+b c.mp4",
      "映像/видео 1.mkv",
      "emoji 🎬.MOV",
      "100% (final)?.webm",
      "x~*_.-/y",
    ]) {
      expect(decodeS3EventKey(encodeS3EventKey(key))).to.equal(key);
    }
  });
});

describe("S3 sequencers", () => {
  it("right-pads with zeros before comparing, as S3 documents", () => {
    // "0055AED6DCD9028" padded is "0055AED6DCD90280…" which is older than "0055AED6DCD90281E5".
    expect(compareSequencers("0055AED6DCD9028", "0055AED6DCD90281E5")).to.be.lessThan(0);
    expect(compareSequencers("0055AED6DCD90281E5", "0055AED6DCD9028")).to.be.greaterThan(0);
    expect(compareSequencers("00A", "00A000")).to.equal(0);
  });

  it("compares lexicographically, not by length", () => {
    expect(compareSequencers("1", "0FFFFFFFFFFFFFFF")).to.be.greaterThan(0);
  });

  it("ignores hex case", () => {
    expect(compareSequencers("00ab", "00AB")).to.equal(0);
  });

  it("normalizes to a fixed width so stored values compare as plain strings", () => {
    const a = normalizeSequencer("0055AED6DCD9028");
    const b = normalizeSequencer("0055AED6DCD90281E5");
    expect(a.length).to.equal(b.length);
    expect(a < b).to.equal(true);
  });

  it("rejects non-hex sequencers", () => {
    expect(() => normalizeSequencer("not-hex")).to.throw(MalformedEventError);
  });
});

describe("S3 notification parsing", () => {
  it("ignores s3:TestEvent", () => {
    const body = JSON.stringify({
      Service: "Amazon S3",
      Event: "s3:TestEvent",
      Time: "2026-11-23T10:00:00.000Z",
      Bucket: "ingest",
    });
    expect(parseS3Notification(body)).to.deep.equal([]);
  });

  for (const name of ["Put", "Post", "Copy", "CompleteMultipartUpload"]) {
    it(`handles ObjectCreated:${name}`, () => {
      const [change] = parseS3Notification(
        JSON.stringify({ Records: [record(`ObjectCreated:${name}`, "my+clip.mp4")] }),
      );
      expect(change).to.include({
        action: "created",
        eventName: `ObjectCreated:${name}`,
        key: "my clip.mp4",
        size: 1024,
      });
      expect(change.etag).to.equal("0123456789abcdef0123456789abcdef");
    });
  }

  for (const name of ["Delete", "DeleteMarkerCreated"]) {
    it(`handles ObjectRemoved:${name}`, () => {
      const rec = record(`ObjectRemoved:${name}`, "gone.mp4");
      const [change] = parseS3Notification(JSON.stringify({ Records: [rec] }));
      expect(change).to.include({ action: "removed", key: "gone.mp4" });
    });
  }

  for (const name of ["Delete", "DeleteMarkerCreated"]) {
    it(`handles LifecycleExpiration:${name} as a removal to check (not an ObjectRemoved event)`, () => {
      const rec = record(`LifecycleExpiration:${name}`, "old+clip.mp4");
      const [change] = parseS3Notification(JSON.stringify({ Records: [rec] }));
      expect(change).to.include({ action: "removed", key: "old clip.mp4", eventName: `LifecycleExpiration:${name}` });
    });
  }

  it("skips event types that are not creations or removals", () => {
    const body = JSON.stringify({ Records: [record("ObjectRestore:Completed", "a.mp4")] });
    expect(parseS3Notification(body)).to.deep.equal([]);
  });

  it("strips quotes from ETags and keeps version ids", () => {
    const rec = record("ObjectCreated:Put", "a.mp4", {
      eTag: '"abc-2"',
      versionId: "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
    });
    const [change] = parseS3Notification(JSON.stringify({ Records: [rec] }));
    expect(change.etag).to.equal("abc-2");
    expect(change.versionId).to.equal("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY");
  });

  it("reports bodies that are not S3 notifications", () => {
    expect(() => parseS3Notification("not json")).to.throw(MalformedEventError, /not JSON/);
    expect(() => parseS3Notification("{}")).to.throw(MalformedEventError, /Records/);
    const noSeq = record("ObjectCreated:Put", "a.mp4", { sequencer: undefined });
    expect(() => parseS3Notification(JSON.stringify({ Records: [noSeq] }))).to.throw(MalformedEventError, /sequencer/);
  });
});
