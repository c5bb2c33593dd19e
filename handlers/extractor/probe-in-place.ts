/**
 * Probe an S3 object in place: ffprobe reads it through the loopback range proxy.
 */
import { type FfprobeRun, runFfprobe } from "./ffprobe";
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
}

/** Probes an S3 object through the loopback proxy. */
export function probeInPlace(options: ProbeInPlaceOptions): Promise<ProbeInPlaceResult> {
  return probeSource(s3Source(options), options);
}

/** Probes any byte source through the loopback proxy (local files use this in the probe CLI). */
export async function probeSource(
  source: ByteSource,
  options: { ffprobePath: string; timeoutMs: number; maxOutputBytes?: number; memoryLimitMiB?: number },
): Promise<ProbeInPlaceResult> {
  // Once S3 failed, the object changed or the input asked for anything but the object, the
  // probe's result is decided: stop ffprobe there.
  const stop = new AbortController();
  const proxy = await startRangeProxy({ source, onUpstreamError: () => stop.abort(), onRefused: () => stop.abort() });
  try {
    const run = await runFfprobe({
      ffprobePath: options.ffprobePath,
      input: proxy.url,
      timeoutMs: options.timeoutMs,
      maxOutputBytes: options.maxOutputBytes,
      memoryLimitMiB: options.memoryLimitMiB,
      signal: stop.signal,
    });
    return {
      ...run,
      bytesRead: proxy.stats.bytesRead,
      requests: proxy.stats.s3Requests,
      probeMs: run.ms,
      contentType: proxy.stats.contentType,
      proxy: { ...proxy.stats, slowestReadMs: proxy.slowestReadMs() },
    };
  } finally {
    await proxy.close();
  }
}
