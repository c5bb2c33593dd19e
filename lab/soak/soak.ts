/**
 * The soak test: the lab under load and faults, then the bucket reconciled against the table.
 *
 *   1. the lab runs in a child process (lab-process.ts) on a temp folder, its extractor
 *      behind fault-injecting proxies (fault-proxy.ts): DynamoDB throttling and 500s, S3
 *      read failures, stalls and cut connections;
 *   2. several concurrent writers upload generated files of mixed kinds and sizes
 *      (media.ts), including duplicates (same key, same bytes), overwrites (same key, new
 *      bytes), deletes, re-creations, corrupt files, and a few hot keys every writer races on;
 *      a request that fails (the lab is down) is retried until S3 acknowledges it;
 *   3. meanwhile the lab is SIGKILLed mid-batch and started again on the same folder (the
 *      queue and the S3 event journal are on disk: in-flight messages come back);
 *   4. once the queue is drained, the bucket is compared with the table
 *      (tools/reconcile/reconcile.ts) and every document with what was uploaded.
 *
 * It passes when no document is lost (an object without one), stale (another version),
 * duplicated (a key listed twice by the index the API reads), orphaned (a deleted object's
 * document still live) or of the wrong status (corrupt files unprocessable with a reason,
 * the others ok). Messages in the dead-letter queue are reported by key, with whether their
 * document is right anyway; a dead letter that left its document missing or stale counts as
 * lost or stale (it needs `npm run redrive`: nothing would bring it back by itself).
 */
import { type ChildProcess, fork } from "node:child_process";
import * as fs from "node:fs/promises";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { listObjectPages } from "../../handlers/backfill/listing";
import type { ObjectListing } from "../../handlers/backfill/select";
import { resolveLocalFfprobe } from "../../handlers/extractor/ffprobe";
import { parseS3Notification } from "../../handlers/extractor/s3-event";
import { listPartitionValues, listShardsFromEnv } from "../../lib/list-index";
import { ProgressBar } from "../../lib/progress";
import { METADATA_TABLE } from "../../lib/schema";
import { sleep } from "../../lib/sleep";
import { compareListings, scanTable, type TableItem } from "../../tools/reconcile/reconcile";
import { makeLabDynamoClient, makeLabS3Client } from "../clients";
import type { LabEndpoints } from "../lab";
import { type CpuHog, startCpuHog } from "./cpu-hog";
import {
  emptyFaultCounts,
  type FaultCounts,
  type FaultProxy,
  type FaultRates,
  seededRandom,
  startDynamoFaultProxy,
  startS3FaultProxy,
} from "./fault-proxy";
import type { ChildMessage, ParentMessage, SoakLabConfig, SoakLabStatus } from "./lab-process";
import { SoakMedia } from "./media";

export interface SoakOptions {
  /** Files to upload (PUTs: new keys, overwrites, duplicates); deletes come on top. */
  files: number;
  writers: number;
  /** Stop uploading after this many seconds even if `files` is not reached. */
  seconds?: number;
  /** SIGKILL + restart of the lab, spread over the run. */
  kills: number;
  /** Keys every writer races on (PUT and DELETE). */
  hotKeys: number;
  faults: FaultRates;
  seed: number;
  /** Longest generated WAV, seconds (the largest files: about 1.7 MB at 44.1 kHz stereo for 10 s). */
  maxWavSeconds: number;
  /** Lab folder (default: a new temp folder, removed at the end unless `keep`). */
  dir?: string;
  keep?: boolean;
  /** Give up waiting for the queue to drain after this long. */
  drainTimeoutMs: number;
  /** How long the lab stays down after a kill. */
  downtimeMs: number;
  /**
   * Queue settings of the soak's lab: maxReceiveCount 5 as the stack's queue; a failed message
   * comes back after 2 s, 4 s, 8 s, 16 s (on AWS: the whole visibility timeout, minutes; shorter
   * here, but still longer than a fault burst); 4 batches at once (the lab's default is 2;
   * Lambda would scale out further).
   */
  queue: SoakLabConfig["queue"];
  /** Busy processes loading the machine for the whole run (cpu-hog.ts); 0: none. */
  cpuHog: number;
  progress?: NodeJS.WriteStream;
}

