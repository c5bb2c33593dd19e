/**
 * The soak test: the lab under load and faults, then the bucket reconciled against the table.
 *
 *   1. start.ts: the lab runs in a child process (lab-child.ts, lab-process.ts) on a temp
 *      folder, its extractor behind fault-injecting proxies (fault-proxy.ts): DynamoDB
 *      throttling and 500s, S3 read failures, stalls and cut connections;
 *   2. upload.ts: several concurrent writers upload generated files of mixed kinds and sizes
 *      (media.ts), including duplicates (same key, same bytes), overwrites (same key, new
 *      bytes), deletes, re-creations, corrupt files, and a few hot keys every writer races on;
 *      a request that fails (the lab is down) is retried until S3 acknowledges it;
 *   3. kills.ts: meanwhile the lab is SIGKILLed mid-batch and started again on the same folder
 *      (the queue and the S3 event journal are on disk: in-flight messages come back);
 *   4. drain.ts: the queue drains;
 *   5. verify.ts: the bucket is compared with the table (tools/reconcile/reconcile.ts) and
 *      every document with what was uploaded; report.ts prints the verdict.
 *
 * It passes when no document is lost (an object without one), stale (another version),
 * duplicated (a key listed twice by the index the API reads), orphaned (a deleted object's
 * document still live) or of the wrong status (corrupt files unprocessable with a reason,
 * the others ok). Messages in the dead-letter queue are reported by key, with whether their
 * document is right anyway; a dead letter that left its document missing or stale counts as
 * lost or stale (it needs `npm run redrive`: nothing would bring it back by itself).
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { drainQueue } from "./drain";
import { killAndRestart } from "./kills";
import { DEFAULT_SOAK, type SoakOptions, type SoakReport } from "./options";
import { type Held, startSoakLab } from "./start";
import { uploadWithWriters } from "./upload";
import { verifySoak } from "./verify";

export { DEFAULT_FAULTS, DEFAULT_SOAK, type SoakOptions, type SoakReport } from "./options";
export { formatSoakReport } from "./report";

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

/** The phases, in order; the kills run alongside the writers. */
async function soakIn(dir: string, o: SoakOptions, held: Held): Promise<SoakReport> {
  const run = await startSoakLab(dir, o, held);
  run.uploadStarted = Date.now();
  if (o.seconds) run.deadline = run.uploadStarted + o.seconds * 1000;
  const killing = killAndRestart(run);
  await uploadWithWriters(run);
  run.writersDone = true;
  const uploadSeconds = (Date.now() - run.uploadStarted) / 1000;
  const drainStarted = Date.now();
  await killing;
  const { drained, drainedAt } = await drainQueue(run, drainStarted);
  return verifySoak(run, { uploadSeconds, drainStarted, drainedAt, drained });
}
