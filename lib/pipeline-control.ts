/**
 * Pausing and resuming the pipeline, whatever runs it. The cloud implementation
 * (handlers/kill-switch/lambda-control.ts) drives Lambda; the local lab drives its queue
 * worker. Callers (the kill switch, `npm run resume`) only see this interface, so the
 * words here are the pipeline's, never a particular service's.
 *
 * Contract every implementation keeps:
 * - pause() and resume() are idempotent: calling either twice changes nothing the
 *   second time, and a pause never forgets what resume must restore;
 * - pausing stops consumption only: uploads keep queueing and are processed on resume;
 * - a failure names the part and the cause (PipelineControlError), and says whether
 *   trying again later can help.
 */

/** One independently paused piece of the pipeline (a consumer, a function, a worker). */
export interface PartStatus {
  /** Name an operator recognises (a function name, a mapping id, "worker"). */
  name: string;
  paused: boolean;
  /** Human-readable state, e.g. "reserved concurrency 0 (was 5)". */
  detail: string;
}

/** Messages waiting for the pipeline, as far as the implementation can tell. */
export interface QueueDepth {
  /** Ready to be taken (SQS ApproximateNumberOfMessages). */
  visible: number;
  /** Taken by a batch and not yet deleted or returned (ApproximateNumberOfMessagesNotVisible). */
  inFlight: number;
  /** In the dead-letter queue. */
  deadLetter: number;
}

export interface PipelineStatus {
  /** "partial": some parts are paused and some are not (an interrupted pause or resume). */
  state: "running" | "paused" | "partial";
  /** When the pause began, if the implementation records it. */
  pausedAt?: Date;
  /** Why, as given to pause(). */
  reason?: string;
  parts: PartStatus[];
  /** The queue in front of the pipeline, when the implementation reads it (the lab does). */
  queue?: QueueDepth;
}

export interface PauseResult {
  /** What this call changed, one line each; empty when the pipeline was already paused. */
  changes: string[];
  /** True when nothing had to change. */
  alreadyPaused: boolean;
  status: PipelineStatus;
}

export interface ResumeResult {
  /** What this call changed, one line each; empty when the pipeline was not paused. */
  changes: string[];
  /** True when nothing had to change. */
  wasRunning: boolean;
  status: PipelineStatus;
}

export interface PipelineControl {
  /** Stops processing; `reason` and `at` are recorded for status() and the resume command. */
  pause(reason: string, at: Date): Promise<PauseResult>;
  /** Restores what pause() changed. */
  resume(): Promise<ResumeResult>;
  status(): Promise<PipelineStatus>;
}

/**
 * A pause, resume or status step that failed. `transient` says whether the same call is
 * worth repeating (throttling, a 5xx), so callers can choose between a retry and an alarm.
 */
export class PipelineControlError extends Error {
  readonly part: string;
  readonly transient: boolean;

  constructor(message: string, options: { part: string; transient: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "PipelineControlError";
    this.part = options.part;
    this.transient = options.transient;
  }
}

/** The overall state from the parts' states. */
export function overallState(parts: readonly PartStatus[]): PipelineStatus["state"] {
  const paused = parts.filter((p) => p.paused).length;
  if (paused === 0) return "running";
  return paused === parts.length ? "paused" : "partial";
}

/** A status for people: the state, since when and why, one line per part, the queue when known. */
export function formatPipelineStatus(status: PipelineStatus): string {
  const head =
    status.state === "running"
      ? "pipeline: running (not paused)"
      : `pipeline: ${status.state === "paused" ? "PAUSED" : "PARTLY PAUSED"}${status.pausedAt ? ` since ${status.pausedAt.toISOString()}` : ""}${status.reason ? ` (${status.reason})` : ""}`;
  const parts = status.parts.map((p) => `  ${p.paused ? "paused " : "running"}  ${p.name}: ${p.detail}`);
  const q = status.queue;
  const queue = q
    ? [
        `  queue    ${q.visible + q.inFlight} message(s) (${q.visible} waiting, ${q.inFlight} in flight), ${q.deadLetter} in the dead-letter queue`,
      ]
    : [];
  return [head, ...parts, ...queue].join("\n");
}
