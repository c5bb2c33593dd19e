/**
 * S3 event sequencers for the lab: fixed-width upper-case hex, strictly increasing
 * within a process and across restarts on the same lab folder.
 *
 * S3 only promises that, for one key, a later event carries a greater sequencer (compared
 * after right-padding). A single process-wide clock gives that for every key at once. The
 * value is nanoseconds since the epoch from a monotonic clock (so two events within one
 * millisecond still differ, and wall-clock steps backwards do not matter), raised to
 * previous value + 1 when needed. Restarts: a lease (a value far ahead of the last one
 * handed out) is persisted before any value beyond the previous lease is used, and a
 * restarted clock starts above it. Writing the lease costs one small file write per
 * LEASE_NS of activity, not one per event.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Digits in a lab sequencer: as long as the ones S3 sends (e.g. "0055AED6DCD90281E5"). */
export const LAB_SEQUENCER_DIGITS = 18;
const LEASE_NS = 60n * 1_000_000_000n;
const MAX = 16n ** BigInt(LAB_SEQUENCER_DIGITS) - 1n;

export class SequencerClock {
  private last: bigint;
  private lease: bigint;
  private readonly epochOffset: bigint;

  private constructor(
    private readonly file: string | undefined,
    persistedLease: bigint,
  ) {
    // Monotonic nanoseconds, anchored once to the wall clock.
    this.epochOffset = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
    this.last = persistedLease;
    this.lease = persistedLease;
  }

  /** Opens the clock persisted in `file` (created when missing); in memory only when no file is given. */
  static open(file?: string): SequencerClock {
    let lease = 0n;
    if (file) {
      try {
        const saved = JSON.parse(fs.readFileSync(file, "utf8")) as { lease?: string };
        if (typeof saved.lease === "string" && /^[0-9A-F]+$/i.test(saved.lease)) lease = BigInt(`0x${saved.lease}`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
          throw new Error(`cannot read the sequencer state ${file}: ${(err as Error).message}`, { cause: err });
        }
      }
    }
    return new SequencerClock(file, lease);
  }

  /** The next sequencer: greater than every one this clock (or an earlier one on the same file) returned. */
  next(): string {
    const now = this.epochOffset + process.hrtime.bigint();
    const value = now > this.last ? now : this.last + 1n;
    if (value > MAX) throw new Error("lab sequencer overflow");
    if (value > this.lease) this.persistLease(value + LEASE_NS);
    this.last = value;
    return format(value);
  }

  private persistLease(lease: bigint): void {
    if (this.file) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, `${JSON.stringify({ lease: format(lease) })}\n`);
      fs.renameSync(tmp, this.file);
    }
    this.lease = lease;
  }
}

function format(value: bigint): string {
  return value.toString(16).toUpperCase().padStart(LAB_SEQUENCER_DIGITS, "0");
}
