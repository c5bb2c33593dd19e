/**
 * Nothing is condemned for being slow (handlers/extractor/probe-deadline.ts): a probe killed at
 * its deadline while ffprobe got little CPU is the machine's fault and is retried with a longer
 * deadline; only one that used its CPU for the longest deadline makes the object unprocessable.
 */
import { expect } from "chai";
import { launch } from "../../handlers/extractor/ffprobe-launcher";
import { parseSchedstat } from "../../handlers/extractor/ffprobe-launcher-program";
import { judgeTimeout, probeDeadline } from "../../handlers/extractor/probe-deadline";
import { invocationDeadline } from "../../handlers/extractor/retry";

describe("probe deadlines", () => {
  it("doubles with each delivery up to 16x the configured timeout; a running probe is judged from 4x", () => {
    expect([1, 2, 3, 4, 5, 9].map((n) => probeDeadline(20_000, n).timeoutMs)).to.deep.equal([
      20_000, 40_000, 80_000, 160_000, 320_000, 320_000,
    ]);
    expect(probeDeadline(20_000, 1).maxTimeoutMs).to.equal(80_000);
  });

  it("never runs past the invocation's deadline", () => {
    const d = invocationDeadline.run(1_000_000 + 50_000, () => probeDeadline(20_000, 3, 1_000_000));
    expect(d).to.deep.equal({ timeoutMs: 50_000, maxTimeoutMs: 50_000 });
  });

  it("retries a probe starved of CPU, even at the longest deadline, saying the machine was busy", () => {
    const judged = judgeTimeout(
      { cpuMs: 3_000, waitMs: 40_000, ms: 80_000 },
      { timeoutMs: 80_000, maxTimeoutMs: 80_000 },
    );
    expect(judged.verdict).to.equal("retry");
    if (judged.verdict === "retry") {
      expect(judged.error.name).to.equal("TimeoutError"); // transient for errors.ts
      expect(judged.error.machineSlow).to.equal(true);
      expect(judged.error.message).to.contain("the machine was busy, not the object");
    }
  });

  it("retries a busy probe with a longer deadline while the deadline can still grow", () => {
    expect(judgeTimeout({ cpuMs: 19_000, ms: 20_000 }, { timeoutMs: 20_000, maxTimeoutMs: 80_000 }).verdict).to.equal(
      "retry",
    );
  });

  it("blames the object when ffprobe neither ran nor waited for a CPU (a hang on its input)", () => {
    expect(
      judgeTimeout({ cpuMs: 10, waitMs: 5, ms: 20_000 }, { timeoutMs: 20_000, maxTimeoutMs: 80_000 }),
    ).to.deep.equal({
      verdict: "object",
    });
  });

  it("blames the object only when ffprobe used its CPU for the longest deadline, and says so", () => {
    const judged = judgeTimeout({ cpuMs: 70_000, ms: 80_000 }, { timeoutMs: 80_000, maxTimeoutMs: 80_000 });
    expect(judged).to.deep.equal({
      verdict: "object",
      reason:
        "the object takes too long to probe: ffprobe used 70.0 s of CPU within the longest deadline (80 s) without finishing",
    });
  });

  it("reads a child's CPU time from /proc while it runs: a spinning child accrues it, a sleeping one does not", async function () {
    this.timeout(30_000);
    const child = (code: string) =>
      launch({
        file: process.execPath,
        args: ["-e", code],
        env: {},
        timeoutMs: 20_000,
        maxOutputBytes: 1024,
        stderrKeep: 1024,
      });
    const [spin, sleep] = await Promise.all([
      child("const t = Date.now() + 1500; while (Date.now() < t) {}"),
      child("setTimeout(() => {}, 1500)"),
    ]);
    expect(spin.exitCode).to.equal(0);
    expect(spin.cpuMs).to.be.greaterThan(sleep.cpuMs);
    expect(spin.cpuMs).to.be.greaterThan(100);
  });

  it("parses proc(5) schedstat: time on the CPU and waiting for one, ns to ms; anything else is unknown", () => {
    expect(parseSchedstat("1234567890 56000000 42\n")).to.deep.equal({ cpuMs: 1235, waitMs: 56 });
    expect(parseSchedstat("")).to.equal(undefined);
    expect(parseSchedstat("not numbers")).to.equal(undefined);
  });
});
