/**
 * At most N probes at once in one process: each ffprobe may use up to its memory limit
 * (lib/probe-limits.ts), so a batch's records wait for a slot instead of all probing at once.
 */
export type Slots = <T>(work: () => Promise<T>) => Promise<T>;

export function createSlots(size: number): Slots {
  if (!Number.isInteger(size) || size < 1) throw new Error(`slots must be a positive integer, got ${size}`);
  let busy = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (busy >= size) await new Promise<void>((resolve) => waiting.push(resolve));
    else busy += 1;
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter (busy stays the same), or free it.
      const next = waiting.shift();
      if (next) next();
      else busy -= 1;
    }
  };
}
