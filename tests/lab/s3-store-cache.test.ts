/**
 * The lab S3's bucket state kept in memory (lab/s3-store-cache.ts): read once, never stale.
 * Unit tests count the store's reads; the end-to-end tests change CORS, website and bucket
 * state through a real S3 client and check that the next request sees each change.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketCorsCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { expect } from "chai";
import type { LabS3 } from "../../lab/s3";
import { type BucketStateStore, cacheBucketState } from "../../lab/s3-store-cache";
import { startTempLabS3, type TempLabS3 } from "../helpers/lab-s3";

/** A store whose reads are counted; hold() makes the next config read wait for the next change. */
function countingStore() {
  const state = { reads: 0, config: "old" as string | null, bucket: true };
  let gate: { wait: Promise<void>; open: () => void } | undefined;
  let held: Promise<void> | undefined;
  const changed = () => {
    gate?.open();
    gate = undefined;
  };
  const store: BucketStateStore & { hold(): void } = {
    hold() {
      let open = () => {};
      const wait = new Promise<void>((resolve) => {
        open = resolve;
      });
      gate = { wait, open };
      held = wait;
    },
    async getBucket() {
      state.reads += 1;
      return state.bucket ? { name: "b" } : null;
    },
    async putBucket() {
      state.bucket = true;
    },
    async deleteBucket() {
      state.bucket = false;
    },
    async getSubresource() {
      state.reads += 1;
      const seen = state.config;
      const wait = held;
      held = undefined;
      if (wait) await wait;
      return seen;
    },
    async putSubresource() {
      state.config = "new";
      changed();
    },
    async deleteSubresource() {
      state.config = null;
      changed();
    },
  };
  return { store, state };
}

describe("lab S3 bucket state cache", () => {
  it("reads a bucket's configuration and existence once, however many requests ask", async () => {
    const { store, state } = countingStore();
    cacheBucketState(store);
    for (let i = 0; i < 50; i++) {
      expect(await store.getSubresource("b", undefined, "cors")).to.equal("old");
      expect(await store.getBucket("b")).to.deep.equal({ name: "b" });
    }
    expect(state.reads).to.equal(2);
  });

  it("reads again after a change, and never keeps a read that raced the change", async () => {
    const { store, state } = countingStore();
    cacheBucketState(store);
    store.hold();
    const racing = store.getSubresource("b", undefined, "cors"); // reads "old", then waits
    await store.putSubresource("b", undefined, { type: "cors" }); // lets it finish
    expect(await racing).to.equal("old");
    expect(await store.getSubresource("b", undefined, "cors")).to.equal("new");
    await store.deleteSubresource("b", undefined, "cors");
    expect(await store.getSubresource("b", undefined, "cors")).to.equal(null);
    expect(state.reads).to.equal(3);
  });

  it("forgets a deleted bucket and its configuration", async () => {
    const { store } = countingStore();
    cacheBucketState(store);
    expect(await store.getBucket("b")).to.deep.equal({ name: "b" });
    await store.deleteBucket("b");
    expect(await store.getBucket("b")).to.equal(null);
    await store.putBucket("b");
    expect(await store.getBucket("b")).to.deep.equal({ name: "b" });
  });

  it("passes object-level subresources through uncached", async () => {
    const { store, state } = countingStore();
    cacheBucketState(store);
    await store.getSubresource("b", "k", "acl");
    await store.getSubresource("b", "k", "acl");
    expect(state.reads).to.equal(2);
  });

  describe("through the lab's S3", function () {
    this.timeout(60_000);
    let lab: TempLabS3;
    let root: string;
    let server: LabS3;
    let s3: S3Client;
    const origin = "https://dashboard.example";

    before(async () => {
      lab = await startTempLabS3("mp-s3-cache-", ["web"]);
      ({ root, server, s3 } = lab);
    });
    after(() => lab?.stop());

    const preflight = () =>
      fetch(`${server.endpoint}/web/a.txt`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "GET" },
      });

    it("answers a CORS preflight by the configuration of the moment", async () => {
      expect((await preflight()).status).to.equal(403); // no CORS configuration yet (read and kept)
      await s3.send(
        new PutBucketCorsCommand({
          Bucket: "web",
          CORSConfiguration: { CORSRules: [{ AllowedOrigins: [origin], AllowedMethods: ["GET"] }] },
        }),
      );
      const allowed = await preflight();
      expect(allowed.status).to.equal(200);
      expect(allowed.headers.get("access-control-allow-origin")).to.be.a("string");
      await s3.send(new DeleteBucketCorsCommand({ Bucket: "web" }));
      expect((await preflight()).status).to.equal(403);
    });

    it("reads the configuration once: a file changed behind the lab's back is not seen (it is the folder's only writer)", async () => {
      await s3.send(
        new PutBucketCorsCommand({
          Bucket: "web",
          CORSConfiguration: { CORSRules: [{ AllowedOrigins: [origin], AllowedMethods: ["GET"] }] },
        }),
      );
      expect((await preflight()).status).to.equal(200);
      const files = await fs.readdir(path.join(root, "s3"), { recursive: true });
      const corsFile = files.find((f) => f.includes("cors"));
      expect(corsFile, "the bucket's CORS file").to.be.a("string");
      await fs.rm(path.join(root, "s3", corsFile as string));
      expect((await preflight()).status).to.equal(200);
      await s3.send(new DeleteBucketCorsCommand({ Bucket: "web" }));
    });

    it("says NoSuchBucket as soon as a bucket is deleted, and serves it again once re-created", async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "gone" }));
      await s3.send(new PutObjectCommand({ Bucket: "gone", Key: "k", Body: "x" }));
      await s3.send(new DeleteObjectCommand({ Bucket: "gone", Key: "k" }));
      await s3.send(new HeadBucketCommand({ Bucket: "gone" }));
      await s3.send(new DeleteBucketCommand({ Bucket: "gone" }));
      const err = await s3.send(new PutObjectCommand({ Bucket: "gone", Key: "k", Body: "x" })).catch((e) => e);
      expect(err?.name).to.equal("NoSuchBucket");
      await s3.send(new CreateBucketCommand({ Bucket: "gone" }));
      await s3.send(new PutObjectCommand({ Bucket: "gone", Key: "k", Body: "x" }));
    });
  });
});