export const DEFAULT_FAULTS: FaultRates = {
  dynamoThrottle: 0.08,
  dynamo5xx: 0.03,
  s3Errors: 0.04,
  s3Stalls: 0.02,
  s3Resets: 0.02,
  stallMs: 2_500,
  s3LongStalls: 0.002,
  longStallMs: 12_000,
  burstEveryMs: 20_000,
  burstMs: 2_000,
};

export const DEFAULT_SOAK: SoakOptions = {
  files: 3000,
  writers: 8,
  kills: 3,
  hotKeys: 16,
  faults: DEFAULT_FAULTS,
  seed: 1,
  maxWavSeconds: 10,
  drainTimeoutMs: 10 * 60_000,
  downtimeMs: 500,
  queue: { visibilityTimeoutMs: 30_000, maxReceiveCount: 5, retryBaseMs: 2_000, concurrency: 4 },
  cpuHog: 0,
};

export interface SoakReport {
  passed: boolean;
  seed: number;
  dir: string;
  writers: number;
  /** Busy processes that ran alongside, and the CPU seconds they took. */
  cpuHog: { processes: number; cpuSeconds: number };
  uploads: {
    puts: number;
    newKeys: number;
    overwrites: number;
    duplicates: number;
    recreated: number;
    deletes: number;
    hotPuts: number;
    hotDeletes: number;
    corrupt: number;
    bytes: number;
    /** Writer requests that failed (mostly while the lab was down) and were retried. */
    writerRetries: number;
    kinds: Record<string, number>;
  };
  timing: {
    uploadSeconds: number;
    drainSeconds: number;
    totalSeconds: number;
    uploadsPerSecond: number;
    documentsPerSecond: number;
  };
  faults: FaultCounts & { kills: number /** Kills while a batch was being handled. */; killsMidBatch: number };
  pipeline: {
    /** Extractor log lines "object processed", by outcome. */
    outcomes: Record<string, number>;
    /** Extractor failures sent back to the queue (transient and other). */
    retriedFailures: number;
    /** S3 changes replayed from the event journal after a kill. */
    drained: boolean;
    queueLeft: number;
  };
  result: {
    objects: number;
    documents: number;
    tombstones: number;
    ok: number;
    unprocessable: number;
    lost: string[];
    stale: string[];
    duplicated: string[];
    orphaned: string[];
    wrongStatus: { key: string; expected: string; got: string }[];
    unprocessableWithoutReason: string[];
    /** Keys whose messages are in the dead-letter queue. */
    deadLettered: string[];
    /**
     * Per dead-lettered message: its key, deliveries, the extractor's last error for the key, and
     * whether the key's document is right anyway (a later event of the key fixed it).
     */
    deadLetterDetails: { key: string; receiveCount: number; lastError?: string; documentRight: boolean }[];
    /** Writer-owned keys whose bucket state differs from the writer's last acknowledged request (a stand-in fault). */
    writerMismatch: string[];
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The lab child: start, SIGKILL, status, clean stop. */
class LabChild {
  private child?: ChildProcess;
  private stderr = "";
  private pending = new Map<string, (m: ChildMessage) => void>();
  private requests = 0;

  constructor(private readonly config: SoakLabConfig) {}

  async start(): Promise<LabEndpoints> {
    const child = fork(path.join(__dirname, "lab-process.ts"), [JSON.stringify(this.config)], {
      cwd: path.resolve(__dirname, "..", ".."),
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    this.child = child;
    child.stderr?.on("data", (d) => {
      this.stderr = (this.stderr + d).slice(-8_000);
    });
    child.on("message", (m: ChildMessage) => {
      const id = m.type === "status" ? `status-${m.id}` : m.type;
      const waiter = this.pending.get(id);
      if (waiter) {
        this.pending.delete(id);
        waiter(m);
      }
    });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`the soak lab exited (${code}) before it was ready:\n${this.stderr}`));
      child.once("exit", onExit);
      this.pending.set("error", (m) =>
        reject(new Error(`the soak lab failed to start: ${(m as { message: string }).message}`)),
      );
      this.pending.set("ready", (m) => {
        child.off("exit", onExit);
        this.pending.delete("error");
        resolve((m as { endpoints: LabEndpoints }).endpoints);
      });
    });
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    for (const waiter of this.pending.values()) waiter({ type: "error", message: "killed" });
    this.pending.clear();
  }

