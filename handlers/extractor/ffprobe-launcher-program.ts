/**
 * The program of ffprobe's launcher (ffprobe-launcher.ts says why there is one) and the
 * messages it exchanges with the function's process.
 *
 * The launcher runs `node -e` with launcherSource(): the source of launcherMain, given
 * parseSchedstat. That is one code path under tsx, in the lab's bundles and in the Lambda
 * bundle, which ships index.js alone (build/bundles.ts); so launcherMain and parseSchedstat use
 * only their parameters, their own require()s and globals, never an import of this module.
 */
/** One child to run: the caller builds the command, its environment and its limits. */
export interface LaunchRequest {
  file: string;
  args: string[];
  /** The child's whole environment (nothing is inherited). */
  env: NodeJS.ProcessEnv;
  /** Wall-clock deadline: past it the child's process group is SIGKILLed. */
  timeoutMs: number;
  /** Past this many stdout bytes the child's process group is SIGKILLed and stdout dropped. */
  maxOutputBytes: number;
  /** stderr characters kept, from the end (at most twice this, so that a caller can cut at a line start). */
  stderrKeep: number;
}

export interface LaunchResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  outputCapped: boolean;
  /** CPU time the child used (user + system, ms), sampled every 250 ms and before a kill; 0 where unknown. */
  cpuMs: number;
  /** Time the child was runnable but waited for a CPU (a busy machine), ms; 0 where unknown. */
  waitMs: number;
  /** The end of stderr: whole when at most 2 x stderrKeep characters, else exactly the last 2 x stderrKeep. */
  stderr: string;
  /** stdout, unless it was capped. */
  stdout?: Buffer;
}

export interface ChildSchedule {
  /** On the CPU (user + system). */
  cpuMs: number;
  /** Runnable but waiting for a CPU. */
  waitMs: number;
}

/**
 * How a process has spent its time, from the text of /proc/<pid>/schedstat (proc(5): time on
 * the CPU, time waiting on a run queue, in ns). A child that waited for a CPU was starved by a
 * busy machine; one that neither ran nor waited was blocked on its input (probe-deadline.ts
 * tells the two apart). Runs inside the launcher too: it uses nothing but its argument.
 */
export function parseSchedstat(text: string): ChildSchedule | undefined {
  const [run, wait] = text.trim().split(/\s+/).map(Number);
  if (!Number.isFinite(run) || !Number.isFinite(wait)) return undefined;
  return { cpuMs: Math.round(run / 1e6), waitMs: Math.round(wait / 1e6) };
}

export type ToLauncher = ({ type: "run"; id: number } & LaunchRequest) | { type: "kill"; id: number };
export type FromLauncher =
  | { type: "started"; id: number; pid: number }
  /** stdout as it comes: the launcher keeps none of it (a run's may be 16 MiB, several at once). */
  | { type: "output"; id: number; chunk: Uint8Array }
  | { type: "done"; id: number; result: Omit<LaunchResult, "stdout"> }
  | { type: "error"; id: number; message: string };

/**
 * The launcher process's program. Every child gets its own process group (detached), so a kill
 * reaches anything it started. Its CPU time is sampled from /proc while it runs, since Node
 * gives no rusage of a child.
 */
export function launcherMain(schedstat: typeof parseSchedstat): void {
  const { spawn: spawnChild } = require("node:child_process") as typeof import("node:child_process");
  const { readFileSync } = require("node:fs") as typeof import("node:fs");
  const running = new Map<number, () => void>();
  // The function's process is gone: nothing will read these runs' results, and nothing else
  // would end them.
  const shutdown = () => {
    for (const kill of running.values()) kill();
    process.exit(0);
  };
  // A write to a parent that just died fails (EPIPE) before the channel's end is read: without
  // a callback that is an unhandled 'error' event, and this process would die leaving its runs,
  // deadlines gone, to run on.
  const send = (message: FromLauncher) =>
    process.send?.(message, undefined, undefined, (err: Error | null) => {
      if (err) shutdown();
    });

  const run = (request: ToLauncher & { type: "run" }) => {
    let child: ReturnType<typeof spawnChild>;
    try {
      child = spawnChild(request.file, request.args, {
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
        env: request.env,
      });
    } catch (err) {
      send({ type: "error", id: request.id, message: (err as Error).message });
      return;
    }
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    running.set(request.id, killGroup);
    if (child.pid) send({ type: "started", id: request.id, pid: child.pid });
    let outBytes = 0;
    let stderr = "";
    let timedOut = false;
    let outputCapped = false;
    let settled = false;
    let cpuMs = 0;
    let waitMs = 0;
    const sample = () => {
      try {
        const seen = schedstat(readFileSync(`/proc/${child.pid}/schedstat`, "utf8"));
        if (seen) ({ cpuMs, waitMs } = seen);
      } catch {
        // Gone, or not Linux: the last sample stands.
      }
    };
    const sampler = setInterval(sample, 250);
    let exited = false;
    let finish = () => {};
    const timer = setTimeout(() => {
      killGroup();
      // The child ended in time; only something it left behind holds its output open.
      if (exited) return finish();
      timedOut = true;
      sample();
    }, request.timeoutMs);
    const settle = (message: FromLauncher) => {
      clearTimeout(timer);
      clearInterval(sampler);
      running.delete(request.id);
      if (settled) return;
      settled = true;
      send(message);
    };
    child.stdout?.on("data", (chunk: Buffer) => {
      if (outputCapped) return;
      outBytes += chunk.length;
      if (outBytes > request.maxOutputBytes) {
        // The caller drops what it received: a capped run has no stdout.
        outputCapped = true;
        killGroup();
        return;
      }
      send({ type: "output", id: request.id, chunk });
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      if (stderr.length > 2 * request.stderrKeep) stderr = stderr.slice(-2 * request.stderrKeep);
    });
    child.on("error", (err) => settle({ type: "error", id: request.id, message: err.message }));
    // 'exit', not 'close': after a kill, an orphaned grandchild could hold the pipes open.
    child.on("exit", (exitCode, signal) => {
      exited = true;
      clearInterval(sampler);
      finish = () =>
        settle({
          type: "done",
          id: request.id,
          result: {
            exitCode,
            signal,
            timedOut,
            outputCapped,
            cpuMs,
            waitMs,
            stderr,
          },
        });
      // Let buffered stdout drain unless the run was killed.
      if (timedOut || outputCapped || !child.stdout || child.stdout.readableEnded) finish();
      else child.stdout.once("end", finish).once("error", finish);
    });
  };

  process.on("message", (message: ToLauncher) => {
    if (message.type === "run") run(message);
    else if (message.type === "kill") running.get(message.id)?.();
  });
  process.on("disconnect", shutdown);
  // Ctrl-C signals the parent's whole process group, this process included: it ends with its
  // channel (above), after killing its runs, never on its own.
  process.on("SIGINT", () => {});
}

/**
 * The launcher's program for `node -e`. tsx compiles with esbuild's keepNames, which wraps
 * named functions in a module-level `__name` helper: an identity stands in for it here.
 */
export function launcherSource(): string {
  return `var __name = (f) => f;\n(${launcherMain.toString()})(${parseSchedstat.toString()});\n`;
}
