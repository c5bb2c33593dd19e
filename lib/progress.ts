/**
 * A one-line progress bar on stderr for long-running commands (the lab's backfill, the soak, npm run backfill).
 * On a terminal it redraws in place (at most 10 times a second); otherwise (CI logs, pipes)
 * it prints a plain line at most every `plainEveryMs`.
 */
export interface ProgressState {
  done: number;
  /** Known so far (may grow while a listing is still being read). */
  total: number;
  /** Short text after the counts, e.g. "12 processed, 3 skipped". */
  detail?: string;
  /** True when `total` is final. */
  totalKnown?: boolean;
}

export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;
  private readonly started = Date.now();
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly plainEveryMs = 5_000,
    private readonly width = 28,
  ) {
    this.tty = !!stream.isTTY;
  }

  update(state: ProgressState, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < (this.tty ? 100 : this.plainEveryMs)) return;
    this.lastDraw = now;
    const ratio = state.total > 0 ? Math.min(1, state.done / state.total) : 0;
    const filled = Math.round(ratio * this.width);
    const bar = `${"#".repeat(filled)}${"-".repeat(this.width - filled)}`;
    const secs = ((now - this.started) / 1000).toFixed(0);
    const total = `${state.total}${state.totalKnown === false ? "+" : ""}`;
    const line = `${this.label} [${bar}] ${state.done}/${total} ${secs}s${state.detail ? `  ${state.detail}` : ""}`;
    if (this.tty) {
      const columns = this.stream.columns || 120;
      this.stream.write(`\r${line.slice(0, columns - 1).padEnd(Math.min(columns - 1, line.length))}\x1b[K`);
      this.drawn = true;
    } else {
      this.stream.write(`${line}\n`);
    }
  }

  /** Draws the final state and ends the line. */
  finish(state: ProgressState): void {
    this.update(state, true);
    if (this.tty && this.drawn) this.stream.write("\n");
  }
}
