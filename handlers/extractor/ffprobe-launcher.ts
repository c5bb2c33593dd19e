/**
 * Starting ffprobe from a small long-lived Node process (the launcher), not from the
 * function's own process.
 *
 * Node starts a child with libuv's uv_spawn, which fork()s the calling process and blocks its
 * event loop until the child has exec'd. The function's process is large (V8's heap, the AWS
 * SDK, the range proxies: 150-250 MB resident, several threads): each fork copies its page
 * tables, write-protects its pages so that each one it writes afterwards faults once, and while
 * its loop is blocked every range proxy of the probes in flight stops serving, so their ffprobes
 * wait too. In the soak (docs/backfill.md, "ffprobe's launcher") the extractor process spent
 * about 40 ms of CPU per document with the forks in it and about 20 without, and stood blocked
 * in spawn for about 17 ms per run on a busy machine. The launcher (ffprobe-launcher-program.ts) does
 * nothing but start children: its fork is small and its blocked loop delays no one.
 *
 * Its environment is launcherEnvironment(): none of the function's credentials (ffprobe's own
 * environment is built by the caller, ffprobe-sandbox.ts). When the function's process goes
 * away, its IPC channel closes and the launcher kills its children's process groups and exits.
 * When the launcher dies or stops answering, the runs it held fail as faults of the environment
 * (the caller retries them), their process groups are killed from here, and the next run starts
 * a new launcher.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  type FromLauncher,
  type LaunchRequest,
  type LaunchResult,
  launcherSource,
  type ToLauncher,
} from "./ffprobe-launcher-program";

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
  /** stdout received so far. */
  chunks: Buffer[];
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
        chunks: [],
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
    if (message.type === "output") {
      pending.chunks.push(asBuffer(message.chunk));
      return;
    }
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.idle();
    if (message.type === "error") pending.reject(new Error(`cannot run ffprobe: ${message.message}`));
    else {
      const { outputCapped } = message.result;
      pending.resolve({ ...message.result, stdout: outputCapped ? undefined : Buffer.concat(pending.chunks) });
    }
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
function asBuffer(bytes: Uint8Array): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

let launcher: Launcher | undefined;

/**
 * Starts this process's launcher if none runs. The Lambda does it while it initializes: the
 * launcher's Node process boots beside the rest of the initialization instead of in the first
 * probe (about 100 ms here when the first run starts it). Otherwise the first run starts it,
 * and the next run after it died.
 */
export function startLauncher(): void {
  launcher ??= new Launcher();
}

/** Runs one child through this process's launcher. */
export function launch(request: LaunchRequest, signal?: AbortSignal): Promise<LaunchResult> {
  launcher ??= new Launcher();
  return launcher.launch(request, signal);
}
