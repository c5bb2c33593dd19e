/**
 * Keys are opaque strings in S3 (lab/s3-keys.ts): the lab stores and announces each hostile
 * key exactly, as its own object, or refuses it with S3's error before anything is written,
 * and never writes outside its folder. Driven through a real S3 client and raw HTTP.
 */
import * as fs from "node:fs/promises";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { expect } from "chai";
import { parseS3Notification } from "../../handlers/extractor/s3-event";
import { makeLabS3Client } from "../../lab/clients";
import { type LabS3, startLabS3 } from "../../lab/s3";
import { keyToPath, pathToKey } from "../../lab/s3-keys";
import { SequencerClock } from "../../lab/sequencer";

const BUCKET = "ingest";

/** Every file under `dir`, relative, posix. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

function rawPut(endpoint: string, urlPath: string): Promise<{ status: number; body: string }> {
  const u = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method: "PUT", path: urlPath, headers: { "content-length": 5 } },
      (res) => {
        let body = "";
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end("evil!");
  });
}

describe("lab S3 keys", function () {
  this.timeout(60_000);
  let root: string; // tmp/<root>/lab/s3 is the S3 folder; nothing may appear beside it
  let server: LabS3;
  let s3: S3Client;
  const delivered: string[] = [];

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "mp-s3-keys-"));
    server = await startLabS3({
      directory: path.join(root, "lab", "s3"),
      host: "127.0.0.1",
      port: 0,
      notifications: {
        buckets: [BUCKET],
        sequencer: SequencerClock.open(path.join(root, "lab", "seq.json")),
        deliver: async (body) => {
          delivered.push(body);
        },
      },
    });
    s3 = makeLabS3Client(server.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(async () => {
    s3.destroy();
    await server.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it("maps keys to paths and back exactly", () => {
    for (const key of [
      "a.mp4",
      "clips/a b+ü.mp4",
      "a/../b",
      "./x",
      "..",
      "a//b",
      "a/",
      "/lead",
      "%2E%2E%2F%2E%2E%2Fetc",
      "x._S3rver_object",
      "nul\0byte",
      "é".repeat(300),
      `${"d/".repeat(200)}z`,
    ]) {
      const p = keyToPath(key);
      expect(pathToKey(p), key).to.equal(key);
      for (const part of p.split("/")) {
        expect(part, key).not.to.be.oneOf([".", ".."]);
        expect(Buffer.byteLength(part), key).to.be.at.most(200);
      }
    }
    expect(keyToPath("clips/a b+ü.mp4")).to.equal("clips/a b+ü.mp4"); // old lab folders read as before
  });

  it("stores, lists and announces hostile keys as distinct objects, all inside its folder", async () => {
    const keys = [
      "b",
      "a/../b",
      "./b",
      "../b",
      "../../outside",
      "x/./b",
      "a//b",
      "a/b",
      "/lead",
      "a/",
      "%2E%2E%2Fescaped",
      "..%2F..%2Fescaped",
      "b._S3rver_object",
      "k".repeat(1024),
      `${"é".repeat(500)}z`, // 1,001 bytes in one segment
      `deep/${"s/".repeat(300)}end`,
    ];
    delivered.length = 0;
    for (const [i, key] of keys.entries()) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `body ${i}` }));
    }
    for (const [i, key] of keys.entries()) {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      expect(await got.Body?.transformToString(), key).to.equal(`body ${i}`);
    }
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token, MaxKeys: 4 }));
      listed.push(...(page.Contents ?? []).map((c) => c.Key ?? ""));
      token = page.NextContinuationToken;
    } while (token);
    const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(listed).to.deep.equal(byBytes);
    const announced = delivered.flatMap((b) => parseS3Notification(b).map((c) => c.key));
    expect(announced).to.deep.equal(keys);

    // Nothing outside <root>/lab/s3 (the sequencer file sits beside it by this test's choice).
    expect(await fs.readdir(root)).to.deep.equal(["lab"]);
    expect((await fs.readdir(path.join(root, "lab"))).sort()).to.deep.equal(["s3", "seq.json"]);
    const files = await tree(path.join(root, "lab", "s3"));
    expect(files.every((f) => f.startsWith(`${BUCKET}/`))).to.equal(true);

    // Deleting them removes their folders again, and only theirs (s3rver's clean-up walked the
    // raw key: `a/../b` removed the bucket's own folder, `../../outside` folders beside it).
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "keep/me", Body: "kept" }));
    for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    const after = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect(after.Contents?.map((c) => c.Key)).to.deep.equal(["keep/me"]);
    expect(await tree(path.join(root, "lab", "s3"))).to.deep.equal(
      ["keep/me._S3rver_metadata.json", "keep/me._S3rver_object", "keep/me._S3rver_object.md5"].map(
        (f) => `${BUCKET}/${f}`,
      ),
    );
    expect((await fs.readdir(path.join(root, "lab"))).sort()).to.deep.equal(["s3", "seq.json"]);
  });

  it("refuses a key over 1,024 bytes with KeyTooLongError before writing anything", async () => {
    const before = await tree(root);
    const err = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "k".repeat(1025), Body: "x" })).then(
      () => undefined,
      (e: Error & { $metadata?: { httpStatusCode?: number } }) => e,
    );
    expect(err?.name).to.equal("KeyTooLongError");
    expect(err?.$metadata?.httpStatusCode).to.equal(400);
    expect(await tree(root)).to.deep.equal(before);
  });

  it("refuses a bucket name that is a path (raw HTTP) with an S3 error and writes nothing", async () => {
    const before = await tree(root);
    for (const p of ["/%2E%2E/escape", "/%2E%2E%2F%2E%2E/escape", "/..%2Fx/escape"]) {
      const res = await rawPut(server.endpoint, p);
      expect(res.status, p).to.be.within(400, 499);
      expect(res.body, p).to.match(/<Code>[A-Za-z]+<\/Code>/);
    }
    expect(await tree(root)).to.deep.equal(before);
    expect(await fs.readdir(root)).to.deep.equal(["lab"]);
  });
});
