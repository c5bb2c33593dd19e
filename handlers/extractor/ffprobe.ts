/**
 * Running the pinned ffprobe: locating and verifying the binary, and one bounded run.
 *
 * Corrupt input can hang ffprobe and `-rw_timeout` does not always fire, so every run
 * has a process-level deadline after which the whole process group is SIGKILLed. Output
 * is streamed and capped instead of buffered without limit. Runs are started by a small
 * long-lived process, not by this one (ffprobe-launcher.ts).
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { FFPROBE_PIN } from "../../lib/ffprobe-pin";
import { FFPROBE_CPU_LIMIT_SECONDS, FFPROBE_MEMORY_LIMIT_MIB } from "../../lib/probe-limits";
import { launch } from "./ffprobe-launcher";
import {
  checkSandboxAvailable,
  ffprobeEnvironment,
  gconvFolder,
  LIMIT_NOT_APPLIED_EXIT,
  limitedCommand,
  refusedDemuxer,
  sandboxArgs,
} from "./ffprobe-sandbox";

/** The parts of ffprobe's JSON (-show_format -show_streams) the extractor reads. */
export interface FfprobeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  pix_fmt?: string;
  sample_rate?: string;
  channels?: number;
  channel_layout?: string;
  bit_rate?: string;
  duration?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
}

export interface FfprobeFormat {
  format_name?: string;
  format_long_name?: string;
  duration?: string;
  bit_rate?: string;
  start_time?: string;
  probe_score?: number;
  nb_streams?: number;
  tags?: Record<string, string>;
}

export interface FfprobeOutput {
  format?: FfprobeFormat;
  streams?: FfprobeStream[];
  chapters?: unknown[];
  error?: { code: number; string: string };
}

