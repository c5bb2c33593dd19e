/** Resolves after `ms` milliseconds (a plain timer: it keeps the process alive until then). */
export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}
