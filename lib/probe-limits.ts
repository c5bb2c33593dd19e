/**
 * How much of a function one ffprobe may use, and so how many run at once: declared once for
 * the extractor component (components/metadata-extractor.ts), the Lambda handler
 * (handlers/extractor/index.ts), the backfill and the local lab.
 *
 * An upload chooses what ffprobe parses, and a small file can make it allocate a lot (a 3 MB
 * MP4 with 1,000 audio tracks took one ffprobe to 644 MB). Each ffprobe therefore runs under
 * an address-space limit (RLIMIT_AS, handlers/extractor/ffprobe-sandbox.ts), and a function
 * probes only as many objects at once as its memory holds at that limit, beside what Node
 * itself needs.
 */

/**
 * Address space one ffprobe may map, MiB. It includes the 79 MB static binary and its stacks
 * (about 100 MiB before any input is read); ordinary uploads peak at 15-20 MB resident, a 4K
 * video's first decoded frames at about 150 MB.
 */
export const FFPROBE_MEMORY_LIMIT_MIB = 384;

/**
 * CPU time one ffprobe may use, seconds (RLIMIT_CPU, handlers/extractor/ffprobe-sandbox.ts).
 * Probing reads headers and decodes a few frames: ordinary uploads take well under 1 s of CPU
 * here (a 119 MB fragmented MP4 read whole: 0.2 s; a 42-megapixel PNG, the heaviest measured:
 * 0.96 s), and Lambda's cores may be slower than this machine's: 5 s leaves room for both. An input can make FFmpeg compute without
 * reading (a 4 MB Matroska with 200,000 chapters in descending id order: minutes, quadratic),
 * which neither the proxy's request budget nor the memory limit sees; this ends it in seconds
 * instead of at the probe deadline. CPU time, not wall time: a busy or throttled host does not
 * bring it closer.
 */
export const FFPROBE_CPU_LIMIT_SECONDS = 5;

/**
 * What the function's own process (Node, the AWS SDK, the range proxies) and ffprobe's launcher
 * (handlers/extractor/ffprobe-launcher.ts: a small Node process, 46 MB resident idle here,
 * 60 MB after 200 runs, 125 MB at most while three 16 MiB outputs pass through it) are left, MiB.
 */
export const HANDLER_MEMORY_RESERVE_MIB = 256;

/** At most this many probes at once per process, however large the function. */
export const MAX_PROBE_SLOTS = 8;

/**
 * How many objects one invocation (one process) probes at once with `memoryMb` of memory:
 * what is left after the handler's reserve, divided by the per-ffprobe limit, at least 1.
 * 1024 MB -> 2, 1769 MB -> 3, 3008 MB -> 7.
 */
export function probeSlots(memoryMb: number): number {
  const slots = Math.floor((memoryMb - HANDLER_MEMORY_RESERVE_MIB) / FFPROBE_MEMORY_LIMIT_MIB);
  return Math.min(MAX_PROBE_SLOTS, Math.max(1, slots));
}

/** The smallest function memory that holds one probe at its limit beside the handler, MB. */
export const MIN_PROBE_MEMORY_MB = HANDLER_MEMORY_RESERVE_MIB + FFPROBE_MEMORY_LIMIT_MIB;

/**
 * Memory the local lab, the probe CLI and the bench behave as if they had, MB (the dev stack's
 * extractor size), so they probe as many objects at once as a dev function would.
 */
export const LOCAL_MEMORY_MB = 1024;

/**
 * Probe slots of this process: in Lambda from AWS_LAMBDA_FUNCTION_MEMORY_SIZE (a reserved
 * variable the runtime sets to the function's memory, MB; Lambda developer guide, "Defined
 * runtime environment variables"), elsewhere from LOCAL_MEMORY_MB.
 */
export function probeSlotsHere(env: NodeJS.ProcessEnv = process.env): number {
  const memory = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return probeSlots(Number.isFinite(memory) && memory > 0 ? memory : LOCAL_MEMORY_MB);
}

/** Time one record needs after its probe for S3 and DynamoDB writes, ms. */
export const WRITE_MARGIN_MS = 5_000;

/**
 * How long a batch of `batchSize` records can take in a function of `memoryMb`: its records
 * probe `probeSlots` at a time, each round up to the probe deadline, plus the writes.
 */
export function worstBatchMs(batchSize: number, memoryMb: number, probeTimeoutMs: number): number {
  return Math.ceil(batchSize / probeSlots(memoryMb)) * probeTimeoutMs + WRITE_MARGIN_MS;
}

/**
 * The largest batch (at most 10, the SQS default for Lambda) that finishes within the
 * function's timeout even when every probe runs to its deadline; at least 1.
 */
export function defaultBatchSize(memoryMb: number, timeoutSeconds: number, probeTimeoutMs: number): number {
  let size = 10;
  while (size > 1 && worstBatchMs(size, memoryMb, probeTimeoutMs) > timeoutSeconds * 1000) size -= 1;
  return size;
}
