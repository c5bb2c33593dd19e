/**
 * The lab's backfill and reconcile, end to end on a running lab: after an extractor version
 * bump, a backfill re-processes every outdated document exactly once and skips the rest, and
 * a second run processes nothing; reconcile finds missing, stale, orphaned and outdated
 * documents on a crafted lab, and --enqueue repairs what it can.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { runLabBackfill } from "../../lab/backfill";
import { makeLabS3Client } from "../../lab/clients";
import { type Lab, labPaths, startLab } from "../../lab/lab";
import { REPO_ROOT } from "../../lib/repo-root";
import { EXTRACTOR_VERSION, METADATA_TABLE, type MetadataItem } from "../../lib/schema";
import { ensureMedia, type MediaName } from "../../media/media";
import { main as reconcileMain } from "../../tools/reconcile/main";
import type { ReconcileReport } from "../../tools/reconcile/reconcile";

const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");

/** Runs a CLI (tsx <script> args) to completion. */
function runCli(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(TSX, [path.join(REPO_ROOT, script), ...args], { cwd: REPO_ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `npm run reconcile` in this process; returns the exit code and the JSON report. */
async function reconcileJson(args: string[]): Promise<{ code: number; report: ReconcileReport; text: string }> {
  let text = "";
  const code = await reconcileMain([...args, "--json"], {
    out: (t) => {
      text += t;
    },
    err: (t) => {
      text += t;
    },
  });
  const json = text.slice(text.indexOf("{\n"));
  return { code, report: JSON.parse(json) as ReconcileReport, text };
}

describe("lab backfill and reconcile", function () {
  this.timeout(120_000);
  let dir: string;
  let lab: Lab;
  let s3: S3Client;
  let doc: DynamoDBDocumentClient;
  const FILES: [string, MediaName][] = [
    ["media/a.wav", "wav"],
    ["media/b.png", "png"],
    ["media/c.flac", "flac"],
    ["media/d.gif", "gif"],
    ["media/corrupt.mp4", "text-as-mp4"],
    ["other/e.wav", "wav"],
  ];
  const table = () => lab.endpoints.tableName;

  async function setItem(key: string, update: string, values: Record<string, unknown>): Promise<void> {
    await doc.send(
      new UpdateCommand({
        TableName: table(),
        Key: { objectKey: key },
        UpdateExpression: update,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async function scanAll(): Promise<MetadataItem[]> {
    const { ScanCommand } = await import("@aws-sdk/lib-dynamodb");
    const res = await doc.send(new ScanCommand({ TableName: table(), ConsistentRead: true }));
    return (res.Items ?? []) as MetadataItem[];
  }

  /** Lines the backfill's extractor logged for one object, per key. */
  async function backfillLogLines(): Promise<Map<string, number>> {
    const text = await fs.readFile(labPaths(dir).log, "utf8");
    const counts = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (!line.includes('"ObjectCreated:Backfill"') || !line.includes('"object processed"')) continue;
      const key = JSON.parse(line).key as string;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-lab-backfill-"));
    lab = await startLab({ dir, quiet: true, queue: { retryBackoff: { baseMs: 100 }, pollWaitMs: 200 } });
    s3 = makeLabS3Client(lab.endpoints.s3Endpoint);
    doc = DynamoDBDocumentClient.from(lab.dynamodb);
    for (const [key, media] of FILES) {
      await s3.send(
        new PutObjectCommand({
          Bucket: lab.endpoints.ingestBucket,
          Key: key,
          Body: await fs.readFile(await ensureMedia(media)),
        }),
      );
    }
    await lab.worker.drained(30_000);
  });
  after(async () => {
    s3?.destroy();
    await lab?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("after an extractor version bump, re-processes every outdated document once and skips the rest; a second run processes nothing", async () => {
    const outdated = ["media/a.wav", "media/b.png", "media/c.flac", "media/corrupt.mp4"];
    for (const key of outdated) await setItem(key, "SET extractorVersion = :v", { ":v": "0.9.0" });

    const first = await runLabBackfill({ dir });
    expect(first.startedLab).to.equal(false); // the running lab, through endpoints.json
    expect(first.summary).to.deep.include({
      listed: 6,
      processed: 3,
      unprocessable: 1, // the corrupt one is re-processed too, and is still unprocessable
      skipped: 2,
      changed: 0,
      failed: 0,
    });
    expect(first.summary.skippedBy).to.deep.equal({ "up-to-date": 2 });
    const items = new Map((await scanAll()).map((i) => [i.objectKey, i]));
    for (const [key] of FILES) expect(items.get(key)?.extractorVersion, key).to.equal(EXTRACTOR_VERSION);
    expect(items.get("media/corrupt.mp4")).to.include({ status: "unprocessable" });
    expect(Object.fromEntries(await backfillLogLines())).to.deep.equal(Object.fromEntries(outdated.map((k) => [k, 1])));

    const second = await runLabBackfill({ dir });
    expect(second.summary).to.deep.include({ listed: 6, processed: 0, unprocessable: 0, skipped: 6, failed: 0 });
    expect((await backfillLogLines()).size).to.equal(4); // nothing more was probed
  });

  it("with --only-outdated leaves missing documents alone; a plain backfill (with --prefix) creates them", async () => {
    await doc.send(new DeleteCommand({ TableName: table(), Key: { objectKey: "media/d.gif" } }));
    await setItem("media/a.wav", "SET extractorVersion = :v", { ":v": "1.0.0-rc.1" });
    const only = await runLabBackfill({ dir, onlyOutdated: true });
    expect(only.summary).to.deep.include({ processed: 1, skipped: 5 });
    expect(only.summary.skippedBy).to.deep.equal({ "up-to-date": 4, "not-outdated": 1 });
    const prefixed = await runLabBackfill({ dir, prefix: "media/", pageSize: 2, concurrency: 2 });
    expect(prefixed.summary).to.deep.include({ listed: 5, processed: 1, skipped: 4 });
  });

  it("npm run lab -- backfill: progress on stderr, summary on stdout, exit 0", async () => {
    await setItem("other/e.wav", "SET extractorVersion = :v", { ":v": "0.1.0" });
    const { code, stdout, stderr } = await runCli("lab/main.ts", ["backfill", "--dir", dir]);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(
      /^backfill: 6 listed: 1 processed, 0 unprocessable, 5 skipped \(5 up-to-date\), 0 changed meanwhile, 0 failed in [\d.]+ s\n$/,
    );
    expect(stderr).to.match(/backfill \[#+\] 6\/6/);
  });

  it("reconcile finds missing, stale, orphaned and outdated documents; --enqueue repairs the first three", async () => {
    expect((await reconcileJson(["--dir", dir])).code).to.equal(0);
    const pk = METADATA_TABLE.partitionKey.name;
    await doc.send(new DeleteCommand({ TableName: table(), Key: { [pk]: "media/a.wav" } })); // missing
    await setItem("media/b.png", "SET etag = :e", { ":e": "0123456789abcdef0123456789abcdef" }); // stale
    await setItem("media/c.flac", "SET extractorVersion = :v", { ":v": "0.5.0" }); // outdated
    const ghost = {
      ...(await scanAll()).find((i) => i.objectKey === "other/e.wav"),
      objectKey: "ghost.wav",
      key: "ghost.wav",
    };
    await doc.send(new PutCommand({ TableName: table(), Item: ghost })); // orphaned
    await doc.send(
      new PutCommand({
        TableName: table(),
        Item: { [pk]: "gone.wav", key: "gone.wav", deleted: true, sequencer: "0".repeat(64), processedAt: "x" },
      }),
    ); // a tombstone: not an orphan

    const { code, report } = await reconcileJson(["--dir", dir]);
    expect(code).to.equal(1);
    expect(report).to.deep.include({ objects: 6, documents: 6, tombstones: 1, inAgreement: 4, unprocessable: 1 });
    expect(report.missing.map((m) => m.key)).to.deep.equal(["media/a.wav"]);
    expect(report.stale.map((m) => m.key)).to.deep.equal(["media/b.png"]);
    expect(report.orphaned.map((m) => m.key)).to.deep.equal(["ghost.wav"]);
    expect(report.outdated.map((m) => m.key)).to.deep.equal(["media/c.flac"]);
    expect(report.unprocessableKeys).to.have.length(1);
    expect(report.unprocessableKeys[0].key).to.equal("media/corrupt.mp4");
    expect(report.unprocessableKeys[0].reason).to.match(/ffprobe could not read the object/);

    const text = await reconcileMain(["--dir", dir, "--prefix", "media/"], { out: () => {}, err: () => {} });
    expect(text).to.equal(1);

    const fixed = await reconcileJson(["--dir", dir, "--enqueue"]);
    expect(fixed.code).to.equal(0);
    expect(fixed.report).to.deep.include({ inAgreement: 6, documents: 6, tombstones: 2 });
    expect(fixed.report.missing).to.deep.equal([]);
    expect(fixed.report.stale).to.deep.equal([]);
    expect(fixed.report.orphaned).to.deep.equal([]);
    expect(fixed.report.outdated.map((m) => m.key)).to.deep.equal(["media/c.flac"]); // the backfill's job
  });

  it("reconcile needs a running lab (exit 3), and a backfill starts one when none runs", async () => {
    await lab.stop();
    const none = await reconcileMain(["--dir", dir], { out: () => {}, err: () => {} });
    expect(none).to.equal(3);
    const r = await runLabBackfill({ dir });
    expect(r.startedLab).to.equal(true);
    expect(r.summary).to.deep.include({ listed: 6, processed: 1, failed: 0 }); // c.flac, outdated since the previous test
    lab = await startLab({ dir, quiet: true });
  });
});
