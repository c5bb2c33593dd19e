/**
 * The bytes of one object the range proxy already fetched during one probe, so that ffprobe
 * seeking back (an MP4 with its moov at the end: header, then moov, then back to the first
 * packets) is served from memory instead of fetching the same bytes from S3 again.
 *
 * Bounded: once `limitBytes` are held, later bytes are not kept (they are still served).
 * Chunks never overlap; bytes already held are not added twice.
 */
export class ReadCache {
  /** Held chunks, sorted by start, non-overlapping. */
  private readonly chunks: { start: number; data: Buffer }[] = [];
  private held = 0;

  constructor(readonly limitBytes: number) {}

  get bytes(): number {
    return this.held;
  }

  /** The first offset at or after `start` that is not held (start itself when it is not). */
  coveredUntil(start: number): number {
    let pos = start;
    for (const c of this.chunks) {
      if (c.start > pos) break;
      const end = c.start + c.data.length;
      if (end > pos) pos = end;
    }
    return pos;
  }

  /** Where the first held chunk after `pos` starts, if any (a read from `pos` should stop there). */
  nextHeldAfter(pos: number): number | undefined {
    return this.chunks.find((c) => c.start > pos)?.start;
  }

  /** The held bytes from `start` on, contiguous, at most up to `end` (inclusive). */
  take(start: number, end: number): Buffer[] {
    const out: Buffer[] = [];
    let pos = start;
    for (const c of this.chunks) {
      if (pos > end) break;
      const cEnd = c.start + c.data.length;
      if (cEnd <= pos) continue;
      if (c.start > pos) break;
      const slice = c.data.subarray(pos - c.start, Math.min(cEnd, end + 1) - c.start);
      out.push(slice);
      pos += slice.length;
    }
    return out;
  }

  /** Keeps `data` found at `start`, minus what is already held, within the limit. */
  add(start: number, data: Buffer): void {
    let pos = start;
    const end = start + data.length;
    while (pos < end && this.held < this.limitBytes) {
      // Skip what is held at pos, then keep up to the next held chunk.
      const from = this.coveredUntil(pos);
      if (from >= end) return;
      const next = this.chunks.find((c) => c.start > from)?.start ?? end;
      const until = Math.min(end, next, from + (this.limitBytes - this.held));
      const piece = Buffer.from(data.subarray(from - start, until - start));
      const at = this.chunks.findIndex((c) => c.start > from);
      this.chunks.splice(at === -1 ? this.chunks.length : at, 0, { start: from, data: piece });
      this.held += piece.length;
      pos = until;
    }
  }
}
