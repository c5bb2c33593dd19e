/**
 * ListObjectsV2 on the lab's S3 (lab/s3-list.ts): pages through any number of keys with
 * continuation tokens (s3rver's own tokens need DES, which OpenSSL 3 lacks), with prefix,
 * delimiter, start-after and URL encoding as S3 answers them.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { makeLabS3Client } from "../../lab/clients";
import { type LabS3, startLabS3 } from "../../lab/s3";
import { decodeContinuationToken, encodeContinuationToken } from "../../lab/s3-list";
import { SequencerClock } from "../../lab/sequencer";

describe("lab S3 ListObjectsV2", function () {
  this.timeout(60_000);
  let dir: string;
  let s3server: LabS3;
  let s3: S3Client;
  const KEYS = [
    "a/1.wav",
    "a/2 two.wav",
    "a/3+three.wav",
    "a/sub/4.wav",
    "a/映像.mp4",
    "b/5.wav",
    "c<&>.wav",
    ...Array.from({ length: 23 }, (_, i) => `many/${String(i).padStart(3, "0")}`),
  ];

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-s3-list-"));
    s3server = await startLabS3({
      directory: dir,
      host: "127.0.0.1",
      port: 0,
      notifications: { buckets: [], sequencer: SequencerClock.open(), deliver: async () => {} },
    });
    s3 = makeLabS3Client(s3server.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: "list-test" }));
    for (const Key of KEYS) await s3.send(new PutObjectCommand({ Bucket: "list-test", Key, Body: Key }));
  });
  after(async () => {
    s3?.destroy();
    await s3server?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function listAll(input: { Prefix?: string; Delimiter?: string; MaxKeys?: number; StartAfter?: string }) {
    const keys: string[] = [];
    const prefixes: string[] = [];
    let pages = 0;
    let token: string | undefined;
    do {
      const res = await s3.send(new ListObjectsV2Command({ Bucket: "list-test", ContinuationToken: token, ...input }));
      pages += 1;
      keys.push(...(res.Contents ?? []).map((c) => c.Key as string));
      prefixes.push(...(res.CommonPrefixes ?? []).map((c) => c.Prefix as string));
      if (res.IsTruncated) expect(res.NextContinuationToken).to.be.a("string");
      token = res.NextContinuationToken;
    } while (token);
    return { keys, prefixes, pages };
  }

  it("pages through every key in order, with ETag, size and date", async () => {
    const all = await listAll({ MaxKeys: 4 });
    expect(all.keys).to.deep.equal([...KEYS].sort());
    expect(all.pages).to.equal(Math.ceil(KEYS.length / 4));
    const first = await s3.send(new ListObjectsV2Command({ Bucket: "list-test", MaxKeys: 1 }));
    expect(first).to.include({ KeyCount: 1, MaxKeys: 1, IsTruncated: true });
    const c = first.Contents?.[0];
    expect(c?.ETag).to.match(/^"[0-9a-f]{32}"$/);
    expect(c?.Size).to.equal(Buffer.byteLength("a/1.wav"));
    expect(c?.LastModified).to.be.instanceOf(Date);
  });

  it("honours prefix, delimiter and start-after", async () => {
    expect((await listAll({ Prefix: "a/", MaxKeys: 2 })).keys).to.deep.equal(
      KEYS.filter((k) => k.startsWith("a/")).sort(),
    );
    const top = await listAll({ Delimiter: "/" });
    expect(top.keys).to.deep.equal(["c<&>.wav"]);
    expect(top.prefixes).to.deep.equal(["a/", "b/", "many/"]);
    expect((await listAll({ Prefix: "many/", StartAfter: "many/020" })).keys).to.deep.equal(["many/021", "many/022"]);
  });

  it("answers an unknown bucket with NoSuchBucket and a foreign token with InvalidArgument", async () => {
    const missing = await s3.send(new ListObjectsV2Command({ Bucket: "no-such-bucket" })).catch((e) => e);
    expect(missing.name).to.equal("NoSuchBucket");
    const bad = await s3
      .send(new ListObjectsV2Command({ Bucket: "list-test", ContinuationToken: "bm90LW91cnM" }))
      .catch((e) => e);
    expect(bad.name).to.equal("InvalidArgument");
    expect(decodeContinuationToken(encodeContinuationToken("x/y z"))).to.equal("x/y z");
  });
});
