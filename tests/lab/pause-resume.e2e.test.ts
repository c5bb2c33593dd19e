/**
 * Pause and resume end to end through the local lab, with the same PipelineControl
 * contract the kill switch drives in the cloud: uploads made while paused wait in the
 * queue (untouched, across a restart) and are all processed after resume; nothing is lost.
 * Exercised through the lab's PipelineControl, the lab CLI over the admin endpoints, and
 * the kill switch's own handler fed a real AWS Budgets message.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { ADMIN_TOKEN_HEADER, labAdminTokenFile } from "../../lab/admin";
import { labAccessToken } from "../../lab/auth/sign-in";
import { makeLabS3Client } from "../../lab/clients";
import { type ControlCommand, controlCommand } from "../../lab/control-cli";
import { type Lab, labPaths, startLab } from "../../lab/lab";
import type { PauseResult, PipelineStatus } from "../../lib/pipeline-control";
import { REPO_ROOT } from "../../lib/repo-root";
import type { MetadataDocument } from "../../lib/schema";
import { sleep } from "../../lib/sleep";
import { budgetText } from "../../media/budget-events";
import { EXPECTED, ensureMedia, type MediaName } from "../../media/media";

const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
const MAIN = path.join(REPO_ROOT, "lab", "main.ts");

/** Mixed kinds: video (MP4 x2, Matroska, WebM), audio (MP3 with a big tag, FLAC), images (PNG, GIF). */
const GOOD: MediaName[] = [
  "mp4-moov-end",
  "mp4-fragmented",
  "mkv-two-audio",
  "webm-vp9-opus",
  "mp3-big-id3",
  "flac",
  "png",
  "gif",
];
/** An interrupted upload: ffprobe cannot read it. */
const CORRUPT: MediaName = "mp4-truncated";
const FIRST_AT = new Date("2026-03-14T06:15:00.000Z");

/** Runs the real CLI (`npm run lab -- ...`) in a child process. */
async function cli(args: string[]): Promise<{ code: number | null; output: string }> {
  const child: ChildProcess = spawn(TSX, [MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env } });
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, output };
}

