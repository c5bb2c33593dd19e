/**
 * The lab's extractor runs in a process of its own (lab/extractor-host.ts), not in the lab's,
 * as a Lambda function never shares a process with the services it calls: its execution
 * environments live there (lab/environments.ts), each with the probe slots of one function
 * instance, and reach S3 and DynamoDB over HTTP as before.
 *
 * Why a process and not the lab's own event loop (issue 14, measured in docs/backfill.md):
 * - spawning ffprobe from a process forks it. The lab's process holds s3rver, dynalite, the
 *   queues and the API (200-330 MB resident); on this kind of machine (paravirtualized page
 *   tables) each fork of it, and the copy-on-write faults that follow it, cost the lab about a
 *   third of its time, and libuv's spawn blocks the loop until the child has exec'd, so every
 *   stand-in waited on every probe's start;
 * - one Node process uses one core: with the stand-ins and the extractor on one loop, the
 *   lab could not use the second core for anything but ffprobe.
 *
 * If the host dies, the batches it held fail (the worker returns them to the queue, as Lambda
 * does when an environment crashes) and the next batch starts a new host. The host exits when
 * the lab's process goes away, killed or not: environments do not outlive their service.
 */
import { type ChildProcess, fork } from "node:child_process";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { bundledEntry } from "../build/process-bundle";
import { REPO_ROOT } from "../lib/repo-root";
import type { LogEntry, LogSink } from "./log";

/** What the host needs to build its extractors: where the stand-ins are, and the function's settings. */
export interface ExtractorHostConfig {
  s3Endpoint: string;
  dynamodbEndpoint: string;
  tableName: string;
  metadataBucket: string;
  ffprobePath: string;
  probeTimeoutMs: number;
}

/** Lab -> host. */
export type ToHost = { type: "batch"; id: number; event: SQSEvent } | { type: "stop" };

/** Host -> lab. */
export type FromHost =
  | { type: "ready" }
  | { type: "result"; id: number; response: SQSBatchResponse }
  | { type: "failed"; id: number; name: string; message: string }
  | { type: "logs"; entries: LogEntry[] }
  | { type: "environments"; count: number };

export interface ExtractorProcess {
  /** Runs one SQS batch in an idle execution environment of the host (a new one when none is idle). */
  handleBatch(event: SQSEvent): Promise<SQSBatchResponse>;
  /** The host's pid, or undefined while none runs. */
  readonly pid: number | undefined;
  /** Execution environments the current host has created. */
  readonly environments: number;
  /** Lets the batches in progress finish, then ends the host. */
  close(): Promise<void>;
}

/** The error a batch fails with when its host exited under it. */
export class ExtractorHostExitedError extends Error {
  constructor(detail: string) {
    super(`the extractor's execution environment exited (${detail}); the batch goes back to the queue`);
    this.name = "ExtractorHostExitedError";
  }
}

const STDERR_KEEP = 4_000;

/** The host's entry (run from its bundle). */
const HOST_ENTRY = "lab/extractor-host.ts";

/** Starts the host now (so a broken one fails the lab's start, not its first batch); restarts it on demand. */
export async function startExtractorProcess(config: ExtractorHostConfig, sink: LogSink): Promise<ExtractorProcess> {
  let child: ChildProcess | undefined;
  let starting: Promise<ChildProcess> | undefined;
  let closed = false;
  let environments = 0;
  let ids = 0;
  const pending = new Map<number, { resolve: (r: SQSBatchResponse) => void; reject: (e: Error) => void }>();

  async function spawnHost(): Promise<ChildProcess> {
    let stderr = "";
    // Plain node on the host's bundle, not tsx (build/process-bundle.ts says why).
    const host = fork(await bundledEntry(HOST_ENTRY), [JSON.stringify(config)], {
      cwd: REPO_ROOT,
      execArgv: [],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    host.stderr?.on("data", (d) => {
      stderr = (stderr + d).slice(-STDERR_KEEP);
    });
    const ready = new Promise<ChildProcess>((resolve, reject) => {
      host.on("message", (m: FromHost) => {
        switch (m.type) {
          case "ready":
            resolve(host);
            break;
          case "result":
            pending.get(m.id)?.resolve(m.response);
            pending.delete(m.id);
            break;
          case "failed": {
            const err = new Error(m.message);
            err.name = m.name;
            pending.get(m.id)?.reject(err);
            pending.delete(m.id);
            break;
          }
          case "logs":
            for (const entry of m.entries) sink(entry);
            break;
          case "environments":
            environments = m.count;
            break;
        }
      });
      // A fork that cannot start, or a send the channel refused, is reported here; 'exit' settles the rest.
      host.on("error", (err) => reject(new Error(`the extractor's host process failed: ${err.message}`)));
      host.once("exit", (code, signal) => {
        const detail = signal ? `signal ${signal}` : `exit code ${code}`;
        reject(new Error(`the extractor's host process did not start (${detail}):\n${stderr}`));
        if (child === host) child = undefined;
        environments = 0;
        for (const waiter of pending.values()) waiter.reject(new ExtractorHostExitedError(detail));
        pending.clear();
      });
    });
    return ready;
  }

  async function current(): Promise<ChildProcess> {
    if (child?.connected) return child;
    starting ??= spawnHost().then(
      (host) => {
        child = host;
        starting = undefined;
        return host;
      },
      (err) => {
        starting = undefined;
        throw err;
      },
    );
    return starting;
  }

  await current();
  return {
    get pid() {
      return child?.pid;
    },
    get environments() {
      return environments;
    },
    async handleBatch(event) {
      if (closed) throw new Error("the lab's extractor is closed");
      const host = await current();
      const id = ++ids;
      return new Promise<SQSBatchResponse>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        // A host that died since current() cannot take it: the batch fails (and goes back to
        // the queue) instead of an unhandled 'error' event taking the lab down.
        host.send({ type: "batch", id, event } satisfies ToHost, (err) => {
          if (!err || !pending.delete(id)) return;
          reject(new ExtractorHostExitedError(`its channel closed: ${err.message}`));
        });
      });
    },
    async close() {
      closed = true;
      const host = child ?? (await starting?.catch(() => undefined));
      if (!host || host.exitCode !== null || host.signalCode !== null) return;
      const exited = new Promise((resolve) => host.once("exit", resolve));
      // The worker stopped first (its batches are done); a host that does not end is killed.
      if (host.connected) host.send({ type: "stop" } satisfies ToHost, () => undefined);
      const timer = setTimeout(() => host.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
