/**
 * Sends a file's bytes to a presigned upload (PUT of the body, or POST of a form) with
 * XMLHttpRequest, which (unlike fetch) reports upload progress.
 */
import type { PresignedUpload } from "./api";

export interface UploadProgress {
  loaded: number;
  total: number;
}

export interface UploadResult {
  /** The object's ETag as S3 answered it (unquoted), when the bucket's CORS exposes it. */
  etag?: string;
}

export class UploadError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "UploadError";
  }
}

/** S3 error bodies are XML: <Error><Code>..</Code><Message>..</Message></Error>. */
function s3Message(xhr: XMLHttpRequest): string {
  const text = typeof xhr.responseText === "string" ? xhr.responseText : "";
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  if (code || message) return [code, message].filter(Boolean).join(": ");
  return xhr.status ? `HTTP ${xhr.status}` : "the storage service could not be reached";
}

export function sendFile(
  file: Blob,
  target: PresignedUpload,
  onProgress: (p: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(target.method, target.url);
    let body: Blob | FormData;
    if (target.method === "PUT") {
      for (const [name, value] of Object.entries(target.headers)) {
        // The browser sets these itself and refuses them from scripts.
        if (/^(host|content-length)$/i.test(name)) continue;
        xhr.setRequestHeader(name, value);
      }
      body = file;
    } else {
      const form = new FormData();
      for (const [name, value] of Object.entries(target.fields)) form.append(name, value);
      form.append("file", file); // S3 ignores fields after the file: it goes last
      body = form;
    }
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress({ loaded: e.loaded, total: e.total });
    });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress({ loaded: file.size, total: file.size });
        const etag = xhr.getResponseHeader("etag")?.replace(/"/g, "") || undefined;
        resolve({ etag });
      } else {
        reject(new UploadError(`Upload refused: ${s3Message(xhr)}`, xhr.status));
      }
    });
    xhr.addEventListener("error", () => reject(new UploadError("Upload failed: network error", 0)));
    xhr.addEventListener("abort", () => reject(new UploadError("Upload cancelled", 0)));
    xhr.addEventListener("timeout", () => reject(new UploadError("Upload timed out", 0)));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}