/** The CLI's control commands in this process (same code path, captured output). */
async function control(command: ControlCommand, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await controlCommand(command, args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("lab pause and resume end to end", function () {
  this.timeout(180_000);
  let dir: string;
  let work: string;
  let lab: Lab;
  let s3: S3Client;
  let token = "";
  const media = new Map<MediaName, Buffer>();
  /** key -> ETag of what was uploaded while paused */
  const uploaded = new Map<string, { name: MediaName; etag: string }>();

  const keyOf = (name: MediaName) => `while-paused/${name}.${EXPECTED[name].ext}`;

  async function start(): Promise<Lab> {
    lab = await startLab({ dir, quiet: true, queue: { retryBackoff: { baseMs: 100 }, pollWaitMs: 200 } });
    token = await labAccessToken(lab.endpoints);
    s3?.destroy();
    s3 = makeLabS3Client(lab.endpoints.s3Endpoint);
    return lab;
  }

  async function put(key: string, body: Buffer): Promise<string> {
    const res = await s3.send(new PutObjectCommand({ Bucket: lab.endpoints.ingestBucket, Key: key, Body: body }));
    return (res.ETag ?? "").replace(/"/g, "");
  }

  async function getDocument(key: string): Promise<{ status: number; body: MetadataDocument }> {
    const url = `${lab.endpoints.apiUrl}/files/${key.split("/").map(encodeURIComponent).join("/")}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as MetadataDocument };
  }

  /** What the queue holds, by S3 event: object keys of ObjectCreated events, and the number of s3:TestEvents. */
  function queued(): { keys: string[]; testEvents: number; receiveCounts: number[] } {
    const keys: string[] = [];
    let testEvents = 0;
    for (const m of lab.queue.messages()) {
      const body = JSON.parse(m.body);
      if (body.Event === "s3:TestEvent") testEvents += 1;
      else keys.push(decodeURIComponent(body.Records[0].s3.object.key.replace(/\+/g, " ")));
    }
    return { keys: keys.sort(), testEvents, receiveCounts: lab.queue.messages().map((m) => m.receiveCount) };
  }

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-lab-pause-"));
    work = await fs.mkdtemp(path.join(os.tmpdir(), "mp-lab-pause-work-"));
    const names = [...GOOD, CORRUPT, "wav" as const];
    const files = await Promise.all(names.map((n) => ensureMedia(n)));
    for (const [i, n] of names.entries()) media.set(n, await fs.readFile(files[i]));
    await start();
  });
  after(async () => {
    s3?.destroy();
    await lab?.stop();
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(work, { recursive: true, force: true });
  });

  it("starts running: status says so, with an empty queue", async () => {
    await lab.worker.drained(10_000); // the s3:TestEvent of the start
    const status = await lab.control.status();
    expect(status.state).to.equal("running");
    expect(status.parts).to.have.length(1);
    expect(status.parts[0]).to.include({ name: "worker", paused: false });
    expect(status.queue).to.deep.equal({ visible: 0, inFlight: 0, deadLetter: 0 });
    expect(status).to.not.have.property("pausedAt");
  });

  it("pauses through the lab's PipelineControl; pausing again keeps the first time and reason", async () => {
    const first = await lab.control.pause("budget test: first pause", FIRST_AT);
    expect(first.alreadyPaused).to.equal(false);
    expect(first.changes).to.have.length(2);
    expect(first.status).to.deep.include({
      state: "paused",
      pausedAt: FIRST_AT,
      reason: "budget test: first pause",
    });
    expect(lab.worker.paused).to.equal(true);

    const second = await lab.control.pause("budget test: second pause", new Date());
    expect(second).to.deep.include({ alreadyPaused: true, changes: [] });
    expect(second.status).to.deep.include({ pausedAt: FIRST_AT, reason: "budget test: first pause" });
    expect(JSON.parse(await fs.readFile(labPaths(dir).pause, "utf8"))).to.deep.equal({
      pausedAt: FIRST_AT.toISOString(),
      reason: "budget test: first pause",
    });
  });

  it(`uploads made while paused wait: no documents, queue depth ${GOOD.length + 1}, nothing taken`, async () => {
    for (const name of [...GOOD, CORRUPT]) {
      const key = keyOf(name);
      uploaded.set(key, { name, etag: await put(key, media.get(name) as Buffer) });
    }
    await sleep(1_500); // several of the worker's poll intervals
    expect(queued()).to.deep.equal({
      keys: [...uploaded.keys()].sort(),
      testEvents: 0,
      receiveCounts: Array(GOOD.length + 1).fill(0), // never received: no step toward the DLQ
    });
    expect(lab.worker.busy).to.equal(0);
    const status = await lab.control.status();
    expect(status.state).to.equal("paused");
    expect(status.queue).to.deep.equal({ visible: GOOD.length + 1, inFlight: 0, deadLetter: 0 });
    for (const key of uploaded.keys()) expect((await getDocument(key)).status, key).to.equal(404);
  });

  it("a restarted lab is still paused and has lost nothing", async () => {
    await lab.stop();
    await start(); // no --paused: the recorded pause holds
    expect(lab.worker.paused).to.equal(true);
    const status = await lab.control.status();
    expect(status).to.deep.include({ state: "paused", pausedAt: FIRST_AT, reason: "budget test: first pause" });
    await sleep(1_000);
    // Every upload is still there, never received; the start added its own s3:TestEvent (as S3 sends one).
    const q = queued();
    expect(q.keys).to.deep.equal([...uploaded.keys()].sort());
    expect(q.testEvents).to.equal(1);
    expect(q.receiveCounts.every((n) => n === 0)).to.equal(true);
    expect((await lab.control.status()).queue).to.deep.equal({
      visible: GOOD.length + 2,
      inFlight: 0,
      deadLetter: 0,
    });
    for (const key of uploaded.keys()) expect((await getDocument(key)).status, key).to.equal(404);
  });

  it("the CLI reads the pause over the admin endpoints; a pause through it keeps the first reason", async () => {
    const status = await control("status", ["--dir", dir, "--json"]);
    expect(status.code, status.err).to.equal(0);
    expect(JSON.parse(status.out) as PipelineStatus).to.deep.include({
      state: "paused",
      pausedAt: FIRST_AT.toISOString(),
      reason: "budget test: first pause",
    });

    const pause = await control("pause", ["--dir", dir, "--reason", "by hand", "--json"]);
    expect(pause.code, pause.err).to.equal(0);
    const result = JSON.parse(pause.out) as PauseResult;
    expect(result).to.deep.include({ alreadyPaused: true, changes: [] });
    expect(result.status).to.deep.include({ reason: "budget test: first pause" });

    // The real command, in its own process.
    const real = await cli(["status", "--dir", dir]);
    expect(real.code, real.output).to.equal(0);
    expect(real.output).to.contain(`pipeline: PAUSED since ${FIRST_AT.toISOString()} (budget test: first pause)`);
    const depth = GOOD.length + 2; // the uploads and this start's s3:TestEvent
    expect(real.output).to.contain(`${depth} message(s) (${depth} waiting, 0 in flight), 0 in the dead-letter queue`);
  });

  it(`resume processes every upload: ${GOOD.length} ok documents and 1 unprocessable, nothing dead-lettered`, async () => {
    const result = await lab.control.resume();
    expect(result.wasRunning).to.equal(false);
    expect(result.status.state).to.equal("running");
    await lab.worker.drained(90_000);
    const outcomes: Record<string, string> = {};
    for (const [key, { name, etag }] of uploaded) {
      const { status, body } = await getDocument(key);
      expect(status, key).to.equal(200);
      expect(body.etag, key).to.equal(etag);
      outcomes[name] = body.status;
      if (name === CORRUPT) expect(body.reason, key).to.be.a("string").and.not.equal("");
    }
    expect(outcomes).to.deep.equal({
      ...Object.fromEntries(GOOD.map((n) => [n, "ok"])),
      [CORRUPT]: "unprocessable",
    });
    expect(lab.deadLetterQueue.messages()).to.deep.equal([]);
    expect((await lab.control.status()).queue).to.deep.equal({ visible: 0, inFlight: 0, deadLetter: 0 });
    await fs.access(labPaths(dir).pause).then(
      () => expect.fail("resume should remove the pause record"),
      () => undefined,
    );
  });

  it("a Budgets message through `budget-alert` pauses the lab as the kill switch pauses the cloud; `resume` catches up", async () => {
    const below = path.join(work, "below.txt");
    await fs.writeFile(below, budgetText({ name: "media-pipeline-lab", amount: "$80.00", threshold: "$80.00" }));
    const ignored = await control("budget-alert", ["--dir", dir, "--file", below]);
    expect(ignored.code, ignored.err).to.equal(0);
    expect(ignored.out).to.contain("kill switch: not pausing").and.contain("below the kill-switch threshold");
    expect(lab.worker.paused).to.equal(false);

    const over = path.join(work, "over.txt");
    await fs.writeFile(over, budgetText({ name: "media-pipeline-lab", amount: "$104.17" }));
    const paused = await control("budget-alert", ["--dir", dir, "--file", over]);
    expect(paused.code, paused.err).to.equal(0);
    expect(paused.out).to.contain("kill switch: paused");
    const status = await lab.control.status();
    expect(status.state).to.equal("paused");
    expect(status.reason).to.equal(
      'budget "media-pipeline-lab" ACTUAL at 104.17% of $100 reached the kill-switch threshold of 100%',
    );

    const key = "while-paused/after-budget-alert.wav";
    const etag = await put(key, media.get("wav") as Buffer);
    await sleep(1_000);
    expect((await getDocument(key)).status).to.equal(404);
    expect(queued()).to.deep.include({ keys: [key], receiveCounts: [0] });

    const resumed = await cli(["resume", "--dir", dir]);
    expect(resumed.code, resumed.output).to.equal(0);
    expect(resumed.output).to.contain("resumed: worker: taking batches").and.contain("pipeline: running");
    await lab.worker.drained(30_000);
    const doc = await getDocument(key);
    expect(doc.status).to.equal(200);
    expect(doc.body).to.include({ status: "ok", etag });
    expect(lab.deadLetterQueue.messages()).to.deep.equal([]);
  });

  it("admin endpoints need the lab's token (a user's JWT is not one) and refuse browsers", async () => {
    const base = `${lab.endpoints.apiUrl}/_lab`;
    const adminToken = (await fs.readFile(labAdminTokenFile(dir), "utf8")).trim();
    expect((await fs.stat(labAdminTokenFile(dir))).mode & 0o777).to.equal(0o600);

    expect((await fetch(`${base}/status`)).status).to.equal(401);
    expect(
      (await fetch(`${base}/pause`, { method: "POST", headers: { [ADMIN_TOKEN_HEADER]: "nope" } })).status,
    ).to.equal(401);
    // A valid user token for the API is no admin token.
    const withJwt = await fetch(`${base}/pause`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    expect(withJwt.status).to.equal(401);
    // Browsers: refused even with the token, preflights included, and never any CORS header.
    const fromPage = await fetch(`${base}/status`, {
      headers: { [ADMIN_TOKEN_HEADER]: adminToken, origin: lab.endpoints.apiUrl },
    });
    expect(fromPage.status).to.equal(403);
    expect(fromPage.headers.get("access-control-allow-origin")).to.equal(null);
    const preflight = await fetch(`${base}/pause`, {
      method: "OPTIONS",
      headers: { origin: lab.endpoints.apiUrl, "access-control-request-method": "POST" },
    });
    expect(preflight.status).to.equal(403);
    expect(preflight.headers.get("access-control-allow-origin")).to.equal(null);

    const headers = { [ADMIN_TOKEN_HEADER]: adminToken };
    expect((await fetch(`${base}/pause`, { headers })).status).to.equal(405);
    expect((await fetch(`${base}/nope`, { headers })).status).to.equal(404);
    const ok = await fetch(`${base}/status`, { headers });
    expect(ok.status).to.equal(200);
    expect(ok.headers.get("cache-control")).to.equal("no-store");
    expect(((await ok.json()) as PipelineStatus).state).to.equal("running");
    // Nothing changed: the API still answers its own routes.
    expect((await fetch(`${lab.endpoints.apiUrl}/health`)).status).to.equal(200);
  });

  it("without a running lab the CLI exits 3 (no lab) and names the folder (and says when it will start paused)", async () => {
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), "mp-lab-none-"));
    try {
      const none = await control("status", ["--dir", empty]);
      expect(none.code).to.equal(3);
      expect(none.err).to.contain(`no lab is running on ${empty}`);
    } finally {
      await fs.rm(empty, { recursive: true, force: true });
    }

    await lab.control.pause("paused before stopping", new Date());
    await lab.stop();
    const real = await cli(["resume", "--dir", dir]);
    expect(real.code, real.output).to.equal(3);
    expect(real.output).to.contain(`no lab is running on ${dir}`).and.contain("it will start paused");
  });
});
