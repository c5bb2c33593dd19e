/**
 * Nothing is condemned for being slow. ffprobe's deadline is wall-clock, but a busy machine
 * (a shared host, a CPU-starved Lambda at low memory) stretches wall-clock time without the
 * object being at fault. So a probe killed at its deadline is judged by how ffprobe spent that
 * time (/proc/<pid>/schedstat, sampled while it ran: ffprobe-launcher-program.ts):
 *
 * - it waited for a CPU for at least a quarter of the time: the machine was busy, not the
 *   object. The record is retried (a transient TimeoutError) and its next delivery gets a
 *   longer deadline;
 * - it ran (CPU at least half the time) but the deadline can still grow: retried with a longer
 *   deadline too;
 * - it ran at the longest deadline: the object itself takes too long to probe, and the document
 *   says so (`unprocessable`);
 * - it neither ran nor waited for a CPU (blocked, a hang on the input): the object's fault as
 *   before ("did not finish within ... and was killed"). Slow S3 reads are told apart earlier
 *   (S3ReadStalledError in process-change.ts).
 *
 * The deadline of a delivery doubles with SQS's ApproximateReceiveCount (20 s, 40 s, 80 s...
 * by default) up to 16x the configured timeout and never past the invocation's deadline
 * (Lambda's remaining time); a probe that ran is the object's fault from 4x on.
 */
import { invocationDeadline } from "./retry";

/** The deadline at which a probe that ran (not starved) is the object's fault, as a multiple of the configured timeout. */
export const MAX_DEADLINE_FACTOR = 4;
/** How far a starved probe's deadline keeps growing (a busy machine is never the object's fault). */
export const STARVED_DEADLINE_FACTOR = 16;
/** A killed probe that got at least this share of its wall time in CPU was running. */
export const BUSY_CPU_SHARE = 0.5;
/** A killed probe that waited for a CPU this share of its wall time was starved by the machine. */
export const STARVED_WAIT_SHARE = 0.25;

export interface ProbeDeadline {
  /** This delivery's deadline. */
  timeoutMs: number;
  /** The longest any delivery gets. */
  maxTimeoutMs: number;
}

/** The deadline of delivery `receiveCount` (1 for the first). */
export function probeDeadline(baseMs: number, receiveCount = 1, now = Date.now()): ProbeDeadline {
  const invocation = invocationDeadline.getStore();
  const left = invocation === undefined ? Number.POSITIVE_INFINITY : Math.max(baseMs, invocation - now);
  const n = Math.max(1, Math.floor(receiveCount));
  return {
    timeoutMs: Math.min(baseMs * 2 ** Math.min(n - 1, 16), baseMs * STARVED_DEADLINE_FACTOR, left),
    maxTimeoutMs: Math.min(baseMs * MAX_DEADLINE_FACTOR, left),
  };
}

/**
 * The probe hit its deadline although the object may be fine: retried, never stored.
 * Named TimeoutError, which errors.ts counts as transient.
 */
export class ProbeTimeoutError extends Error {
  constructor(
    readonly cpuMs: number,
    readonly wallMs: number,
    readonly machineSlow: boolean,
  ) {
    super(
      machineSlow
        ? `ffprobe got ${cpuMs} ms of CPU in ${wallMs} ms before its deadline: the machine was busy, not the object; retrying with a longer deadline`
        : `ffprobe used ${cpuMs} ms of CPU in ${wallMs} ms without finishing; retrying with a longer deadline`,
    );
    this.name = "TimeoutError";
  }
}

/** What a probe killed at its deadline means (see the file header). */
export function judgeTimeout(
  run: { cpuMs?: number; waitMs?: number; ms: number },
  deadline: ProbeDeadline,
): { verdict: "retry"; error: ProbeTimeoutError } | { verdict: "object"; reason?: string } {
  const cpuMs = Math.round(run.cpuMs ?? 0);
  const waitMs = Math.round(run.waitMs ?? 0);
  if (waitMs >= STARVED_WAIT_SHARE * run.ms) {
    return { verdict: "retry", error: new ProbeTimeoutError(cpuMs, run.ms, true) };
  }
  if (cpuMs >= BUSY_CPU_SHARE * run.ms) {
    if (deadline.timeoutMs < deadline.maxTimeoutMs) {
      return { verdict: "retry", error: new ProbeTimeoutError(cpuMs, run.ms, false) };
    }
    return {
      verdict: "object",
      reason:
        `the object takes too long to probe: ffprobe used ${(cpuMs / 1000).toFixed(1)} s of CPU within the longest ` +
        `deadline (${Math.round(deadline.timeoutMs / 1000)} s) without finishing`,
    };
  }
  // Neither running nor waiting for a CPU: blocked on its input, the object's doing.
  return { verdict: "object" };
}
