/**
 * Peak resident memory of the ffprobe a probe starts: while it runs, /proc/<pid>/status
 * VmHWM (the kernel's high-water mark of the process's RSS) is sampled every ~10 ms.
 * VmHWM only grows, so the last sample before ffprobe exits is its peak up to then (at
 * most one interval short of the end). The process is found as a child of this process
 * whose name is "ffprobe", so the code under test needs no hook.
 */
import { readdirSync, readFileSync } from "node:fs";

function readStat(pid: number): { comm: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const ppid = Number(stat.slice(close + 2).split(" ")[1]);
    return { comm, ppid };
  } catch {
    return undefined;
  }
}

function vmHwmBytes(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface PeakSampler {
  /** Stops sampling; the highest VmHWM seen over all matching children, bytes (0 if none was seen). */
  stop(): { peakBytes: number; samples: number; pids: number[] };
}

/** Starts sampling the VmHWM of this process's children named `name`. */
export function samplePeakRss(name = "ffprobe", intervalMs = 10): PeakSampler {
  const tracked = new Map<number, number>();
  let samples = 0;
  const tick = () => {
    if (tracked.size === 0) {
      // Find the child: only while none is known, so the scan costs nothing later on.
      for (const entry of readdirSync("/proc")) {
        const pid = Number(entry);
        if (!Number.isInteger(pid)) continue;
        const stat = readStat(pid);
        if (stat?.ppid === process.pid && stat.comm === name) tracked.set(pid, 0);
      }
    }
    for (const [pid, peak] of tracked) {
      const hwm = vmHwmBytes(pid);
      if (hwm !== undefined) {
        samples += 1;
        tracked.set(pid, Math.max(peak, hwm));
      }
    }
  };
  const timer = setInterval(tick, intervalMs);
  tick();
  return {
    stop() {
      clearInterval(timer);
      return { peakBytes: Math.max(0, ...tracked.values()), samples, pids: [...tracked.keys()] };
    },
  };
}
