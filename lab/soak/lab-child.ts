/**
 * The soak's lab in a child process (lab-process.ts): start, SIGKILL, status, clean stop.
 */
import { type ChildProcess, fork } from "node:child_process";
import { bundledEntry } from "../../build/process-bundle";
import { REPO_ROOT } from "../../lib/repo-root";
import type { LabEndpoints } from "../lab";
import type { ChildMessage, ParentMessage, SoakLabConfig, SoakLabStatus } from "./lab-process";

/** The lab child: start, SIGKILL, status, clean stop. */
export class LabChild {
  private child?: ChildProcess;
  private stderr = "";
  private pending = new Map<string, (m: ChildMessage) => void>();
  private requests = 0;

  constructor(private readonly config: SoakLabConfig) {}

  async start(): Promise<LabEndpoints> {
    // Plain node on the lab's bundle, not tsx: the soak restarts it after every kill (build/process-bundle.ts).
    const child = fork(await bundledEntry("lab/soak/lab-process.ts"), [JSON.stringify(this.config)], {
      cwd: REPO_ROOT,
      execArgv: [],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    this.child = child;
    child.stderr?.on("data", (d) => {
      this.stderr = (this.stderr + d).slice(-8_000);
    });
    child.on("message", (m: ChildMessage) => {
      const id = m.type === "status" ? `status-${m.id}` : m.type;
      const waiter = this.pending.get(id);
      if (waiter) {
        this.pending.delete(id);
        waiter(m);
      }
    });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`the soak lab exited (${code}) before it was ready:\n${this.stderr}`));
      child.once("exit", onExit);
      this.pending.set("error", (m) =>
        reject(new Error(`the soak lab failed to start: ${(m as { message: string }).message}`)),
      );
      this.pending.set("ready", (m) => {
        child.off("exit", onExit);
        this.pending.delete("error");
        resolve((m as { endpoints: LabEndpoints }).endpoints);
      });
    });
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || hasExited(child)) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    for (const waiter of this.pending.values()) waiter({ type: "error", message: "killed" });
    this.pending.clear();
  }

  status(timeoutMs = 5_000): Promise<SoakLabStatus | undefined> {
    const child = this.child;
    if (!child?.connected) return Promise.resolve(undefined);
    const id = ++this.requests;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(`status-${id}`);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(`status-${id}`, (m) => {
        clearTimeout(timer);
        resolve(m.type === "status" ? m.status : undefined);
      });
      child.send({ type: "status", id } satisfies ParentMessage);
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || hasExited(child)) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    if (child.connected) child.send({ type: "stop" } satisfies ParentMessage);
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A child killed by a signal has a signalCode and no exitCode: it will not emit "exit" again. */
function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}
