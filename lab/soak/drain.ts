/**
 * Soak phase 4: once the writers and the kills are done, wait for the lab to drain: the queue
 * empty and no batch running, twice in a row.
 *
 * The soak gives up only when the lab stops making progress: when the backlog (messages
 * visible or in flight) has not shrunk for `o.drainTimeoutMs`. A fixed wall-clock limit would
 * fail a soak that is merely slow (a busy machine drains at a fraction of an idle one's rate,
 * issue 14), and a stuck lab still fails within the limit. `o.drainCeilingMs` bounds the
 * whole wait however slow the progress, from `drainStarted` (when the writers finished).
 */
import { sleep } from "../../lib/sleep";
import type { SoakRun } from "./start";

export type DrainRun = Pick<SoakRun, "o" | "lab" | "uploads" | "bar" | "lastStatus" | "draw">;

export async function drainQueue(
  run: DrainRun,
  drainStarted: number,
): Promise<{ drained: boolean; drainedAt: number }> {
  const { o, lab, uploads } = run;
  let drained = false;
  let quiet = 0;
  let smallest = Number.POSITIVE_INFINITY;
  // The no-progress clock starts now, not when the writers finished: the kills run until
  // before this, and on a busy machine they outlasted the whole limit (seed 505 at load 8 gave
  // up at its first poll with 1,262 messages left and shrinking).
  let progressAt = Date.now();
  while (Date.now() - progressAt < o.drainTimeoutMs && Date.now() - drainStarted < o.drainCeilingMs) {
    run.lastStatus = (await lab.status()) ?? run.lastStatus;
    run.draw("draining");
    const lastStatus = run.lastStatus;
    if (lastStatus) {
      const backlog = lastStatus.visible + lastStatus.inFlight;
      if (backlog < smallest) {
        smallest = backlog;
        progressAt = Date.now();
      }
    }
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
  run.bar?.finish({ done: uploads.puts, total: uploads.puts, detail: drained ? "drained" : "NOT drained" });
  return { drained, drainedAt };
}
