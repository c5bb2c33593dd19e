/**
 * The soak writers' PUT and DELETE: plain HTTP requests to the lab's S3, as a browser sends
 * an upload to a presigned URL (the lab's s3rver checks no signature; the key travels as one
 * escaped path segment, which lab/s3.ts decodes back to the whole key, slashes included).
 *
 * Why not the AWS SDK: its client cost the soak's process about 2 ms of CPU per request
 * (serialization, signing, middleware), 3-4 ms per document. Real uploaders spend that on
 * their own machines; here it came out of the two cores the pipeline is measured on.
 */
import * as http from "node:http";

export interface Uploader {
  /** Stores `body` under `key`; resolves with the object's ETag (unquoted). */
  put(key: string, body: Buffer): Promise<string>;
  remove(key: string): Promise<void>;
  close(): void;
}

/** A request the lab did not answer within this long fails (and is retried by the writer). */
const REQUEST_TIMEOUT_MS = 60_000;

export function plainHttpUploader(endpoint: string, bucket: string): Uploader {
  const url = new URL(endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

  function send(method: "PUT" | "DELETE", key: string, body?: Buffer): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method,
          path: `/${bucket}/${encodeURIComponent(key)}`,
          agent,
          timeout: REQUEST_TIMEOUT_MS,
          headers: body ? { "content-length": body.length, "content-type": "application/octet-stream" } : {},
        },
        (res) => {
          res.resume();
          res.on("error", reject);
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(res);
            else reject(new Error(`S3 answered ${method} with HTTP ${status}`));
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`S3 did not answer ${method} within ${REQUEST_TIMEOUT_MS} ms`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  return {
    async put(key, body) {
      const res = await send("PUT", key, body);
      return String(res.headers.etag ?? "").replace(/"/g, "");
    },
    async remove(key) {
      await send("DELETE", key);
    },
    close() {
      agent.destroy();
    },
  };
}
