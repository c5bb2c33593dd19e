/**
 * End to end through the local lab: objects put with a plain S3 client become documents
 * readable over HTTP, through AWS-shaped notifications, the persistent queue and the
 * extractor's real handler with the pinned ffprobe; everything survives a restart.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { expect } from "chai";
import type { FileList } from "../../handlers/api/routes";
import { labAccessToken } from "../../lab/auth/sign-in";
import { makeLabS3Client } from "../../lab/clients";
import { type Lab, type LabEndpoints, type LabOptions, labPaths, startLab } from "../../lab/lab";
import type { MetadataDocument } from "../../lib/schema";

const execFileAsync = promisify(execFile);
const FFMPEG = path.join(path.dirname(require.resolve("@ffmpeg-installer/linux-x64/package.json")), "ffmpeg");

/** A real WAV of `seconds` of sine tone, made with the npm ffmpeg. */
async function makeWav(dir: string, seconds: number): Promise<Buffer> {
  const file = path.join(dir, `sine-${seconds}.wav`);
  await execFileAsync(FFMPEG, [
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    `sine=d=${seconds}`,
    file,
  ]);
  return fs.readFile(file);
}

/** The lab user's access token for the running lab (the issuer's port changes with each start). */
let token = "";
const authorized = (): RequestInit => ({ headers: { authorization: `Bearer ${token}` } });

function fileUrl(apiUrl: string, key: string): string {
  return `${apiUrl}/files/${key.split("/").map(encodeURIComponent).join("/")}`;
}

async function getDocument(apiUrl: string, key: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(fileUrl(apiUrl, key), authorized());
  return { status: res.status, body: await res.json() };
}

