/**
 * PipelineControl (lib/pipeline-control.ts) for the local lab: the pause and resume the kill
 * switch drives on AWS, over the lab's queue worker instead of Lambda.
 *
 * - pause(reason, at): stops the worker taking batches (the consumer first, as the cloud
 *   disables its event source mapping first), records the pause in <lab dir>/data/pause.json
 *   (a restarted lab reads it and starts paused, as the cloud's pause survives in the
 *   functions' tags), then waits (bounded) for the batches in progress to finish. S3 events
 *   keep queueing; nothing is received, so no receive count grows. A second pause changes
 *   nothing and keeps the first time and reason.
 * - resume(): removes the record, then lets the worker take batches again.
 * - status(): paused / running / partial, since when and why, the worker, the queue depth
 *   (visible, in flight, dead-letter).
 *
 * `start --paused` (pausedForThisRun) pauses the worker without a record: that run only.
 * The read API keeps answering while paused (on AWS its function is throttled too).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  type PartStatus,
  type PauseResult,
  type PipelineControl,
  PipelineControlError,
  type PipelineStatus,
  type QueueDepth,
  type ResumeResult,
} from "../lib/pipeline-control";
import type { LabQueue } from "./queue";
import type { QueueWorker } from "./worker";

/** What <lab dir>/data/pause.json holds. */
export interface PauseRecord {
  /** ISO time of the pause. */
  pausedAt: string;
  reason: string;
}

export interface LabPipelineControlOptions {
  worker: QueueWorker;
  queue: LabQueue;
  deadLetterQueue: LabQueue;
  /** The pause record (labPaths(dir).pause). */
  file: string;
  /** Pause for this run only, unrecorded (`start --paused`); a recorded pause takes precedence. */
  pausedForThisRun?: { reason: string; at: Date };
  /** How long pause() waits for the batches in progress (default 30 s, as the cloud waits for its mapping). */
  settleMs?: number;
}

const RECORD_PART = "pause record";

/** The reason of a `start --paused` pause. */
export const FOR_THIS_RUN = "lab started with --paused";

