/**
 * Runs fn with stdout and stderr captured, as Lambda would collect them: Powertools writes
 * its JSON logs and EMF metrics there. Returns the lines that are JSON, parsed.
 */
export type Line = Record<string, unknown> & { _aws?: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } };

export async function captureOutput<T>(fn: () => Promise<T>): Promise<{ result?: T; error?: unknown; lines: Line[] }> {
  const out = process.stdout.write;
  const err = process.stderr.write;
  const raw: string[] = [];
  const capture = ((chunk: string | Uint8Array) => {
    raw.push(...String(chunk).split("\n").filter(Boolean));
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
  let result: T | undefined;
  let error: unknown;
  try {
    result = await fn();
  } catch (e) {
    error = e;
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  const lines = raw.flatMap((l) => {
    try {
      return [JSON.parse(l) as Line];
    } catch {
      return [];
    }
  });
  return { result, error, lines };
}

/** Names of the EMF metrics among the lines. */
export function metricNames(lines: Line[]): string[] {
  return lines.flatMap((l) => l._aws?.CloudWatchMetrics.flatMap((m) => m.Metrics.map((x) => x.Name)) ?? []);
}
