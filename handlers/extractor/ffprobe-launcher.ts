/**
 * Starting ffprobe from a small long-lived Node process (the launcher), not from the
 * function's own process.
 *
 * Node starts a child with libuv's uv_spawn, which fork()s the calling process and blocks its
 * event loop until the child has exec'd. The function's process is large (V8's heap, the AWS
 * SDK, the range proxies: 150-250 MB resident, several threads): each fork copies its page
 * tables, its other threads meet copy-on-write faults until the child execs, and while its loop
 * is blocked every range proxy of the probes in flight stops serving, so their ffprobes wait too.
 * In the soak (docs/backfill.md, "ffprobe's launcher") the extractor process spent about 40 ms
 * of CPU per document with the fork in it and about 20 without, and stood blocked in spawn for
 * about 17 ms per run on a busy machine. The launcher does nothing but start children: its fork
 * is small and its blocked loop delays no one.
 *
 * The launcher runs `node -e` with the source of launcherMain (given parseSchedstat): one code
 * path under tsx, in the lab's bundles and in the Lambda bundle, which ships index.js alone
 * (build/bundles.ts). So launcherMain uses only its parameters, its own require()s and globals.
 *
 * Its environment is launcherEnvironment() (none of the function's credentials: ffprobe's own
 * environment is built by the caller, ffprobe-sandbox.ts). When the function's process goes away its IPC
 * channel closes and the launcher kills its children's process groups and exits. When the
 * launcher dies, the runs it held fail as faults of the environment (the caller retries them),
 * their process groups are killed from here, and the next run starts a new launcher.
 */
import { type ChildProcess, spawn } from "node:child_process";

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

type ToLauncher = ({ type: "run"; id: number } & LaunchRequest) | { type: "kill"; id: number };
type FromLauncher =
  | { type: "started"; id: number; pid: number }
  | { type: "done"; id: number; result: LaunchResult }
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
    const chunks: Buffer[] = [];
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
        outputCapped = true;
        chunks.length = 0;
        killGroup();
        return;
      }
      chunks.push(chunk);
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
            stdout: outputCapped ? undefined : Buffer.concat(chunks),
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
  // The function's process is gone: nothing will read these runs' results.
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

/**
 * The launcher's whole environment: the dynamic loader's search path and nothing else. The
 * Lambda base images set LD_LIBRARY_PATH (starting with /var/lang/lib, beside the runtime's
 * node: aws/aws-lambda-base-images, Dockerfile.nodejs*.x), so Node started without it might not
 * load there; it is a list of folders, not a secret.
 */
export function launcherEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return env.LD_LIBRARY_PATH === undefined ? {} : { LD_LIBRARY_PATH: env.LD_LIBRARY_PATH };
}

/**
 * How long past a run's deadline the launcher may take to report it before it is killed and
 * replaced: it kills a late child at once, so only a launcher that stopped running (or a machine
 * starved for seconds) is that late.
 */
export const LAUNCHER_GRACE_MS = 10_000;

interface Pending {
  resolve(result: LaunchResult): void;
  reject(err: Error): void;
  /** The child's pid once started: its process group is killed from here if the launcher dies first. */
  pid?: number;
}

class Launcher {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  exited = false;

  constructor() {
    this.child = spawn(process.execPath, ["-e", launcherSource()], {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
      serialization: "advanced",
      env: launcherEnvironment(),
    });
    this.child.on("message", (message: FromLauncher) => this.receive(message));
    this.child.on("error", (err) => this.fail(`its launcher could not be started: ${err.message}`));
    this.child.on("exit", (code, signal) => this.fail(`its launcher exited (${signal ?? `code ${code}`})`));
    this.idle();
  }

  launch(request: LaunchRequest, signal?: AbortSignal): Promise<LaunchResult> {
    const id = ++this.nextId;
    return new Promise<LaunchResult>((resolve, reject) => {
      const onAbort = () => this.post({ type: "kill", id });
      // The deadline is the launcher's to enforce; one that stopped answering (stopped, starved
      // for seconds, wedged) is given up on here, with every run it held.
      const backstop = setTimeout(
        () => this.fail("its launcher did not answer within the run's deadline"),
        request.timeoutMs + LAUNCHER_GRACE_MS,
      );
      backstop.unref();
      const done = () => {
        clearTimeout(backstop);
        signal?.removeEventListener("abort", onAbort);
      };
      this.pending.set(id, {
        resolve: (result) => {
          done();
          resolve(result);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      this.busy();
      this.post({ type: "run", id, ...request });
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  private post(message: ToLauncher): void {
    if (this.exited) return;
    try {
      this.child.send(message);
    } catch (err) {
      this.fail(`its launcher cannot be reached: ${(err as Error).message}`);
    }
  }

  private receive(message: FromLauncher): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === "started") {
      pending.pid = message.pid;
      return;
    }
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.idle();
    if (message.type === "error") pending.reject(new Error(`cannot run ffprobe: ${message.message}`));
    else pending.resolve({ ...message.result, stdout: asBuffer(message.result.stdout) });
  }

  /** The launcher is gone: its runs fail as faults of the environment, and their children are killed. */
  private fail(why: string): void {
    this.exited = true;
    if (launcher === this) launcher = undefined;
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      try {
        if (pending.pid) process.kill(-pending.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      pending.reject(new Error(`cannot run ffprobe: ${why}`));
    }
    this.child.kill("SIGKILL");
  }

  /** Runs in flight keep this process alive until they end, as a child of its own would. */
  private busy(): void {
    this.child.ref();
    this.child.channel?.ref();
  }

  /** An idle launcher does not keep this process alive. */
  private idle(): void {
    this.child.unref();
    this.child.channel?.unref();
  }
}

/** The serializer hands a Buffer back as a Uint8Array. */
function asBuffer(bytes: Uint8Array | undefined): Buffer | undefined {
  if (bytes === undefined || Buffer.isBuffer(bytes)) return bytes;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

let launcher: Launcher | undefined;

/**
 * Starts this process's launcher if none runs: the Lambda does it while it initializes, so that
 * the first probe does not wait for a Node process to start (about 100 ms here). Otherwise the
 * first run starts it, and the next run after it died.
 */
export function startLauncher(): void {
  launcher ??= new Launcher();
}

/** Runs one child through this process's launcher. */
export function launch(request: LaunchRequest, signal?: AbortSignal): Promise<LaunchResult> {
  launcher ??= new Launcher();
  return launcher.launch(request, signal);
}
