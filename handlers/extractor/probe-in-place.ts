/**
 * Probe an S3 object in place: ffprobe reads it through the loopback range proxy.
 */
import { excerptCandidate, probeWithExcerpt, type Reading } from "./excerpt-probe";
import { type FfprobeRun, type RunFfprobeOptions, runFfprobe } from "./ffprobe";
import { type ByteSource, type RangeProxyStats, startRangeProxy } from "./range-proxy";
import { type S3ObjectRef, s3Source } from "./s3-source";

export interface ProbeInPlaceOptions extends S3ObjectRef {
  ffprobePath: string;
  timeoutMs: number;
  maxOutputBytes?: number;
}

export interface ProbeInPlaceResult extends FfprobeRun {
  bytesRead: number;
  /** S3 GetObject requests. */
  requests: number;
  probeMs: number;
  contentType?: string;
  proxy: RangeProxyStats;
  /** How ffprobe read the object (excerpt-probe.ts). */
  reading: Reading;
}

/** Probes an S3 object through the loopback proxy. */
export function probeInPlace(options: ProbeInPlaceOptions): Promise<ProbeInPlaceResult> {
  return probeSource(s3Source(options), options);
}

export interface ProbeSourceOptions {
  ffprobePath: string;
  /** For the whole probe: both runs of an excerpt probe, and a run after it. */
  timeoutMs: number;
  maxOutputBytes?: number;
  memoryLimitMiB?: number;
  /**
   * Smallest first video sample that is read as an excerpt instead of whole (excerpt-probe.ts);
   * false never does. Default EXCERPT_MIN_SAMPLE_BYTES.
   */
  excerptMinSampleBytes?: number | false;
}

/** Probes any byte source through the loopback proxy (local files use this in the probe CLI). */
export async function probeSource(source: ByteSource, options: ProbeSourceOptions): Promise<ProbeInPlaceResult> {
  // Once S3 failed, the object changed or the input asked for anything but the object, the
  // probe's result is decided: stop ffprobe there.
  const stop = new AbortController();
  const proxy = await startRangeProxy({ source, onUpstreamError: () => stop.abort(), onRefused: () => stop.abort() });
  const started = performance.now();
  // The movie header and excerpt reads (excerpt-probe.ts) are the extractor's own, outside any
  // ffprobe run's timer: the probe's deadline ends a read S3 does not answer.
  const deadline = AbortSignal.any([stop.signal, AbortSignal.timeout(Math.max(1, options.timeoutMs))]);
  const runs: FfprobeRun[] = [];
  const runOnce = async (input: string, read?: RunFfprobeOptions["read"]) => {
    const run = await runFfprobe({
      ffprobePath: options.ffprobePath,
      input,
      // The deadline is the whole probe's: a later run gets what is left of it.
      timeoutMs: Math.max(1, Math.round(options.timeoutMs - (performance.now() - started))),
      maxOutputBytes: options.maxOutputBytes,
      memoryLimitMiB: options.memoryLimitMiB,
      signal: stop.signal,
      read,
    });
    runs.push(run);
    return run;
  };
  try {
    const sample =
      options.excerptMinSampleBytes === false
        ? undefined
        : await excerptCandidate(proxy, source.size, options.excerptMinSampleBytes, deadline);
    const excerpt =
      sample && !stop.signal.aborted ? await probeWithExcerpt(proxy, sample, runOnce, deadline) : undefined;
    // Nothing read yet (no header read for an excerpt): the first window comes before ffprobe,
    // so a replaced object, or an S3 failure, is known without starting ffprobe (range-proxy.ts).
    if (!excerpt && proxy.stats.s3Requests === 0) await proxy.prefetchFirstWindow(deadline).catch(() => undefined);
    // Nor is it started once S3 failed, or once S3 took the whole deadline: the run would be killed at once.
    const notRun = !excerpt && (proxy.stats.upstreamError !== undefined || deadline.aborted);
    const run = notRun
      ? { ...NOT_RUN, timedOut: proxy.stats.upstreamError === undefined, ms: Math.round(performance.now() - started) }
      : atDeadline(excerpt?.run ?? (await runOnce(proxy.url)), runs);
    return {
      ...withoutProxyUrl(run, proxy.url),
      reading: excerpt?.reading ?? "whole",
      bytesRead: proxy.stats.bytesRead,
      requests: proxy.stats.s3Requests,
      probeMs: Math.round(performance.now() - started),
      contentType: proxy.stats.contentType,
      proxy: { ...proxy.stats, slowestReadMs: proxy.slowestReadMs() },
    };
  } finally {
    await proxy.close();
  }
}

/** The run of a probe whose first S3 read failed or stalled: ffprobe was not started (the caller reports the S3 failure or stall). */
const NOT_RUN: FfprobeRun = {
  exitCode: null,
  signal: null,
  timedOut: false,
  cpuMs: 0,
  waitMs: 0,
  outputCapped: false,
  memoryExceeded: false,
  stderr: "",
  ms: 0,
};

/**
 * The runs of one probe share its deadline: a run killed at it is judged (probe-deadline.ts) on
 * the CPU, wait and wall time of all of them, not on the last run's share alone (after an
 * excerpt probe that one can be given a millisecond, and look blocked on its input).
 */
function atDeadline(run: FfprobeRun, runs: FfprobeRun[]): FfprobeRun {
  if (!run.timedOut || runs.length < 2) return run;
  const sum = (pick: (r: FfprobeRun) => number | undefined) => runs.reduce((total, r) => total + (pick(r) ?? 0), 0);
  return { ...run, cpuMs: sum((r) => r.cpuMs), waitMs: sum((r) => r.waitMs), ms: sum((r) => r.ms) };
}

/** What ffprobe's JSON names its input as, instead of the proxy's URL. */
export const INPUT_STAND_IN = "object";

/**
 * ffprobe's JSON names its input (`format.filename`): the proxy's loopback address, port and
 * unguessable path. The raw JSON is stored and any reader of the API can download it, so the
 * URL is replaced with a neutral word everywhere in it (and in the parsed output).
 */
function withoutProxyUrl(run: FfprobeRun, url: string): FfprobeRun {
  // ffprobe's JSON writer escapes only quotes, backslashes and control characters: the URL appears as is.
  const stdout = run.stdout?.includes(url)
    ? Buffer.from(run.stdout.toString("utf8").split(url).join(INPUT_STAND_IN))
    : run.stdout;
  const format = run.output?.format as (FfprobeRun["output"] & object)["format"] & { filename?: string };
  const output =
    format?.filename === undefined ? run.output : { ...run.output, format: { ...format, filename: INPUT_STAND_IN } };
  return { ...run, stdout, output };
}
