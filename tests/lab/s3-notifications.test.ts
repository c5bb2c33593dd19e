/**
 * The lab's S3 event adapter: records shaped as S3 sends them, one per real mutation
 * (PUT, POST form upload, copy, multipart completion, DeleteObject, DeleteObjects),
 * observed on a real s3rver, with sequencers that increase per key across restarts.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { S3EventRecord } from "aws-lambda";
import { expect } from "chai";
import { compareSequencers, parseS3Notification } from "../../handlers/extractor/s3-event";
import { makeLabS3Client } from "../../lab/clients";
import { type LabS3, startLabS3 } from "../../lab/s3";
import { eventNameFor, s3EventRecord, s3TestEventBody } from "../../lab/s3-notifications";
import { LAB_SEQUENCER_DIGITS, SequencerClock } from "../../lab/sequencer";

const INGEST = "ingest";
const OTHER = "metadata";

describe("lab S3 event records", () => {
  it("encodes keys as S3 does: space as '+', '+' and non-ASCII percent-encoded, '/' kept", () => {
    const record = s3EventRecord(
      { operation: "Put", bucket: INGEST, key: "clips/a b+c/映像 ü.mp4", size: 3, etag: "abc" },
      { sequencer: "00AA", eventTime: "2026-01-01T00:00:00.000Z" },
    );
    expect(record.s3.object.key).to.equal("clips/a+b%2Bc/%E6%98%A0%E5%83%8F+%C3%BC.mp4");
  });

  it("names each operation exactly as S3 does", () => {
    expect(eventNameFor("Put")).to.equal("ObjectCreated:Put");
    expect(eventNameFor("Post")).to.equal("ObjectCreated:Post");
    expect(eventNameFor("Copy")).to.equal("ObjectCreated:Copy");
    expect(eventNameFor("CompleteMultipartUpload")).to.equal("ObjectCreated:CompleteMultipartUpload");
    expect(eventNameFor("Delete")).to.equal("ObjectRemoved:Delete");
  });

  it("carries size, unquoted eTag, sequencer, bucket name/arn and schema fields; no versionId when unversioned", () => {
    const r = s3EventRecord(
      { operation: "Copy", bucket: INGEST, key: "k", size: 42, etag: '"0123456789abcdef0123456789abcdef"' },
      { sequencer: "0018EA9FD72BE59246", eventTime: "2026-01-01T00:00:00.000Z", configurationId: "cfg" },
    );
    expect(r).to.include({ eventVersion: "2.1", eventSource: "aws:s3", eventName: "ObjectCreated:Copy" });
    expect(r.eventTime).to.equal("2026-01-01T00:00:00.000Z");
    expect(r.s3).to.include({ s3SchemaVersion: "1.0", configurationId: "cfg" });
    expect(r.s3.bucket).to.include({ name: INGEST, arn: `arn:aws:s3:::${INGEST}` });
    expect(r.s3.object).to.deep.equal({
      key: "k",
      size: 42,
      eTag: "0123456789abcdef0123456789abcdef",
      sequencer: "0018EA9FD72BE59246",
    });
    expect(r.s3.object).not.to.have.property("versionId");
  });

  it("gives removals no size or eTag, as S3 does", () => {
    const r = s3EventRecord(
      { operation: "Delete", bucket: INGEST, key: "gone.mp4" },
      { sequencer: "01", eventTime: "2026-01-01T00:00:00.000Z" },
    );
    expect(r.s3.object).to.deep.equal({ key: "gone.mp4", sequencer: "01" });
  });

  it("round-trips through the extractor's parser to the original key", () => {
    const key = "Ünïcödé/スペース と+plus%percent.mov";
    const body = JSON.stringify({
      Records: [
        s3EventRecord(
          { operation: "Put", bucket: INGEST, key, size: 1, etag: "e" },
          { sequencer: "0A", eventTime: "2026-01-01T00:00:00.000Z" },
        ),
      ],
    });
    const [change] = parseS3Notification(body);
    expect(change).to.include({ key, action: "created", eventName: "ObjectCreated:Put", size: 1, etag: "e" });
  });

  it("builds an s3:TestEvent the extractor ignores", () => {
    const body = s3TestEventBody(INGEST);
    expect(JSON.parse(body)).to.include({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: INGEST });
    expect(parseS3Notification(body)).to.deep.equal([]);
  });
});

describe("lab sequencer clock", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-seq-"));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it("hands out fixed-width upper-case hex values, strictly increasing even within one millisecond", () => {
    const clock = SequencerClock.open();
    const values = Array.from({ length: 5000 }, () => clock.next());
    for (const v of values) expect(v).to.match(new RegExp(`^[0-9A-F]{${LAB_SEQUENCER_DIGITS}}$`));
    for (let i = 1; i < values.length; i++)
      expect(values[i] > values[i - 1], `${values[i - 1]} < ${values[i]}`).to.equal(true);
  });

  it("continues above everything handed out before a restart on the same file", () => {
    const file = path.join(dir, "sequencer.json");
    const first = SequencerClock.open(file);
    const before = Array.from({ length: 100 }, () => first.next());
    const second = SequencerClock.open(file);
    const after = second.next();
    for (const b of before) expect(compareSequencers(b, after)).to.equal(-1);
  });

  it("stays above a persisted lease even when the wall clock is behind it", async () => {
    const file = path.join(dir, "sequencer.json");
    // A lease far in the future, as if the clock had been set back since the last run.
    await fs.writeFile(file, JSON.stringify({ lease: "00FFFFFFFFFFFFFF00" }));
    const clock = SequencerClock.open(file);
    const a = clock.next();
    const b = clock.next();
    expect(a > "00FFFFFFFFFFFFFF00").to.equal(true);
    expect(b > a).to.equal(true);
  });
});

describe("lab S3 adapter on a real s3rver", function () {
  this.timeout(30_000);
  let dir: string;
  let server: LabS3;
  let s3: S3Client;
  let bodies: string[];
  let clock: SequencerClock;

  async function start(): Promise<void> {
    clock = SequencerClock.open(path.join(dir, "sequencer.json"));
    server = await startLabS3({
      directory: path.join(dir, "s3"),
      host: "127.0.0.1",
      port: 0,
      notifications: {
        buckets: [INGEST],
        sequencer: clock,
        deliver: async (body) => {
          bodies.push(body);
        },
      },
    });
    s3 = makeLabS3Client(server.endpoint);
  }

  function records(): S3EventRecord[] {
    return bodies.flatMap((b) => (JSON.parse(b) as { Records: S3EventRecord[] }).Records);
  }

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-s3adapter-"));
    bodies = [];
    await start();
    await s3.send(new CreateBucketCommand({ Bucket: INGEST }));
    await s3.send(new CreateBucketCommand({ Bucket: OTHER }));
  });
  beforeEach(() => {
    bodies = [];
  });
  after(async () => {
    s3?.destroy();
    await server?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("announces a PUT as ObjectCreated:Put with the stored size and MD5, after the object is readable", async () => {
    const body = Buffer.from("hello, lab");
    const put = await s3.send(new PutObjectCommand({ Bucket: INGEST, Key: "put me.bin", Body: body }));
    const [r] = records();
    expect(records()).to.have.length(1);
    expect(r.eventName).to.equal("ObjectCreated:Put");
    expect(r.s3.object).to.include({ key: "put+me.bin", size: body.length, eTag: put.ETag?.replace(/"/g, "") });
    expect(r.s3.object.eTag).to.match(/^[0-9a-f]{32}$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: INGEST, Key: "put me.bin" }));
    expect(Buffer.from((await got.Body?.transformToByteArray()) ?? [])).to.deep.equal(body);
  });

  it("announces a browser form upload (POST) as ObjectCreated:Post", async () => {
    const form = new FormData();
    form.append("key", "forms/upload ü.txt");
    form.append("file", new Blob([Buffer.from("posted bytes")]), "upload.txt");
    const res = await fetch(`${server.endpoint}/${INGEST}`, { method: "POST", body: form });
    expect(res.status).to.equal(204);
    const [r] = records();
    expect(r.eventName).to.equal("ObjectCreated:Post");
    expect(r.s3.object).to.include({ key: "forms/upload+%C3%BC.txt", size: 12 });
  });

  it("announces a copy as ObjectCreated:Copy with the copy's eTag", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: INGEST, Key: "src.bin", Body: "copy me" }));
    bodies = [];
    await s3.send(new CopyObjectCommand({ Bucket: INGEST, Key: "dst.bin", CopySource: `${INGEST}/src.bin` }));
    const [r] = records();
    expect(records()).to.have.length(1);
    expect(r.eventName).to.equal("ObjectCreated:Copy");
    expect(r.s3.object).to.include({ key: "dst.bin", size: 7, eTag: put.ETag?.replace(/"/g, "") });
  });

  it("announces a multipart upload once, as ObjectCreated:CompleteMultipartUpload with the total size", async () => {
    const key = "multi part/video.bin";
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: INGEST, Key: key }));
    const part1 = Buffer.alloc(5 * 1024 * 1024, 1);
    const part2 = Buffer.from("tail");
    const p1 = await s3.send(new UploadPartCommand({ Bucket: INGEST, Key: key, UploadId, PartNumber: 1, Body: part1 }));
    const p2 = await s3.send(new UploadPartCommand({ Bucket: INGEST, Key: key, UploadId, PartNumber: 2, Body: part2 }));
    expect(records()).to.have.length(0);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: INGEST,
        Key: key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      }),
    );
    expect(records()).to.have.length(1);
    const [r] = records();
    expect(r.eventName).to.equal("ObjectCreated:CompleteMultipartUpload");
    expect(r.s3.object).to.include({ key: "multi+part/video.bin", size: part1.length + part2.length });
    // The eTag is the one GetObject reports, so the extractor's ETag pinning matches.
    const head = await s3.send(new HeadObjectCommand({ Bucket: INGEST, Key: key }));
    expect(head.ETag?.replace(/"/g, "")).to.equal(r.s3.object.eTag);
  });

  it("announces DeleteObject as ObjectRemoved:Delete", async () => {
    await s3.send(new PutObjectCommand({ Bucket: INGEST, Key: "bye.bin", Body: "x" }));
    bodies = [];
    await s3.send(new DeleteObjectCommand({ Bucket: INGEST, Key: "bye.bin" }));
    const [r] = records();
    expect(records()).to.have.length(1);
    expect(r.eventName).to.equal("ObjectRemoved:Delete");
    expect(r.s3.object.key).to.equal("bye.bin");
    expect(r.s3.object).not.to.have.property("size");
  });

  it("announces every key of a DeleteObjects request (what `aws s3 rm --recursive` sends), even in one folder", async () => {
    const keys = ["batch/a.bin", "batch/b c.bin", "batch/sub/d.bin", "batch/e+f.bin"];
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: INGEST, Key, Body: Key }));
    bodies = [];
    const res = await s3.send(
      new DeleteObjectsCommand({ Bucket: INGEST, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
    );
    expect(res.Deleted).to.have.length(keys.length);
    const removed = records().map((r) => parseS3Notification(JSON.stringify({ Records: [r] }))[0]);
    expect(removed.map((c) => c.eventName)).to.deep.equal(keys.map(() => "ObjectRemoved:Delete"));
    expect(removed.map((c) => c.key).sort()).to.deep.equal([...keys].sort());
  });

  it("stays silent for buckets without a notification configuration", async () => {
    await s3.send(new PutObjectCommand({ Bucket: OTHER, Key: "ffprobe/x.json.gz", Body: "{}" }));
    await s3.send(new DeleteObjectCommand({ Bucket: OTHER, Key: "ffprobe/x.json.gz" }));
    expect(records()).to.have.length(0);
  });

  it("gives later changes of a key greater sequencers, also after the server restarts on the same folder", async () => {
    const key = "seq/same key.bin";
    await s3.send(new PutObjectCommand({ Bucket: INGEST, Key: key, Body: "1" }));
    await s3.send(new PutObjectCommand({ Bucket: INGEST, Key: key, Body: "2" }));
    await s3.send(new DeleteObjectCommand({ Bucket: INGEST, Key: key }));
    s3.destroy();
    await server.close();
    await start(); // new clock and server, same folder
    await s3.send(new PutObjectCommand({ Bucket: INGEST, Key: key, Body: "3" }));
    const sequencers = records().map((r) => r.s3.object.sequencer);
    expect(sequencers).to.have.length(4);
    for (let i = 1; i < sequencers.length; i++) {
      expect(
        compareSequencers(sequencers[i - 1], sequencers[i]),
        `${sequencers[i - 1]} then ${sequencers[i]}`,
      ).to.equal(-1);
    }
  });
});
