import type { SQSEvent } from "aws-lambda";
import { expect } from "chai";
import { environmentPool, perEnvironmentHandler } from "../../lab/environments";
import { LabQueue } from "../../lab/queue";
import { QueueWorker } from "../../lab/worker";

/** A message body per record, so batches can be told apart. */
function bodies(event: SQSEvent): string[] {
  return event.Records.map((r) => r.body);
}

describe("lab environments (one per concurrent batch, as Lambda's execution environments)", () => {
  it("gives overlapping runs different environments and reuses an idle one", async () => {
    let created = 0;
    const pool = environmentPool((index) => {
      created += 1;
      return { index };
    });
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = pool.run(async (env) => {
      await held;
      return env.index;
    });
    const second = await pool.run(async (env) => env.index);
    release();
    expect(await first).to.equal(0);
    expect(second).to.equal(1);
    // Both idle now: a later run is a warm start, no third environment.
    expect(await pool.run(async (env) => env.index)).to.be.oneOf([0, 1]);
    expect(created).to.equal(2);
  });

  it("lets a worker of concurrency N run N batches in N environments at once", async () => {
    const queue = await LabQueue.open({ name: "env-test" });
    for (let i = 0; i < 6; i++) await queue.send(`m${i}`);
    const concurrency = 3;
    let inside = 0;
    let mostInside = 0;
    const seen = new Set<number>();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const pool = environmentPool((index) => ({
      async handleBatch(event: SQSEvent) {
        seen.add(index);
        inside += 1;
        mostInside = Math.max(mostInside, inside);
        // Hold every batch until all environments are busy at once.
        if (mostInside >= concurrency) release();
        await gate;
        inside -= 1;
        expect(bodies(event)).to.have.length(2);
        return { batchItemFailures: [] };
      },
    }));
    const worker = new QueueWorker({
      queue,
      handler: perEnvironmentHandler(pool),
      batchSize: 2,
      concurrency,
      pollWaitMs: 50,
    });
    worker.start();
    await worker.drained(30_000);
    await worker.stop();
    await queue.close();
    expect(mostInside).to.equal(concurrency);
    expect(pool.all).to.have.length(concurrency);
    expect(seen.size).to.equal(concurrency);
  });
});