/** Polls GET /files/{key} until `done` holds; returns the last response. */
async function waitFor(
  apiUrl: string,
  key: string,
  done: (r: { status: number; body: unknown }) => boolean,
  timeoutMs = 20_000,
): Promise<{ status: number; body: unknown }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await getDocument(apiUrl, key);
    if (done(r)) return r;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting on ${key}: last ${r.status} ${JSON.stringify(r.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const isDoc = (status: MetadataDocument["status"], etag?: string) => (r: { status: number; body: unknown }) =>
  r.status === 200 &&
  (r.body as MetadataDocument).status === status &&
  (etag === undefined || (r.body as MetadataDocument).etag === etag);

const unquote = (etag?: string) => etag?.replace(/"/g, "");

describe("local lab end to end", function () {
  this.timeout(120_000);
  let dir: string;
  let work: string;
  let lab: Lab;
  let s3: S3Client;
  let wav: Buffer;
  const options = (): LabOptions => ({
    dir,
    quiet: true,
    queue: { retryBackoff: { baseMs: 100 }, pollWaitMs: 200 },
  });

  async function start(extra: Partial<LabOptions> = {}): Promise<Lab> {
    lab = await startLab({ ...options(), ...extra });
    token = await labAccessToken(lab.endpoints);
    s3?.destroy();
    s3 = makeLabS3Client(lab.endpoints.s3Endpoint);
    return lab;
  }

  async function put(key: string, body: Buffer | string): Promise<string> {
    const res = await s3.send(new PutObjectCommand({ Bucket: lab.endpoints.ingestBucket, Key: key, Body: body }));
    return unquote(res.ETag) as string;
  }

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-lab-e2e-"));
    work = await fs.mkdtemp(path.join(os.tmpdir(), "mp-lab-media-"));
    wav = await makeWav(work, 1);
    await start();
  });
  after(async () => {
    s3?.destroy();
    await lab?.stop();
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(work, { recursive: true, force: true });
  });

  it("starts: writes endpoints.json, serves /health, and consumes the s3:TestEvent without dead-lettering it", async () => {
    const l = lab;
    const written = JSON.parse(await fs.readFile(labPaths(dir).endpoints, "utf8")) as LabEndpoints;
    expect(written).to.deep.equal(l.endpoints);
    expect(written).to.include({
      ingestBucket: "media-ingest",
      metadataBucket: "media-metadata",
      tableName: "media-metadata",
    });
    expect(written.credentials).to.deep.equal({ accessKeyId: "S3RVER", secretAccessKey: "S3RVER" });
    const health = await fetch(`${written.apiUrl}/health`);
    expect(health.status).to.equal(200);
    await l.worker.drained(10_000);
    expect(l.deadLetterQueue.messages()).to.deep.equal([]);
  });

  it("turns an uploaded WAV into an ok document, key with spaces, '+' and non-Latin characters included", async () => {
    const key = "e2e/a b+c 映像 ü.wav";
    const etag = await put(key, wav);
    const { body } = await waitFor(lab.endpoints.apiUrl, key, isDoc("ok"));
    const doc = body as MetadataDocument;
    expect(doc).to.include({ key, bucket: "media-ingest", size: wav.length, etag, kind: "audio" });
    expect(doc.container?.format).to.equal("wav");
    expect(doc.streams[0]).to.include({ kind: "audio", sampleRate: 44100 });
    // The full ffprobe output landed in the metadata bucket, gzip'd.
    expect(doc.raw?.bucket).to.equal("media-metadata");
    const raw = await s3.send(new GetObjectCommand({ Bucket: "media-metadata", Key: doc.raw?.key }));
    expect((await raw.Body?.transformToByteArray())?.length).to.equal(doc.raw?.bytes);
    // And it is listed, newest first.
    const list = (await (await fetch(`${lab.endpoints.apiUrl}/files?limit=5`, authorized())).json()) as FileList;
    expect(list.items.map((d) => d.key)).to.include(key);
  });

  it("records a corrupt file as unprocessable, with a reason", async () => {
    const key = "e2e/corrupt.mp4";
    await put(key, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)));
    const { body } = await waitFor(lab.endpoints.apiUrl, key, isDoc("unprocessable"));
    const doc = body as MetadataDocument;
    expect(doc.reason).to.be.a("string").and.not.equal("");
    const list = (await (
      await fetch(`${lab.endpoints.apiUrl}/files?status=unprocessable`, authorized())
    ).json()) as FileList;
    expect(list.items.map((d) => d.key)).to.include(key);
  });

  it("processes a multipart upload (as `aws s3 cp` sends large files)", async () => {
    const big = await makeWav(work, 65); // > 5 MiB: two parts
    const key = "e2e/multipart.wav";
    const bucket = lab.endpoints.ingestBucket;
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const cut = 5 * 1024 * 1024;
    const parts = [big.subarray(0, cut), big.subarray(cut)];
    const etags: string[] = [];
    for (const [i, part] of parts.entries()) {
      const res = await s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: i + 1, Body: part }),
      );
      etags.push(res.ETag as string);
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    const { body } = await waitFor(lab.endpoints.apiUrl, key, isDoc("ok"));
    expect((body as MetadataDocument).size).to.equal(big.length);
    expect((body as MetadataDocument).container?.durationSec).to.be.closeTo(65, 0.1);
  });

  it("replaces the document when an object is overwritten", async () => {
    const key = "e2e/overwritten.wav";
    const first = await put(key, wav);
    await waitFor(lab.endpoints.apiUrl, key, isDoc("ok", first));
    const second = await put(key, await makeWav(work, 2));
    const { body } = await waitFor(lab.endpoints.apiUrl, key, isDoc("ok", second));
    expect((body as MetadataDocument).container?.durationSec).to.be.closeTo(2, 0.05);
  });

  it("answers 404 once the object is deleted, and drops it from the list", async () => {
    const key = "e2e/deleted.wav";
    await put(key, wav);
    await waitFor(lab.endpoints.apiUrl, key, isDoc("ok"));
    await s3.send(new DeleteObjectCommand({ Bucket: lab.endpoints.ingestBucket, Key: key }));
    const gone = await waitFor(lab.endpoints.apiUrl, key, (r) => r.status === 404);
    expect(gone.body).to.include({ status: 404, type: "urn:media-pipeline:problem:not-found" });
    const list = (await (await fetch(`${lab.endpoints.apiUrl}/files?limit=100`, authorized())).json()) as FileList;
    expect(list.items.map((d) => d.key)).not.to.include(key);
  });

  it("removes every object of a DeleteObjects request (`aws s3 rm --recursive`)", async () => {
    const keys = ["e2e/rm/one.wav", "e2e/rm/two three.wav"];
    for (const key of keys) await put(key, wav);
    for (const key of keys) await waitFor(lab.endpoints.apiUrl, key, isDoc("ok"));
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: lab.endpoints.ingestBucket,
        Delete: { Objects: keys.map((Key) => ({ Key })) },
      }),
    );
    for (const key of keys) await waitFor(lab.endpoints.apiUrl, key, (r) => r.status === 404);
  });

  it("lets the lab's own origin upload from a browser (CORS preflight)", async () => {
    const origin = new URL(lab.endpoints.apiUrl).origin;
    const preflight = await fetch(`${lab.endpoints.s3Endpoint}/${lab.endpoints.ingestBucket}/from-browser.mp4`, {
      method: "OPTIONS",
      headers: {
        Origin: origin,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type",
      },
    });
    expect(preflight.status).to.equal(200);
    expect(preflight.headers.get("access-control-allow-methods")).to.contain("PUT");
    // The upload itself (anonymous, as with a presigned URL in s3rver) is answered for that origin.
    const upload = await fetch(`${lab.endpoints.s3Endpoint}/${lab.endpoints.ingestBucket}/e2e/from-browser.wav`, {
      method: "PUT",
      headers: { Origin: origin, "Content-Type": "audio/wav" },
      body: wav,
    });
    expect(upload.status).to.equal(200);
    expect(upload.headers.get("access-control-allow-origin")).to.equal(origin);
    await waitFor(lab.endpoints.apiUrl, "e2e/from-browser.wav", isDoc("ok"));
    const foreign = await fetch(`${lab.endpoints.s3Endpoint}/${lab.endpoints.ingestBucket}/x.mp4`, {
      method: "OPTIONS",
      headers: { Origin: "http://evil.example", "Access-Control-Request-Method": "PUT" },
    });
    expect(foreign.status).to.equal(403);
  });

  it("refuses a second lab on the same folder while one runs", async () => {
    let error: Error | undefined;
    try {
      await startLab({ dir, quiet: true });
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.match(/already running/);
    expect((await fetch(`${lab.endpoints.apiUrl}/health`)).status).to.equal(200);
  });

  it("keeps documents, objects and queued uploads across a restart; later changes still win", async () => {
    const kept = "e2e/a b+c 映像 ü.wav";
    const queuedKey = "e2e/queued while down.wav";
    await lab.worker.drained(20_000);
    await lab.stop();

    // Stopped lab: endpoints.json is gone.
    await fs.access(labPaths(dir).endpoints).then(
      () => expect.fail("endpoints.json should be removed on stop"),
      () => undefined,
    );

    // Paused: the upload is queued (and persisted) but not processed.
    await start({ paused: true });
    const queuedEtag = await put(queuedKey, wav);
    expect(lab.queue.counts().visible).to.be.greaterThan(0);
    expect((await getDocument(lab.endpoints.apiUrl, queuedKey)).status).to.equal(404);
    await lab.stop();

    await start();
    const before = await getDocument(lab.endpoints.apiUrl, kept);
    expect(before.status).to.equal(200);
    expect((before.body as MetadataDocument).key).to.equal(kept);
    const object = await s3.send(new GetObjectCommand({ Bucket: lab.endpoints.ingestBucket, Key: kept }));
    expect(Buffer.from((await object.Body?.transformToByteArray()) ?? [])).to.deep.equal(wav);
    await waitFor(lab.endpoints.apiUrl, queuedKey, isDoc("ok", queuedEtag));

    // The sequencer continued above the pre-restart ones: an overwrite now is not "older".
    const newer = await put(kept, await makeWav(work, 3));
    const { body } = await waitFor(lab.endpoints.apiUrl, kept, isDoc("ok", newer));
    expect((body as MetadataDocument).sequencer > (before.body as MetadataDocument).sequencer).to.equal(true);
    await lab.worker.drained(20_000);
    expect(lab.deadLetterQueue.messages()).to.deep.equal([]);
  });
});
