/**
 * The soak's drain phase (lab/soak/drain.ts) waits as long as the lab makes progress: a slow
 * drain on a busy machine is not a failure, a stuck one is.
 */
import { expect } from "chai";
import { type DrainRun, drainQueue } from "../../lab/soak/drain";
import { DEFAULT_SOAK } from "../../lab/soak/options";

/** A lab whose backlog follows `backlog(call)`, polled every 250 ms by the drain. */
function fakeRun(backlog: (call: number) => number, limits: { drainTimeoutMs: number; drainCeilingMs: number }) {
  let calls = 0;
  const run = {
    o: { ...DEFAULT_SOAK, ...limits },
    lab: {
      status: async () => {
        const left = backlog(calls++);
        return { visible: left, inFlight: 0, busy: 0 };
      },
    },
    uploads: { puts: 0 },
    draw: () => {},
  } as unknown as DrainRun;
  return { run, calls: () => calls };
}

describe("soak drain (lab/soak/drain.ts)", function () {
  this.timeout(30_000);

  it("keeps waiting while the backlog shrinks, however long the whole drain takes", async () => {
    // One message leaves every other poll (about 0.5 s each): 4 s in all, far past the 1.2 s limit.
    const { run } = fakeRun((call) => Math.max(0, 8 - Math.floor(call / 2)), {
      drainTimeoutMs: 1_200,
      drainCeilingMs: 60_000,
    });
    const started = Date.now();
    const { drained } = await drainQueue(run, started);
    expect(drained).to.equal(true);
    expect(Date.now() - started).to.be.above(1_200);
  });

  it("gives up when the backlog stops shrinking", async () => {
    const { run } = fakeRun((call) => Math.max(3, 8 - call), { drainTimeoutMs: 1_000, drainCeilingMs: 60_000 });
    const { drained } = await drainQueue(run, Date.now());
    expect(drained).to.equal(false);
  });

  it("gives up at the ceiling even while the backlog still shrinks", async () => {
    const { run } = fakeRun((call) => 10_000 - call, { drainTimeoutMs: 5_000, drainCeilingMs: 1_500 });
    const started = Date.now();
    const { drained } = await drainQueue(run, started);
    expect(drained).to.equal(false);
    expect(Date.now() - started).to.be.below(5_000);
  });

  it("starts its no-progress clock when it starts watching: kills that outlast the limit do not fail a draining lab", async () => {
    // Seed 505 at load 8: the writers finished at 60 s, the third kill came at 880 s, and the
    // drain, measured from 60 s, gave up at once with 1,262 messages left and shrinking.
    const { run, calls } = fakeRun((call) => Math.max(0, 4 - call), { drainTimeoutMs: 1_000, drainCeilingMs: 60_000 });
    const { drained } = await drainQueue(run, Date.now() - 5_000);
    expect(drained).to.equal(true);
    expect(calls()).to.be.above(1);
  });
});
