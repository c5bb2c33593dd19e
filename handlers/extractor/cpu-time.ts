/**
 * CPU time (user + system) a child process has used so far, from /proc/<pid>/stat (fields 14
 * and 15, in clock ticks: proc(5)). Linux only, which is what Lambda and the lab run; elsewhere,
 * or once the process is gone, undefined. Node gives no rusage of a child, so the caller
 * samples it while the child runs (ffprobe.ts: every 250 ms and right before a kill).
 */
import * as fs from "node:fs";

/** USER_HZ: 100 on Linux x86_64 and arm64 (sysconf(_SC_CLK_TCK)). */
const CLOCK_TICKS_PER_SECOND = 100;

export function childCpuMs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    return Number.isFinite(ticks) ? (ticks * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}
