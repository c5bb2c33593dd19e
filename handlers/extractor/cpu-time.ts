/**
 * How a child process has spent its time so far, from /proc/<pid>/schedstat (proc(5): time
 * spent on the CPU, time spent waiting on a run queue, in ns). A process that waited for a CPU
 * was starved by a busy machine; one that neither ran nor waited was idle (blocked on input).
 * Linux only, which is what Lambda and the lab run; elsewhere, or once the process is gone,
 * undefined. Node gives no rusage of a child, so the caller samples it while the child runs
 * (ffprobe.ts: every 250 ms and right before a kill).
 */
import * as fs from "node:fs";

export interface ChildSchedule {
  /** On the CPU (user + system). */
  cpuMs: number;
  /** Runnable but waiting for a CPU. */
  waitMs: number;
}

export function childSchedule(pid: number | undefined): ChildSchedule | undefined {
  if (!pid) return undefined;
  try {
    const [run, wait] = fs.readFileSync(`/proc/${pid}/schedstat`, "utf8").trim().split(/\s+/).map(Number);
    if (!Number.isFinite(run) || !Number.isFinite(wait)) return undefined;
    return { cpuMs: Math.round(run / 1e6), waitMs: Math.round(wait / 1e6) };
  } catch {
    return undefined;
  }
}

/** CPU time only (childSchedule's cpuMs). */
export function childCpuMs(pid: number | undefined): number | undefined {
  return childSchedule(pid)?.cpuMs;
}