function describe(err: unknown): string {
  return String((err as Error)?.message ?? err);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "es"}`;
}

/**
 * Create it before worker.start(): a recorded pause (or pausedForThisRun) pauses the worker
 * at once, so a restarted lab takes no batch before it is resumed.
 */
/** What a redrive moved, from which queue to which. */
export interface RedriveResult {
  moved: number;
  total: number;
  from: string;
  to: string;
}

export class LabPipelineControl implements PipelineControl {
  private readonly worker: QueueWorker;
  private readonly queue: LabQueue;
  private readonly deadLetterQueue: LabQueue;
  private readonly settleMs: number;
  /** An unrecorded pause of this run (`start --paused`). */
  private transient?: { reason: string; at: Date };
  readonly file: string;

  constructor(options: LabPipelineControlOptions) {
    this.worker = options.worker;
    this.queue = options.queue;
    this.deadLetterQueue = options.deadLetterQueue;
    this.file = options.file;
    this.settleMs = options.settleMs ?? 30_000;
    if (this.readRecord()) {
      this.worker.pause();
    } else if (options.pausedForThisRun) {
      this.transient = options.pausedForThisRun;
      this.worker.pause();
    }
  }

  /** Moves every dead letter back to the queue (`npm run redrive`); the worker then processes them. */
  async redrive(): Promise<RedriveResult> {
    const total = this.deadLetterQueue.counts();
    const moved = await this.deadLetterQueue.moveMessagesTo(this.queue);
    return {
      moved,
      total: total.visible + total.inFlight,
      from: this.deadLetterQueue.arn,
      to: this.queue.arn,
    };
  }

  /** The recorded pause; a file that cannot be read as one still counts as a pause (fail closed). */
  readRecord(): PauseRecord | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw new PipelineControlError(`reading ${this.file} failed: ${describe(err)}`, {
        part: RECORD_PART,
        transient: false,
        cause: err,
      });
    }
    try {
      const v = JSON.parse(text) as Partial<PauseRecord>;
      if (typeof v.pausedAt === "string" && typeof v.reason === "string")
        return { pausedAt: v.pausedAt, reason: v.reason };
    } catch {
      // below
    }
    return { pausedAt: "", reason: `unreadable pause record ${this.file}; resume removes it` };
  }

  async pause(reason: string, at: Date): Promise<PauseResult> {
    const changes: string[] = [];
    // The consumer stops first, as the cloud disables its event source mapping first.
    const stopping = !this.worker.paused;
    const busy = this.worker.busy;
    if (stopping) {
      this.worker.pause();
      this.transient = { reason, at };
    }
    if (!this.readRecord()) {
      const record: PauseRecord = { pausedAt: at.toISOString(), reason };
      try {
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        const tmp = `${this.file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
        fs.renameSync(tmp, this.file);
      } catch (err) {
        throw new PipelineControlError(
          `writing ${this.file} failed: ${describe(err)}; the worker is paused for this run, but a restarted lab would run`,
          { part: RECORD_PART, transient: false, cause: err },
        );
      }
      changes.push(`pause recorded in ${this.file} at ${record.pausedAt}: a restarted lab stays paused`);
    }
    this.transient = undefined;
    if (stopping) {
      const left = busy > 0 ? await this.settle() : 0;
      changes.unshift(
        `worker: stopped taking batches from ${this.queue.name}` +
          (busy === 0
            ? ""
            : left === 0
              ? ` (${plural(busy, "batch")} in progress finished)`
              : ` (${plural(left, "batch")} still running after ${this.settleMs} ms, finishing on ${left === 1 ? "its" : "their"} own)`),
      );
    }
    return { changes, alreadyPaused: changes.length === 0, status: await this.status() };
  }

  async resume(): Promise<ResumeResult> {
    const changes: string[] = [];
    // The record goes first: if removing it fails, the lab is still consistently paused.
    if (this.readRecord()) {
      try {
        fs.rmSync(this.file, { force: true });
      } catch (err) {
        throw new PipelineControlError(`removing ${this.file} failed: ${describe(err)}`, {
          part: RECORD_PART,
          transient: false,
          cause: err,
        });
      }
      changes.push(`pause record ${this.file} removed`);
    }
    if (this.worker.paused) {
      this.worker.resume();
      const q = this.queue.counts();
      changes.push(`worker: taking batches from ${this.queue.name} again (${q.visible} message(s) waiting)`);
    }
    this.transient = undefined;
    return { changes, wasRunning: changes.length === 0, status: await this.status() };
  }

  async status(): Promise<PipelineStatus> {
    const record = this.readRecord();
    const paused = this.worker.paused;
    const busy = this.worker.busy;
    const running = busy > 0 ? `; ${plural(busy, "batch")} ${paused ? "finishing" : "in progress"}` : "";
    let detail: string;
    if (paused && record) {
      detail = `not taking batches from ${this.queue.name}${running} (recorded: a restarted lab stays paused)`;
    } else if (paused && this.transient) {
      detail = `not taking batches from ${this.queue.name}${running} (this run only: a restart runs)`;
    } else if (paused) {
      detail = `not taking batches from ${this.queue.name}${running} (paused directly, not recorded)`;
    } else if (record) {
      detail = `taking batches from ${this.queue.name}${running}, but a pause is recorded: run pause or resume again`;
    } else {
      detail = `taking batches from ${this.queue.name}${running}`;
    }
    const part: PartStatus = { name: "worker", paused, detail };
    const hold = record
      ? { at: record.pausedAt ? new Date(record.pausedAt) : undefined, reason: record.reason }
      : paused
        ? this.transient
        : undefined;
    return {
      state: paused ? "paused" : record ? "partial" : "running",
      ...(hold?.at && !Number.isNaN(hold.at.getTime()) ? { pausedAt: hold.at } : {}),
      ...(hold?.reason ? { reason: hold.reason } : {}),
      parts: [part],
      queue: this.depth(),
    };
  }

  /** Messages in the queue (visible and in flight) and in the dead-letter queue. */
  depth(): QueueDepth {
    const q = this.queue.counts();
    const dlq = this.deadLetterQueue.counts();
    return { visible: q.visible, inFlight: q.inFlight, deadLetter: dlq.visible + dlq.inFlight };
  }

  /** Waits until no batch runs, at most settleMs; returns how many still run. */
  private async settle(): Promise<number> {
    const deadline = Date.now() + this.settleMs;
    while (this.worker.busy > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.worker.busy;
  }
}
