/**
 * The raw ffprobe JSON's gzip (handlers/extractor/store.ts): small output is compressed on the
 * calling thread, large output in libuv's pool; both are the same gzip stream a reader inflates.
 */
import { randomBytes } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { expect } from "chai";
import { GZIP_ON_THREAD_BYTES, gzipRaw } from "../../handlers/extractor/store";

describe("raw JSON gzip", () => {
  it("round-trips output below, at and above the on-thread limit", async () => {
    for (const size of [0, 2_000, GZIP_ON_THREAD_BYTES, GZIP_ON_THREAD_BYTES + 1, 3 * GZIP_ON_THREAD_BYTES]) {
      const json = Buffer.from(
        JSON.stringify({ pad: randomBytes(size).toString("base64") }).slice(0, Math.max(2, size)),
      );
      const gz = await gzipRaw(json);
      expect(gz.subarray(0, 2).toString("hex"), `size ${size}`).to.equal("1f8b");
      expect(gunzipSync(gz).equals(json), `size ${size}`).to.equal(true);
    }
  });
});
