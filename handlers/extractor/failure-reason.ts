/**
 * The `reason` of an unprocessable document: why ffprobe could not describe the object, in
 * words any reader of the API may see.
 *
 * A reason is stored and served, so it must never carry what is inside the function: no
 * addresses, ports, URLs, paths, memory addresses or network errors (which, for an input that
 * names other hosts, would let a reader scan the function's network). Refusals by the sandbox
 * get fixed sentences; ffprobe's own messages are kept only after scrubbing.
 */
import { MAX_REASON_CHARS } from "../../lib/schema";
import type { FfprobeRun } from "./ffprobe";
import { REFERENCE_DEMUXERS } from "./ffprobe-sandbox";
import type { RangeProxyStats } from "./range-proxy";

/** What a failed run needs to be explained: ffprobe's result and, through the proxy, what it asked for. */
export type FailedRun = Pick<
  FfprobeRun,
  "timedOut" | "outputCapped" | "memoryExceeded" | "refusedFormat" | "stderr" | "exitCode" | "signal" | "output"
> & { proxy?: Pick<RangeProxyStats, "otherPaths" | "overBudget"> };

export const REFERENCE_REASON = "references another resource (a playlist, manifest or reference file): not probed";
export const MEMORY_REASON = "exceeded the memory limit while being read: not probed";
export const REREAD_REASON = "made the reader fetch the object over and over: not probed";

/** Anything that could locate something inside the function, replaced by a neutral word. */
const SCRUB: [RegExp, string][] = [
  [/\s*@ 0x[0-9a-f]+/gi, ""], // "[mov,mp4,... @ 0x19a0f480]"
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"]*/gi, "(a location)"], // URLs of any scheme
  [/\[[0-9a-f:]*:[0-9a-f:]+\](:\d+)?/gi, "(an address)"], // [IPv6]:port
  [/\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b/g, "(an address)"], // IPv4[:port]
  [/\bport \d+/gi, "a port"],
  [/(^|[\s'"(=])\/[^\s'"):]+/g, "$1(a path)"], // absolute paths
];

/**
 * ffprobe's own refusals of a reference format before the whitelist is consulted: the HLS
 * demuxer of this build declines a playlist served without an .m3u8 name or an HLS MIME type
 * (the range proxy sends neither).
 */
const REFERENCE_REFUSALS = /Not detecting m3u8\/hls/;

/** ffprobe's messages that describe reading, not the object. */
const NOISE =
  /Stream ends prematurely|Will reconnect|Connection (refused|reset|timed out)|HTTP error|Network is unreachable/i;

export function scrub(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SCRUB) out = out.replace(pattern, replacement);
  return out.trim();
}

/** A readable, leak-free cause for a failed ffprobe run. */
export function failureReason(run: FailedRun, timeoutMs: number): string {
  if (
    (run.refusedFormat && REFERENCE_DEMUXERS.has(run.refusedFormat)) ||
    (run.proxy?.otherPaths ?? 0) > 0 ||
    REFERENCE_REFUSALS.test(run.stderr)
  ) {
    return REFERENCE_REASON;
  }
  if (run.refusedFormat) return `its format (${run.refusedFormat}) is not one the pipeline reads: not probed`;
  if ((run.proxy?.overBudget ?? 0) > 0) return REREAD_REASON;
  if (run.memoryExceeded) return MEMORY_REASON;
  if (run.timedOut) return `ffprobe did not finish within ${timeoutMs} ms and was killed`;
  if (run.outputCapped) return "ffprobe output exceeded its size cap; the object was not read";
  const lines = run.stderr
    .split("\n")
    .filter((l) => l.trim() && !NOISE.test(l))
    .map(scrub)
    // ffprobe prefixes its last line with the input's URL, which the scrub turned into a word.
    .map((l) => l.replace(/^\(a location\):?\s*/, ""))
    .filter(Boolean);
  const detail = [...new Set([...lines, run.output?.error?.string].filter((s): s is string => !!s))].join("; ");
  const exit = run.signal ? `signal ${run.signal}` : `exit code ${run.exitCode}`;
  return `ffprobe could not read the object (${exit})${detail ? `: ${detail}` : ""}`.slice(0, MAX_REASON_CHARS);
}
