/**
 * Soak phase 4: once the writers and the kills are done, wait for the lab to drain: the queue
 * empty and no batch running, twice in a row (or give up after `o.drainTimeoutMs`).
 */
import { sleep } from "../../lib/sleep";
import type { SoakRun } from "./start";

export async function drainQueue(run: SoakRun, drainStarted: number): Promise<{ drained: boolean; drainedAt: number }> {
  const { o, lab, uploads } = run;
  let drained = false;
  let quiet = 0;
  while (Date.now() - drainStarted < o.drainTimeoutMs) {
    run.lastStatus = (await lab.status()) ?? run.lastStatus;
    run.draw("draining");
    const lastStatus = run.lastStatus;
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
