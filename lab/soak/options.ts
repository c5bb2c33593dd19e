/**
 * What a soak run takes (SoakOptions, with DEFAULT_SOAK) and what it reports (SoakReport):
 * shared by the phases of lab/soak/soak.ts and by tools/soak.ts.
 */
import type { FaultCounts, FaultRates } from "./fault-proxy";
import type { SoakLabConfig } from "./lab-process";

export interface SoakOptions {
  /** Files to upload (PUTs: new keys, overwrites, duplicates); deletes come on top. */
  files: number;
  writers: number;
  /** Stop uploading after this many seconds even if `files` is not reached. */
  seconds?: number;
  /** SIGKILL + restart of the lab, spread over the run. */
  kills: number;
  /** Keys every writer races on (PUT and DELETE). */
  hotKeys: number;
  faults: FaultRates;
  seed: number;
  /** Longest generated WAV, seconds (the largest files: about 1.7 MB at 44.1 kHz stereo for 10 s). */
  maxWavSeconds: number;
  /** Lab folder (default: a new temp folder, removed at the end unless `keep`). */
  dir?: string;
  keep?: boolean;
  /** Give up waiting for the queue to drain when its backlog has not shrunk for this long. */
  drainTimeoutMs: number;
  /** Give up waiting for the queue to drain after this long in any case. */
  drainCeilingMs: number;
  /** How long the lab stays down after a kill. */
  downtimeMs: number;
  /**
   * Queue settings of the soak's lab: maxReceiveCount 5 as the stack's queue; a failed message
   * comes back after 2 s, 4 s, 8 s, 16 s (on AWS: the whole visibility timeout, minutes; shorter
   * here, but still longer than a fault burst); 4 batches at once (the lab's default is 2;
   * Lambda would scale out further).
   */
  queue: SoakLabConfig["queue"];
  /** Busy processes loading the machine for the whole run (cpu-hog.ts); 0: none. */
  cpuHog: number;
  progress?: NodeJS.WriteStream;
}

export const DEFAULT_FAULTS: FaultRates = {
  dynamoThrottle: 0.08,
  dynamo5xx: 0.03,
  s3Errors: 0.04,
  s3Stalls: 0.02,
  s3Resets: 0.02,
  stallMs: 2_500,
  s3LongStalls: 0.002,
  longStallMs: 12_000,
  burstEveryMs: 20_000,
  burstMs: 2_000,
};

export const DEFAULT_SOAK: SoakOptions = {
  files: 3000,
  writers: 8,
  kills: 3,
  hotKeys: 16,
  faults: DEFAULT_FAULTS,
  seed: 1,
  maxWavSeconds: 10,
  drainTimeoutMs: 10 * 60_000,
  drainCeilingMs: 4 * 60 * 60_000,
  downtimeMs: 500,
  queue: { visibilityTimeoutMs: 30_000, maxReceiveCount: 5, retryBaseMs: 2_000, concurrency: 4 },
  cpuHog: 0,
};

export interface SoakReport {
  passed: boolean;
  seed: number;
  dir: string;
  writers: number;
  /** Busy processes that ran alongside, and the CPU seconds they took. */
  cpuHog: { processes: number; cpuSeconds: number };
  uploads: {
    puts: number;
    newKeys: number;
    overwrites: number;
    duplicates: number;
    recreated: number;
    deletes: number;
    hotPuts: number;
    hotDeletes: number;
    corrupt: number;
    bytes: number;
    /** Writer requests that failed (mostly while the lab was down) and were retried. */
    writerRetries: number;
    kinds: Record<string, number>;
  };
  timing: {
    uploadSeconds: number;
    drainSeconds: number;
    totalSeconds: number;
    uploadsPerSecond: number;
    documentsPerSecond: number;
  };
  faults: FaultCounts & {
    kills: number;
    /** Kills while a batch was being handled. */
    killsMidBatch: number;
    /** False when the rates inject nothing and no fault proxy ran (fault-proxy.ts, injectsFaults). */
    injected: boolean;
  };
  pipeline: {
    /** Extractor log lines "object processed", by outcome. */
    outcomes: Record<string, number>;
    /** Extractor failures sent back to the queue (transient and other). */
    retriedFailures: number;
    /** S3 changes replayed from the event journal after a kill. */
    drained: boolean;
    queueLeft: number;
  };
  result: {
    objects: number;
    documents: number;
    tombstones: number;
    ok: number;
    unprocessable: number;
    lost: string[];
    stale: string[];
    duplicated: string[];
    orphaned: string[];
    wrongStatus: { key: string; expected: string; got: string }[];
    unprocessableWithoutReason: string[];
    /** Keys whose messages are in the dead-letter queue. */
    deadLettered: string[];
    /**
     * Per dead-lettered message: its key, deliveries, the extractor's last error for the key, and
     * whether the key's document is right anyway (a later event of the key fixed it).
     */
    deadLetterDetails: { key: string; receiveCount: number; lastError?: string; documentRight: boolean }[];
    /** Writer-owned keys whose bucket state differs from the writer's last acknowledged request (a stand-in fault). */
    writerMismatch: string[];
  };
}