  status(timeoutMs = 5_000): Promise<SoakLabStatus | undefined> {
    const child = this.child;
    if (!child?.connected) return Promise.resolve(undefined);
    const id = ++this.requests;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(`status-${id}`);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(`status-${id}`, (m) => {
        clearTimeout(timer);
        resolve(m.type === "status" ? m.status : undefined);
      });
      child.send({ type: "status", id } satisfies ParentMessage);
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    if (child.connected) child.send({ type: "stop" } satisfies ParentMessage);
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(timer);
  }
}

interface OwnedKey {
  etag?: string;
  deleted: boolean;
}

/** What a run holds open, for the clean-up when it stops on an error. */
interface Held {
  lab?: LabChild;
  proxies: FaultProxy[];
  hog?: CpuHog;
}

/** Runs one soak (see the file header) and returns its report; never throws for a failed check. */
export async function runSoak(input: Partial<SoakOptions> = {}): Promise<SoakReport> {
  const o: SoakOptions = { ...DEFAULT_SOAK, ...input, faults: { ...DEFAULT_SOAK.faults, ...input.faults } };
  const dir = o.dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), "mp-soak-")));
  const held: Held = { proxies: [] };
  try {
    return await soakIn(dir, o, held);
  } catch (err) {
    await held.lab?.kill();
    for (const p of held.proxies) await p.close().catch(() => undefined);
    throw err;
  } finally {
    await held.hog?.stop();
    if (!o.keep && !o.dir) await fs.rm(dir, { recursive: true, force: true });
  }
}

