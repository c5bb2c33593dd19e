/**
 * Busy processes that load the machine while the soak runs (`npm run soak -- --cpu-hog N`):
 * the condition the soak must pass under, since a guarantee that holds only on an idle
 * machine is not one. Each hog spins on the CPU in its own process and is bounded three
 * ways: stop() kills it, it exits by itself after `maxMs`, and it exits when its parent is
 * gone (its parent pid changes), so a crashed or killed soak leaves nothing spinning.
 */
import { type ChildProcess, spawn } from "node:child_process";

export interface CpuHog {
  readonly count: number;
  /** CPU seconds the hogs used (user + system), once stopped. */
  readonly cpuSeconds: number;
  stop(): Promise<void>;
}

/** The hog's own program: spin in slices, checking its bounds between them. */
function hogProgram(parentPid: number, maxMs: number): string {
  return `const end = Date.now() + ${maxMs};
const slice = () => {
  const until = Date.now() + 50;
  while (Date.now() < until) {}
  if (Date.now() > end || process.ppid !== ${parentPid}) process.exit(0);
  setImmediate(slice);
};
process.on("SIGTERM", () => process.exit(0));
slice();`;
}

export function startCpuHog(count: number, maxMs = 60 * 60_000): CpuHog {
  const children: ChildProcess[] = [];
  let cpuSeconds = 0;
  let stopping: Promise<void> | undefined;
  for (let i = 0; i < count; i++) {
    children.push(spawn(process.execPath, ["-e", hogProgram(process.pid, maxMs)], { stdio: "ignore", env: {} }));
  }
  const procStat = (pid: number | undefined): number => {
    try {
      // /proc/<pid>/stat fields 14 and 15: utime and stime in clock ticks (100 per second on Linux).
      const fields = require("node:fs").readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return 0;
    }
  };
  return {
    count,
    get cpuSeconds() {
      return cpuSeconds;
    },
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };
  async function stopAll(): Promise<void> {
    cpuSeconds = children.reduce((sum, c) => sum + procStat(c.pid), 0);
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.kill("SIGKILL");
          }),
      ),
    );
  }
}
