/**
 * The lab S3's synchronous small reads (lab/s3-store-reads.ts) answer exactly as s3rver's
 * own: whole and ranged GETs, HEAD, ranges past the end, missing keys, an object without its
 * .md5 file, and a range larger than the synchronous limit. Through a real S3 client.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs/promises";
import * as http from "node:http";
import * as path from "node:path";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { expect } from "chai";
import { SYNC_READ_MAX_BYTES } from "../../lab/s3-store-reads";
import { startTempLabS3, type TempLabS3 } from "../helpers/lab-s3";

const BUCKET = "reads";

describe("lab S3 reads", function () {
  this.timeout(60_000);
  let lab: TempLabS3;
  let root: string;
  let s3: S3Client;
  const small = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
  const large = Buffer.alloc(SYNC_READ_MAX_BYTES + 4096, 7);

  before(async () => {
    lab = await startTempLabS3("mp-s3-reads-", [BUCKET]);
    ({ root, s3 } = lab);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "small", Body: small, ContentType: "audio/wav" }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "large", Body: large }));
  });
  after(() => lab?.stop());

  const get = async (key: string, range?: string) => {
    const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range }));
    return { res, body: Buffer.from(await (res.Body?.transformToByteArray() ?? new Uint8Array())) };
  };

  it("serves a whole object with its metadata and ETag", async () => {
    const { res, body } = await get("small");
    expect(body.equals(small)).to.equal(true);
    expect(res.ContentType).to.equal("audio/wav");
    expect(res.ContentLength).to.equal(small.length);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "small" }));
    expect(head.ETag).to.equal(res.ETag);
    expect(head.ContentLength).to.equal(small.length);
  });

  it("serves ranges, an open range, and a range running past the end (cut to the object)", async () => {
    const mid = await get("small", "bytes=100-199");
    expect(mid.body.equals(small.subarray(100, 200))).to.equal(true);
    expect(mid.res.ContentRange).to.equal(`bytes 100-199/${small.length}`);
    expect((await get("small", "bytes=4990-")).body.equals(small.subarray(4990))).to.equal(true);
    const past = await get("small", "bytes=4000-9999");
    expect(past.body.equals(small.subarray(4000))).to.equal(true);
    expect(past.res.ContentRange).to.equal(`bytes 4000-4999/${small.length}`);
  });

  it("refuses a range that starts past the end, and a missing key", async () => {
    const beyond = await get("small", "bytes=6000-6100").catch((e) => e);
    expect(beyond.name).to.equal("InvalidRange");
    const missing = await get("nothing-here").catch((e) => e);
    expect(missing.name).to.equal("NoSuchKey");
  });

  it("hashes an object whose .md5 file is missing, as s3rver does", async () => {
    const { res: before } = await get("small");
    const files = await fs.readdir(path.join(root, "s3", BUCKET));
    const md5 = files.find((f) => f.startsWith("small") && f.endsWith(".md5"));
    expect(md5, "the object's .md5 file").to.be.a("string");
    await fs.rm(path.join(root, "s3", BUCKET, md5 as string));
    const { res, body } = await get("small");
    expect(res.ETag).to.equal(before.ETag);
    expect(body.equals(small)).to.equal(true);
  });

  it("answers HeadBucket from the bucket alone: 200, 404 for a missing one, even beside a torn metadata file", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "torn", Body: "x" }));
    const files = await fs.readdir(path.join(root, "s3", BUCKET));
    const metadata = files.find((f) => f.startsWith("torn") && f.endsWith("metadata.json"));
    expect(metadata, "the object's metadata file").to.be.a("string");
    // s3rver answered HEAD bucket by listing every object with its metadata: this made it a 500.
    await fs.writeFile(path.join(root, "s3", BUCKET, metadata as string), '{"content-type": "te');
    const head = await s3.send(new HeadBucketCommand({ Bucket: BUCKET }));
    expect(head.$metadata.httpStatusCode).to.equal(200);
    const missing = await s3.send(new HeadBucketCommand({ Bucket: "no-such-bucket" })).catch((e) => e);
    expect(missing.$metadata?.httpStatusCode).to.equal(404);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "torn" }));
  });

  it("never sends one version's bytes under another's headers while the object is replaced (over and under 1 MiB)", async () => {
    // Found by an attack helper: s3rver opened the file after reading its metadata, and a PUT's
    // rename in between sent the old version's ETag and Content-Length with the new bytes.
    for (const sizes of [
      [SYNC_READ_MAX_BYTES + 500_000, SYNC_READ_MAX_BYTES + 100_000],
      [3000, 1000],
    ]) {
      const versions = sizes.map((n, i) => Buffer.alloc(n, 97 + i));
      const md5s = versions.map((v) => createHash("md5").update(v).digest("hex"));
      const url = new URL(`${lab.server.endpoint}/${BUCKET}/racing`);
      const call = (method: string, body?: Buffer) =>
        new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer; error?: string }>((resolve) => {
          const req = http.request(
            { host: url.hostname, port: url.port, path: url.pathname, method, agent: false },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (c: Buffer) => chunks.push(c));
              res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
              res.on("error", (e) => resolve({ headers: res.headers, body: Buffer.concat(chunks), error: e.message }));
            },
          );
          req.on("error", (e) => resolve({ headers: {}, body: Buffer.alloc(0), error: e.message }));
          req.end(body);
        });
      await call("PUT", versions[0]);
      let putting = true;
      const putter = (async () => {
        for (let i = 1; putting; i++) await call("PUT", versions[i % 2]);
      })();
      const bad: string[] = [];
      const until = Date.now() + 2_000;
      await Promise.all(
        [0, 1].map(async () => {
          while (Date.now() < until) {
            const r = await call("GET");
            const etag = String(r.headers.etag ?? "").replace(/"/g, "");
            const md5 = createHash("md5").update(r.body).digest("hex");
            if (r.error || Number(r.headers["content-length"]) !== r.body.length || etag !== md5 || !md5s.includes(md5))
              bad.push(
                `${r.error ?? ""} length ${r.headers["content-length"]} body ${r.body.length} etag ${md5s.indexOf(etag)}`,
              );
          }
        }),
      );
      putting = false;
      await putter;
      expect(bad, `sizes ${sizes}`).to.deep.equal([]);
    }
  });

  it("streams a range larger than the synchronous limit", async () => {
    const { body } = await get("large", `bytes=0-${large.length - 1}`);
    expect(body.length).to.equal(large.length);
    expect(body.equals(large)).to.equal(true);
  });
});