async function soakIn(dir: string, o: SoakOptions, held: Held): Promise<SoakReport> {
  const started = Date.now();
  if (o.cpuHog > 0) held.hog = startCpuHog(o.cpuHog);
  const [s3Port, dynamodbPort] = [await freePort(), await freePort()];
  const counts = emptyFaultCounts();
  const faultRandom = seededRandom(o.seed * 7919 + 17);
  const proxies = held.proxies;
  const media = await SoakMedia.create({ maxWavSeconds: o.maxWavSeconds });
  await media.verify(await resolveLocalFfprobe(), seededRandom(o.seed + 1));

  const dynamoProxy = await startDynamoFaultProxy(`http://127.0.0.1:${dynamodbPort}`, o.faults, counts, faultRandom);
  proxies.push(dynamoProxy);
  const s3Proxy = await startS3FaultProxy(`http://127.0.0.1:${s3Port}`, o.faults, counts, faultRandom);
  proxies.push(s3Proxy);
  const lab = new LabChild({
    dir,
    s3Port,
    dynamodbPort,
    extractorS3: s3Proxy.url,
    extractorDynamodb: dynamoProxy.url,
    queue: o.queue,
  });
  held.lab = lab;
  const s3Endpoint = `http://127.0.0.1:${s3Port}`;
  const endpoints = await lab.start();
  const bucket = endpoints.ingestBucket;
  // The writers retry by themselves (and count it): a request to a killed lab fails fast.
  const s3: S3Client = makeLabS3Client(s3Endpoint, { maxAttempts: 1 });

  const uploads: SoakReport["uploads"] = {
    puts: 0,
    newKeys: 0,
    overwrites: 0,
    duplicates: 0,
    recreated: 0,
    deletes: 0,
    hotPuts: 0,
    hotDeletes: 0,
    corrupt: 0,
    bytes: 0,
    writerRetries: 0,
    kinds: {},
  };
  let kills = 0;
  let slots = 0; // PUTs handed out
  let deadline = Number.POSITIVE_INFINITY; // set when the uploads start
  const owned = new Map<string, OwnedKey>();
  let lastStatus: SoakLabStatus | undefined;

  const bar = o.progress ? new ProgressBar("soak", o.progress) : undefined;
  const draw = (phase: string, force = false) =>
    bar?.update(
      {
        done: uploads.puts,
        total: Math.min(o.files, Number.MAX_SAFE_INTEGER) >= Number.MAX_SAFE_INTEGER ? uploads.puts : o.files,
        detail: `${phase}; queue ${lastStatus ? lastStatus.visible + lastStatus.inFlight : "?"}; kills ${kills}; faults ddb ${counts.dynamoThrottles}+${counts.dynamo5xxBefore + counts.dynamo5xxAfter} s3 ${counts.s3Errors}+${counts.s3Stalls}+${counts.s3Resets}`,
      },
      force,
    );

  async function untilAcknowledged<T>(op: () => Promise<T>): Promise<T> {
    const giveUp = Date.now() + 5 * 60_000;
    for (;;) {
      try {
        return await op();
      } catch (err) {
        if (Date.now() > giveUp) throw err;
        uploads.writerRetries += 1;
        await sleep(100 + Math.random() * 300);
      }
    }
  }

  async function put(key: string, body: Buffer): Promise<string> {
    const res = await untilAcknowledged(() => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })));
    uploads.puts += 1;
    uploads.bytes += body.length;
    draw("uploading");
    return (res.ETag ?? "").replace(/"/g, "");
  }

  async function remove(key: string): Promise<void> {
    await untilAcknowledged(() => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
    uploads.deletes += 1;
  }

  async function writer(w: number): Promise<void> {
    const random = seededRandom(o.seed * 1000 + w);
    const mine: string[] = [];
    const recent: { key: string; body: Buffer }[] = [];
    let seq = 0;
    const pickMine = (deleted: boolean) => {
      const candidates = mine.filter((k) => owned.get(k)?.deleted === deleted);
      return candidates.length > 0 ? candidates[Math.floor(random() * candidates.length)] : undefined;
    };
    const file = () => {
      const f = media.next(random);
      uploads.kinds[f.kind] = (uploads.kinds[f.kind] ?? 0) + 1;
      if (f.expect === "unprocessable") uploads.corrupt += 1;
      return f;
    };
    while (Date.now() < deadline) {
      const r = random();
      if (r < 0.08 && o.hotKeys > 0) {
        const key = `hot/${String(Math.floor(random() * o.hotKeys)).padStart(3, "0")}.bin`;
        if (random() < 0.25) {
          await remove(key);
          uploads.hotDeletes += 1;
        } else {
          if (slots++ >= o.files) break;
          await put(key, file().body);
          uploads.hotPuts += 1;
        }
        continue;
      }
      if (r < 0.16) {
        const key = pickMine(false);
        if (key) {
          await remove(key);
          owned.set(key, { deleted: true });
          continue;
        }
      } else if (r < 0.28) {
        const key = pickMine(false);
        if (key) {
          if (slots++ >= o.files) break;
          const f = file();
          owned.set(key, { etag: await put(key, f.body), deleted: false });
          recent.push({ key, body: f.body });
          uploads.overwrites += 1;
          continue;
        }
      } else if (r < 0.34) {
        const last = recent.filter((x) => owned.get(x.key)?.deleted === false).at(-1);
        if (last) {
          if (slots++ >= o.files) break;
          // Same key, same bytes: a second event for the same version.
          const etag = await put(last.key, last.body);
          owned.set(last.key, { etag, deleted: false });
          uploads.duplicates += 1;
          continue;
        }
      } else if (r < 0.38) {
        const key = pickMine(true);
        if (key) {
          if (slots++ >= o.files) break;
          owned.set(key, { etag: await put(key, file().body), deleted: false });
          uploads.recreated += 1;
          continue;
        }
      }
      if (slots++ >= o.files) break;
      const f = file();
      seq += 1;
      // Some keys need S3's event encoding (spaces, '+', non-ASCII).
      const name = seq % 7 === 0 ? `clip ${seq} ü+${f.kind}` : `${String(seq).padStart(5, "0")}-${f.kind}`;
      const key = `w${w}/${name}.${f.ext}`;
      owned.set(key, { etag: await put(key, f.body), deleted: false });
      mine.push(key);
      recent.push({ key, body: f.body });
      if (recent.length > 4) recent.shift();
      uploads.newKeys += 1;
    }
  }

  let writersDone = false;
  let killsMidBatch = 0;
  const byTime = !Number.isFinite(o.files) || o.files >= Number.MAX_SAFE_INTEGER;
  /**
   * The first kill halfway through the uploads (writers see the lab go down, S3 changes may
   * be cut between the store and the queue); the others spread over the processing, which
   * lasts much longer: kill i at (i-1)/K of the work.
   */
  async function killer(): Promise<void> {
    for (let i = 1; i <= o.kills; i++) {
      for (;;) {
        lastStatus = (await lab.status()) ?? lastStatus;
        const queued = lastStatus ? lastStatus.visible + lastStatus.inFlight : 0;
        const processed = uploads.puts + uploads.deletes - queued;
        const due = byTime
          ? Date.now() >= uploadStarted + ((o.seconds ?? 0) * 1000 * i) / (o.kills + 1)
          : i === 1
            ? uploads.puts >= o.files / 2
            : processed >= (o.files * (i - 1)) / o.kills;
        // Never let the run end with kills left: once uploads are over, kill while work remains.
        const lastChance = writersDone && queued <= 20;
        if (due || lastChance) break;
        await sleep(200);
      }
      // Mid-batch: wait (briefly) until the worker is busy.
      for (let tries = 0; tries < 40 && (lastStatus?.busy ?? 0) === 0; tries++) {
        await sleep(50);
        lastStatus = (await lab.status()) ?? lastStatus;
      }
      if ((lastStatus?.busy ?? 0) > 0) killsMidBatch += 1;
      await lab.kill();
      kills += 1;
      draw("lab killed", true);
      await sleep(o.downtimeMs);
      await lab.start();
    }
  }

  const uploadStarted = Date.now();
  if (o.seconds) deadline = uploadStarted + o.seconds * 1000;
  const killing = killer();
  await Promise.all(Array.from({ length: o.writers }, (_, w) => writer(w)));
  writersDone = true;
  const uploadSeconds = (Date.now() - uploadStarted) / 1000;
  const drainStarted = Date.now();
  await killing;

  // Drain: the queue empty and no batch running, twice in a row.
  let drained = false;
  let quiet = 0;
  while (Date.now() - drainStarted < o.drainTimeoutMs) {
    lastStatus = (await lab.status()) ?? lastStatus;
    draw("draining");
    if (lastStatus && lastStatus.visible + lastStatus.inFlight === 0 && lastStatus.busy === 0) {
      quiet += 1;
      if (quiet >= 2) {
        drained = true;
        break;
      }
    } else {
      quiet = 0;
    }
    await sleep(250);
  }
  const drainedAt = Date.now();
  bar?.finish({ done: uploads.puts, total: uploads.puts, detail: drained ? "drained" : "NOT drained" });

  // Reconcile, straight at the stand-ins (no proxies).
  const dynamodb = makeLabDynamoClient(`http://127.0.0.1:${dynamodbPort}`);
  const objects: ObjectListing[] = [];
  for await (const page of listObjectPages(s3, bucket)) objects.push(...page);
  const items: TableItem[] = [];
  for await (const page of scanTable(dynamodb, endpoints.tableName, { consistent: true })) items.push(...page);
  const report = compareListings(objects, items);
  const listed = new Map<string, number>();
  const doc = DynamoDBDocumentClient.from(dynamodb);
  const index = METADATA_TABLE.listIndex;
  for (const value of listPartitionValues(listShardsFromEnv())) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: endpoints.tableName,
          IndexName: index.name,
          KeyConditionExpression: "#p = :p",
          ExpressionAttributeNames: { "#p": index.partitionKey.name },
          ExpressionAttributeValues: { ":p": value },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const key = String(item[METADATA_TABLE.partitionKey.name]);
        listed.set(key, (listed.get(key) ?? 0) + 1);
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  const finalStatus = (await lab.status()) ?? lastStatus;
  const deadLettered = new Set<string>();
  const deadLetterCounts = new Map<string, number>();
  for (const m of finalStatus?.deadLetters ?? []) {
    try {
      for (const change of parseS3Notification(m.body)) {
        deadLettered.add(change.key);
        deadLetterCounts.set(change.key, Math.max(deadLetterCounts.get(change.key) ?? 0, m.receiveCount));
      }
    } catch {
      deadLettered.add(`(malformed message ${m.messageId})`);
    }
  }
  await lab.stop();
  await held.hog?.stop();
  s3.destroy();
  dynamodb.destroy();
  for (const p of proxies) await p.close();

  const itemsByKey = new Map(items.map((i) => [i.key, i]));
  const liveKeys = new Set(items.filter((i) => !i.deleted).map((i) => i.key));
  const objectEtags = new Map(objects.map((x) => [x.key, x.etag]));
  const wrongStatus: SoakReport["result"]["wrongStatus"] = [];
  const unprocessableWithoutReason: string[] = [];
  for (const [key, etag] of objectEtags) {
    const item = itemsByKey.get(key);
    if (!item || item.deleted || item.etag !== etag) continue;
    const expected = media.expectedByEtag.get(etag) ?? "unknown";
    if (item.status !== expected) wrongStatus.push({ key, expected, got: item.status ?? "none" });
    if (item.status === "unprocessable" && !item.reason) unprocessableWithoutReason.push(key);
  }
  const duplicated = [
    ...[...listed].filter(([, n]) => n > 1).map(([k]) => k),
    ...[...listed.keys()].filter((k) => !liveKeys.has(k)),
  ];
  const writerMismatch: string[] = [];
  for (const [key, want] of owned) {
    const got = objectEtags.get(key);
    if (want.deleted ? got !== undefined : got !== want.etag) writerMismatch.push(key);
  }

  const logText = await fs.readFile(path.join(dir, "logs", "pipeline.jsonl"), "utf8").catch(() => "");
  const outcomes: Record<string, number> = {};
  let retriedFailures = 0;
  const lastError = new Map<string, string>();
  for (const line of logText.split("\n")) {
    if (!line.includes('"message"')) continue;
    if (line.includes('"object processed"')) {
      const outcome = /"outcome":"([^"]+)"/.exec(line)?.[1] ?? "?";
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    } else if (line.includes("will retry")) {
      retriedFailures += 1;
      try {
        const entry = JSON.parse(line) as { key?: string; error?: unknown };
        if (entry.key && deadLettered.has(entry.key)) {
          lastError.set(entry.key, typeof entry.error === "string" ? entry.error : JSON.stringify(entry.error));
        }
      } catch {
        // a torn last line (the kill)
      }
    }
  }
  const wrongKeys = new Set([...report.missing, ...report.stale, ...report.orphaned].map((x) => x.key));
  const documentsWritten = (outcomes.ok ?? 0) + (outcomes.unprocessable ?? 0) + (outcomes.removed ?? 0);

  const result: SoakReport["result"] = {
    objects: report.objects,
    documents: report.documents,
    tombstones: report.tombstones,
    ok: report.ok,
    unprocessable: report.unprocessable,
    lost: report.missing.map((m) => m.key),
    stale: report.stale.map((m) => m.key),
    duplicated,
    orphaned: report.orphaned.map((m) => m.key),
    wrongStatus,
    unprocessableWithoutReason,
    deadLettered: [...deadLettered].sort(),
    deadLetterDetails: [...deadLettered].sort().map((key) => ({
      key,
      receiveCount: deadLetterCounts.get(key) ?? 0,
      ...(lastError.has(key) ? { lastError: lastError.get(key) } : {}),
      documentRight: !wrongKeys.has(key),
    })),
    writerMismatch,
  };
  const passed =
    drained &&
    result.lost.length === 0 &&
    result.stale.length === 0 &&
    result.duplicated.length === 0 &&
    result.orphaned.length === 0 &&
    result.wrongStatus.length === 0 &&
    result.unprocessableWithoutReason.length === 0 &&
    result.writerMismatch.length === 0;
  const totalSeconds = (Date.now() - started) / 1000;
  const pipelineSeconds = (drainedAt - uploadStarted) / 1000;
  return {
    passed,
    seed: o.seed,
    dir,
    writers: o.writers,
    cpuHog: { processes: o.cpuHog, cpuSeconds: round(held.hog?.cpuSeconds ?? 0) },
    uploads,
    timing: {
      uploadSeconds: round(uploadSeconds),
      drainSeconds: round((drainedAt - drainStarted) / 1000),
      totalSeconds: round(totalSeconds),
      uploadsPerSecond: round(uploads.puts / uploadSeconds),
      documentsPerSecond: round(documentsWritten / pipelineSeconds),
    },
    faults: { ...counts, kills, killsMidBatch },
    pipeline: {
      outcomes,
      retriedFailures,
      drained,
      queueLeft: (finalStatus?.visible ?? 0) + (finalStatus?.inFlight ?? 0),
    },
    result,
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function list(keys: string[], limit = 10): string {
  if (keys.length === 0) return "";
  return `: ${keys.slice(0, limit).join(", ")}${keys.length > limit ? ` ... (+${keys.length - limit})` : ""}`;
}

export function formatSoakReport(r: SoakReport): string {
  const u = r.uploads;
  const f = r.faults;
  const res = r.result;
  const mib = (u.bytes / 1048576).toFixed(1);
  return [
    `soak ${r.passed ? "PASSED" : "FAILED"} (seed ${r.seed}, ${r.writers} writers${r.cpuHog.processes ? `, ${r.cpuHog.processes} CPU hogs (${r.cpuHog.cpuSeconds} CPU s)` : ""}${r.dir ? `, lab ${r.dir}` : ""})`,
    `uploads    ${u.puts} PUTs (${mib} MiB): ${u.newKeys} new keys, ${u.overwrites} overwrites, ${u.duplicates} duplicates, ${u.recreated} re-created; ` +
      `${u.deletes} deletes; hot keys ${u.hotPuts} PUTs / ${u.hotDeletes} deletes; ${u.corrupt} corrupt; ${u.writerRetries} writer retries`,
    `kinds      ${Object.entries(u.kinds)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}`,
    `timing     uploads ${r.timing.uploadSeconds} s (${r.timing.uploadsPerSecond}/s), drain ${r.timing.drainSeconds} s, total ${r.timing.totalSeconds} s; ` +
      `${r.timing.documentsPerSecond} documents/s written end to end`,
    `faults     lab kills ${f.kills} (${f.killsMidBatch} mid-batch); DynamoDB ${f.dynamoRequests} requests: ${f.dynamoThrottles} throttled, ${f.dynamo5xxBefore + f.dynamo5xxAfter} 500s ` +
      `(${f.dynamo5xxAfter} after the write applied); S3 ${f.s3RangedGets} ranged GETs: ${f.s3Errors} 5xx, ${f.s3Stalls} stalls, ${f.s3LongStalls} long stalls, ${f.s3Resets} cut; ` +
      `bursts ${f.dynamoBursts} DynamoDB / ${f.s3Bursts} S3; ${f.upstreamDown} requests hit a down lab`,
    `pipeline   outcomes ${Object.entries(r.pipeline.outcomes)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}; ${r.pipeline.retriedFailures} failures sent back to the queue; ` +
      `${r.pipeline.drained ? "queue drained" : `queue NOT drained (${r.pipeline.queueLeft} left)`}`,
    `table      ${res.objects} objects, ${res.documents} documents (${res.ok} ok, ${res.unprocessable} unprocessable), ${res.tombstones} tombstones`,
    `lost ${res.lost.length}${list(res.lost)}`,
    `duplicated ${res.duplicated.length}${list(res.duplicated)}`,
    `stale ${res.stale.length}${list(res.stale)}`,
    `orphaned ${res.orphaned.length}${list(res.orphaned)}`,
    `wrong status ${res.wrongStatus.length}${list(res.wrongStatus.map((w) => `${w.key} (${w.got}, expected ${w.expected})`))}`,
    `unprocessable without reason ${res.unprocessableWithoutReason.length}${list(res.unprocessableWithoutReason)}`,
    `dead-lettered ${res.deadLettered.length}${res.deadLettered.length ? ` (${res.deadLetterDetails.filter((d) => !d.documentRight).length} of them left their document missing or stale)` : ""}`,
    ...res.deadLetterDetails.map(
      (d) =>
        `  ${d.key}: ${d.receiveCount} deliveries; document ${d.documentRight ? "right anyway (a later event)" : "MISSING or STALE"}${d.lastError ? `; last error ${d.lastError.slice(0, 200)}` : ""}`,
    ),
    `writer/bucket mismatches ${res.writerMismatch.length}${list(res.writerMismatch)}`,
    "",
  ].join("\n");
}
