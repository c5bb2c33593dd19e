/**
 * The lab's S3 event journal (lab/s3-notifications.ts): a change whose event was not queued
 * when the process died is announced on the next start, from what the store holds then.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { expect } from "chai";
import { parseS3Notification } from "../../handlers/extractor/s3-event";
import { makeLabS3Client } from "../../lab/clients";
import { type LabS3, startLabS3 } from "../../lab/s3";
import { SequencerClock } from "../../lab/sequencer";

describe("lab S3 event journal", function () {
  this.timeout(60_000);
  let dir: string;
  let server: LabS3 | undefined;
  let s3: S3Client | undefined;
  const delivered: string[] = [];
  const journal = () => path.join(dir, "journal");

  async function start(): Promise<S3Client> {
    server = await startLabS3({
      directory: path.join(dir, "s3"),
      host: "127.0.0.1",
      port: 0,
      notifications: {
        buckets: ["ingest"],
        sequencer: SequencerClock.open(path.join(dir, "seq.json")),
        deliver: async (body) => {
          delivered.push(body);
        },
        journal: journal(),
      },
    });
    s3?.destroy();
    s3 = makeLabS3Client(server.endpoint);
    return s3;
  }

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-s3-journal-"));
  });
  after(async () => {
    s3?.destroy();
    await server?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("closes every intent it opens during normal operation", async () => {
    const c = await start();
    await c.send(new CreateBucketCommand({ Bucket: "ingest" }));
    await c.send(new PutObjectCommand({ Bucket: "ingest", Key: "a.wav", Body: "first" }));
    await c.send(new PutObjectCommand({ Bucket: "ingest", Key: "b.wav", Body: "gone soon" }));
    const lines = (await fs.readFile(journal(), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const open = new Set(lines.filter((l) => "i" in l).map((l) => l.i));
    for (const l of lines) if ("d" in l) open.delete(l.d);
    expect(open.size).to.equal(0);
    expect(lines.filter((l) => "i" in l).map((l) => l.k)).to.deep.equal(["a.wav", "b.wav"]);
    expect(delivered).to.have.length(2);
    await server?.close();
  });

  it("after a crash, announces the changes left open from the store's state, torn writes included", async () => {
    delivered.length = 0;
    // What a SIGKILL leaves behind: a.wav rewritten (new bytes, the .md5 of the old ones),
    // b.wav deleted, both with an intent and no done line.
    const objectFile = (key: string) => path.join(dir, "s3", "ingest", `${key}._S3rver_object`);
    await fs.writeFile(objectFile("a.wav"), "second version");
    for (const suffix of ["", ".md5"]) await fs.rm(`${objectFile("b.wav")}${suffix}`, { force: true });
    await fs.rm(path.join(dir, "s3", "ingest", "b.wav._S3rver_metadata.json"), { force: true });
    await fs.appendFile(
      journal(),
      `${JSON.stringify({ i: "dead-1", b: "ingest", k: "a.wav" })}\n${JSON.stringify({ i: "dead-2", b: "ingest", k: "b.wav" })}\n{"i":"torn`,
    );

    const c = await start();
    const changes = delivered.flatMap((body) => parseS3Notification(body));
    const md5 = createHash("md5").update("second version").digest("hex");
    expect(changes.map((ch) => [ch.action, ch.key, ch.etag, ch.size])).to.deep.equal([
      ["created", "a.wav", md5, 14],
      ["removed", "b.wav", undefined, 0],
    ]);
    // s3rver now serves the bytes under the ETag the event announced.
    const got = await c.send(new GetObjectCommand({ Bucket: "ingest", Key: "a.wav" }));
    expect(got.ETag).to.equal(`"${md5}"`);
    expect(await got.Body?.transformToString()).to.equal("second version");
    expect(await fs.readFile(journal(), "utf8")).to.equal("");
  });

  it("after a kill inside s3rver's metadata write, serves the object and HEAD bucket again (no 500)", async () => {
    // A SIGKILL between s3rver's truncate and write of metadata.json leaves it empty or cut;
    // s3rver answers HEAD bucket by listing the bucket, so the lab's next start failed on it.
    const c = await start();
    await c.send(new PutObjectCommand({ Bucket: "ingest", Key: "torn.wav", Body: "bytes", ContentType: "audio/wav" }));
    await server?.close();
    await fs.writeFile(path.join(dir, "s3", "ingest", "torn.wav._S3rver_metadata.json"), '{\n  "content-ty');
    await fs.appendFile(journal(), `${JSON.stringify({ i: "dead-3", b: "ingest", k: "torn.wav" })}\n`);
    const again = await start();
    await again.send(new HeadBucketCommand({ Bucket: "ingest" }));
    const got = await again.send(new GetObjectCommand({ Bucket: "ingest", Key: "torn.wav" }));
    expect(await got.Body?.transformToString()).to.equal("bytes");
  });

  it("writes metadata files whole (a temp file renamed into place), never truncated in place", async () => {
    const c = await start();
    const file = path.join(dir, "s3", "ingest", "whole.wav._S3rver_metadata.json");
    await c.send(new PutObjectCommand({ Bucket: "ingest", Key: "whole.wav", Body: "one", ContentType: "audio/wav" }));
    const before = (await fs.stat(file)).ino;
    await c.send(new PutObjectCommand({ Bucket: "ingest", Key: "whole.wav", Body: "two", ContentType: "audio/x-wav" }));
    expect((await fs.stat(file)).ino, "replaced by rename: a new inode").to.not.equal(before);
    expect(JSON.parse(await fs.readFile(file, "utf8"))).to.deep.equal({ "content-type": "audio/x-wav" });
    const head = await c.send(new GetObjectCommand({ Bucket: "ingest", Key: "whole.wav" }));
    expect(head.ContentType).to.equal("audio/x-wav");
    expect(await head.Body?.transformToString()).to.equal("two");
  });
});
