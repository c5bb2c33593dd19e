/**
 * Soak phase 3, alongside the writers: the lab is SIGKILLed mid-batch `o.kills` times and
 * started again on the same folder (the queue and the S3 event journal are on disk: in-flight
 * messages come back).
 */
import { sleep } from "../../lib/sleep";
import type { SoakRun } from "./start";

/**
 * The first kill halfway through the uploads (writers see the lab go down, S3 changes may
 * be cut between the store and the queue); the others spread over the processing, which
 * lasts much longer: kill i at (i-1)/K of the work.
 */
export async function killAndRestart(run: SoakRun): Promise<void> {
  const { o, lab, uploads } = run;
  const byTime = !Number.isFinite(o.files) || o.files >= Number.MAX_SAFE_INTEGER;
  for (let i = 1; i <= o.kills; i++) {
    for (;;) {
      run.lastStatus = (await lab.status()) ?? run.lastStatus;
      const queued = run.lastStatus ? run.lastStatus.visible + run.lastStatus.inFlight : 0;
      const processed = uploads.puts + uploads.deletes - queued;
      const due = byTime
        ? Date.now() >= run.uploadStarted + ((o.seconds ?? 0) * 1000 * i) / (o.kills + 1)
        : i === 1
          ? uploads.puts >= o.files / 2
          : processed >= (o.files * (i - 1)) / o.kills;
      // Never let the run end with kills left: once uploads are over, kill while work remains.
      const lastChance = run.writersDone && queued <= 20;
      if (due || lastChance) break;
      await sleep(200);
    }
    // Mid-batch: wait (briefly) until the worker is busy.
    for (let tries = 0; tries < 40 && (run.lastStatus?.busy ?? 0) === 0; tries++) {
      await sleep(50);
      run.lastStatus = (await lab.status()) ?? run.lastStatus;
    }
    if ((run.lastStatus?.busy ?? 0) > 0) run.killsMidBatch += 1;
    await lab.kill();
    run.kills += 1;
    run.draw("lab killed", true);
    await sleep(o.downtimeMs);
    await lab.start();
  }
}
