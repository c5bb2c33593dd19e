/**
 * The soak writers' plain-HTTP PUT and DELETE (lab/soak/uploader.ts) against the lab's S3:
 * every key arrives exactly (spaces, '+', non-ASCII, '%', empty segments, a leading slash),
 * the ETag is S3's, and a refusal or a lab that is gone rejects (the writer then retries).
 */
import { createHash } from "node:crypto";
import { GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import type { LabS3 } from "../../lab/s3";
import { plainHttpUploader } from "../../lab/soak/uploader";
import { startTempLabS3, type TempLabS3 } from "../helpers/lab-s3";

describe("soak uploader (plain HTTP PUT and DELETE)", function () {
  this.timeout(60_000);
  let server: LabS3;
  let s3: S3Client;

  let lab: TempLabS3;

  before(async () => {
    lab = await startTempLabS3("mp-uploader-", ["ingest"]);
    ({ server, s3 } = lab);
  });
  after(() => lab?.stop());

  it("stores each key exactly, with S3's ETag, and deletes it", async () => {
    const uploader = plainHttpUploader(server.endpoint, "ingest");
    try {
      for (const key of ["w1/clip 7 ü+wav.wav", "a%2Fb?c#d.mp4", "x//y.bin", "/lead.png", "hot/003.bin"]) {
        const body = Buffer.from(`bytes of ${key}`);
        const etag = await uploader.put(key, body);
        expect(etag).to.equal(createHash("md5").update(body).digest("hex"));
        const got = await s3.send(new GetObjectCommand({ Bucket: "ingest", Key: key }));
        expect(Buffer.from(await (got.Body?.transformToByteArray() ?? new Uint8Array())).equals(body), key).to.equal(
          true,
        );
        await uploader.remove(key);
        const gone = await s3.send(new HeadObjectCommand({ Bucket: "ingest", Key: key })).catch((e) => e);
        expect(gone?.$metadata?.httpStatusCode, key).to.equal(404);
      }
    } finally {
      uploader.close();
    }
  });

  it("rejects what S3 refuses, and a lab that does not answer", async () => {
    const noBucket = plainHttpUploader(server.endpoint, "no-such-bucket");
    const refused = await noBucket.put("k", Buffer.from("x")).catch((e: Error) => e);
    expect(String(refused)).to.match(/HTTP 404/);
    noBucket.close();
    const gone = plainHttpUploader("http://127.0.0.1:9", "ingest");
    const err = await gone.put("k", Buffer.from("x")).catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    gone.close();
  });
});