export interface FfprobeRun {
  /** Parsed JSON, or undefined when ffprobe printed none (crash, kill, cap). */
  output?: FfprobeOutput;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** True when the deadline passed and the process group was killed. */
  timedOut: boolean;
  /** CPU time ffprobe used (user + system, ms), sampled while it ran (ffprobe-launcher-program.ts); 0 where unknown. */
  cpuMs?: number;
  /** Time ffprobe was runnable but waited for a CPU (a busy machine), ms; 0 where unknown. */
  waitMs?: number;
  /** True when stdout exceeded maxOutputBytes and the process was killed. */
  outputCapped: boolean;
  /** True when an allocation failed at the memory limit (ffprobe said "Cannot allocate memory"). */
  memoryExceeded: boolean;
  /** The demuxer ffprobe found but was not allowed to open (see ffprobe-sandbox.ts). */
  refusedFormat?: string;
  /** The last STDERR_KEEP bytes of stderr. */
  stderr: string;
  /** Raw stdout (the full ffprobe JSON) when it was within the cap. */
  stdout?: Buffer;
  ms: number;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const STDERR_KEEP = 8 * 1024;

/**
 * The last `keep` characters of stderr, from a line start: a line cut in the middle could
 * hold the tail of an address or path ("0.1:8080/...", "ome/user/...") that the scrub of
 * failure-reason.ts no longer recognises, so the partial first line is dropped.
 */
export function stderrTail(text: string, keep: number): string {
  if (text.length <= keep) return text;
  const tail = text.slice(-keep);
  const lineStart = tail.indexOf("\n");
  return lineStart < 0 ? "" : tail.slice(lineStart + 1);
}

export interface RunFfprobeOptions {
  ffprobePath: string;
  /** A local path or a loopback http:// URL (the static build must not resolve names or speak TLS). */
  input: string;
  timeoutMs: number;
  maxOutputBytes?: number;
  /** Kills the run (its whole process group) when aborted: the caller already knows the outcome. */
  signal?: AbortSignal;
  /** Address-space limit of the child, MiB. Default FFPROBE_MEMORY_LIMIT_MIB (lib/probe-limits.ts). */
  memoryLimitMiB?: number;
  /** CPU time limit of the child, seconds. Default FFPROBE_CPU_LIMIT_SECONDS (lib/probe-limits.ts). */
  cpuLimitSeconds?: number;
  /** How the input is read (excerpt-probe.ts); default: as ffprobe decides. */
  read?: InputReading;
}

/** Input options of one run, for the two runs of excerpt-probe.ts. */
export interface InputReading {
  /**
   * `-probesize`: packet bytes ffprobe reads to complete the streams' facts. At the minimum
   * (32) it reads one packet, after the container's header.
   */
  probeSize?: number;
  /** `-f`: the demuxer, for an input that cannot be recognised by probing (a raw excerpt). It must be on the whitelist. */
  format?: string;
}

/**
 * The arguments for one probe: JSON, format and streams, errors only on stderr, and the
 * sandbox's protocol and format restrictions (ffprobe-sandbox.ts) before the input.
 */
export function ffprobeArgs(input: string, read: InputReading = {}): string[] {
  // Over the range proxy: fail a stalled read after 10 s, and continue after each bounded
  // response (see range-proxy.ts) with a new request from where the last one ended.
  const network = input.startsWith("http://") ? ["-rw_timeout", "10000000", "-reconnect", "1"] : [];
  return [
    "-hide_banner",
    "-v",
    "error",
    ...network,
    "-print_format",
    "json=compact=1",
    "-show_error",
    "-show_format",
    "-show_streams",
    "-show_chapters",
    ...sandboxArgs(input),
    ...(read.probeSize === undefined ? [] : ["-probesize", String(read.probeSize)]),
    ...(read.format === undefined ? [] : ["-f", read.format]),
    input,
  ];
}

/**
 * Runs ffprobe once under a deadline, an output cap and a memory limit, in an environment of
 * its own (ffprobe-sandbox.ts). Never rejects for ffprobe's own failures; rejects when ffprobe
 * cannot be started or its limit cannot be applied (faults of the environment, not the object).
 */
export async function runFfprobe(options: RunFfprobeOptions): Promise<FfprobeRun> {
  const gconvDir = await gconvFolder();
  const command = limitedCommand(
    options.ffprobePath,
    ffprobeArgs(options.input, options.read),
    options.memoryLimitMiB ?? FFPROBE_MEMORY_LIMIT_MIB,
    options.cpuLimitSeconds ?? FFPROBE_CPU_LIMIT_SECONDS,
  );
  const started = performance.now();
  const launched = await launch(
    {
      ...command,
      env: ffprobeEnvironment(gconvDir),
      timeoutMs: options.timeoutMs,
      maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
      stderrKeep: STDERR_KEEP,
    },
    options.signal,
  );
  if (launched.exitCode === LIMIT_NOT_APPLIED_EXIT) {
    throw new Error("cannot run ffprobe: its memory limit could not be applied");
  }
  const { stdout, timedOut } = launched;
  let output: FfprobeOutput | undefined;
  if (stdout && stdout.length > 0 && !timedOut) {
    try {
      output = JSON.parse(stdout.toString("utf8")) as FfprobeOutput;
    } catch {
      output = undefined;
    }
  }
  const stderr = stderrTail(launched.stderr, STDERR_KEEP);
  return {
    ...launched,
    output,
    memoryExceeded: !timedOut && /Cannot allocate memory/.test(stderr),
    refusedFormat: refusedDemuxer(stderr),
    stderr: stderr.trim(),
    ms: Math.round(performance.now() - started),
  };
}

/** SHA-256 of a file, lower-case hex. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Checks that `file` is the pinned build; throws naming both digests when it is not. */
export async function verifyFfprobe(file: string, expectedSha256: string): Promise<void> {
  const actual = await sha256File(file);
  if (actual !== expectedSha256) {
    throw new Error(`ffprobe at ${file} has sha256 ${actual}, expected the pinned ${expectedSha256}`);
  }
}

let localFfprobe: Promise<string> | undefined;

/**
 * The pinned x86_64 ffprobe from node_modules, verified, with its execute bit ensured
 * (npm may skip the package's postinstall chmod; then a verified copy is made under the
 * OS cache folder). For the local lab, the probe CLI, tests and the bench.
 */
export function resolveLocalFfprobe(): Promise<string> {
  localFfprobe ??= (async () => {
    const pin = FFPROBE_PIN.binaries.x86_64;
    const packageJson = require.resolve(`${pin.npmPackage}/package.json`);
    const installed: { version: string } = JSON.parse(await fs.readFile(packageJson, "utf8"));
    if (installed.version !== pin.version) {
      throw new Error(`${pin.npmPackage} ${installed.version} is installed, but ${pin.version} is pinned (run npm ci)`);
    }
    const file = path.join(path.dirname(packageJson), "ffprobe");
    await Promise.all([verifyFfprobe(file, pin.sha256), checkSandboxAvailable()]);
    try {
      await fs.access(file, fs.constants.X_OK);
      return file;
    } catch {
      const dir = path.join(os.tmpdir(), "media-pipeline-ffprobe", pin.sha256.slice(0, 16));
      const copy = path.join(dir, "ffprobe");
      await fs.mkdir(dir, { recursive: true });
      const tmp = `${copy}.${process.pid}`;
      await fs.copyFile(file, tmp);
      await fs.chmod(tmp, 0o755);
      await fs.rename(tmp, copy);
      return copy;
    }
  })();
  return localFfprobe;
}
