/**
 * npm run soak [-- --files N] [--writers W] [--seconds S] [--kills K] [--hot-keys H] [--seed N]
 *              [--no-faults] [--ddb-throttle R] [--ddb-5xx R] [--s3-errors R] [--s3-stalls R]
 *              [--s3-resets R] [--stall-ms MS] [--s3-long-stalls R] [--long-stall-ms MS] [--burst-every MS] [--burst-ms MS] [--max-wav-seconds S] [--cpu-hog N] [--dir D] [--keep] [--json]
 *
 * The lab under load and injected faults, then the bucket reconciled against the table
 * (lab/soak/soak.ts; docs/backfill.md says what it proves). Progress on stderr, the report
 * on stdout. Exit codes (tools/cli.ts): 0 passed, 1 a document was lost, duplicated, stale,
 * orphaned or of the wrong status (or the queue did not drain), 2 usage error.
 */
import { NO_FAULTS } from "../lab/soak/fault-proxy";
import { DEFAULT_SOAK, formatSoakReport, runSoak, type SoakOptions } from "../lab/soak/soak";
import { type Cli, parseFlags, runCli, UsageError } from "./cli";

export const USAGE = `usage: npm run soak [-- options]

  --files N            files to upload (new keys, overwrites, duplicates; default ${DEFAULT_SOAK.files})
  --writers W          concurrent writers (default ${DEFAULT_SOAK.writers})
  --seconds S          stop uploading after S seconds even if N is not reached
  --kills K            SIGKILL + restart of the lab during the run (default ${DEFAULT_SOAK.kills})
  --hot-keys H         keys all writers race on (default ${DEFAULT_SOAK.hotKeys})
  --seed N             workload and fault pattern (default ${DEFAULT_SOAK.seed})
  --no-faults          no injected DynamoDB or S3 faults (kills still happen unless --kills 0)
  --ddb-throttle R     share of DynamoDB requests throttled (default ${DEFAULT_SOAK.faults.dynamoThrottle})
  --ddb-5xx R          share of DynamoDB requests answered 500 (default ${DEFAULT_SOAK.faults.dynamo5xx})
  --s3-errors R        share of ranged S3 GETs answered 503/500 (default ${DEFAULT_SOAK.faults.s3Errors})
  --s3-stalls R        share of ranged S3 GETs stalled (default ${DEFAULT_SOAK.faults.s3Stalls})
  --s3-resets R        share of ranged S3 GETs cut mid-body (default ${DEFAULT_SOAK.faults.s3Resets})
  --stall-ms MS        length of a stall (default ${DEFAULT_SOAK.faults.stallMs})
  --s3-long-stalls R   share of ranged S3 GETs stalled longer than ffprobe waits (default ${DEFAULT_SOAK.faults.s3LongStalls})
  --long-stall-ms MS   length of a long stall (default ${DEFAULT_SOAK.faults.longStallMs})
  --burst-every MS     mean time between failure bursts, per proxy (default ${DEFAULT_SOAK.faults.burstEveryMs}; 0: none)
  --burst-ms MS        length of a burst (default ${DEFAULT_SOAK.faults.burstMs})
  --cpu-hog N          N busy processes load the machine for the whole run (stopped at the end; default 0)
  --max-wav-seconds S  longest generated WAV (default ${DEFAULT_SOAK.maxWavSeconds})
  --dir D              lab folder to use (kept); default a temp folder, removed unless --keep
  --keep               keep the temp lab folder
  --json               print the report as JSON`;

function num(flag: string, raw: string | undefined, max = Number.POSITIVE_INFINITY): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > max)
    throw new UsageError(`--${flag} needs a number in [0, ${max}], got ${JSON.stringify(raw)}`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  let options: Partial<SoakOptions>;
  let json = false;
  try {
    const { values } = parseFlags(argv, {
      files: { type: "string" },
      writers: { type: "string" },
      seconds: { type: "string" },
      kills: { type: "string" },
      "hot-keys": { type: "string" },
      seed: { type: "string" },
      "no-faults": { type: "boolean", default: false },
      "ddb-throttle": { type: "string" },
      "ddb-5xx": { type: "string" },
      "s3-errors": { type: "string" },
      "s3-stalls": { type: "string" },
      "s3-resets": { type: "string" },
      "stall-ms": { type: "string" },
      "s3-long-stalls": { type: "string" },
      "long-stall-ms": { type: "string" },
      "burst-every": { type: "string" },
      "burst-ms": { type: "string" },
      "max-wav-seconds": { type: "string" },
      "cpu-hog": { type: "string" },
      dir: { type: "string" },
      keep: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    json = values.json ?? false;
    const base = values["no-faults"] ? NO_FAULTS : DEFAULT_SOAK.faults;
    const faults = {
      dynamoThrottle: num("ddb-throttle", values["ddb-throttle"], 1) ?? base.dynamoThrottle,
      dynamo5xx: num("ddb-5xx", values["ddb-5xx"], 1) ?? base.dynamo5xx,
      s3Errors: num("s3-errors", values["s3-errors"], 1) ?? base.s3Errors,
      s3Stalls: num("s3-stalls", values["s3-stalls"], 1) ?? base.s3Stalls,
      s3Resets: num("s3-resets", values["s3-resets"], 1) ?? base.s3Resets,
      stallMs: num("stall-ms", values["stall-ms"]) ?? DEFAULT_SOAK.faults.stallMs,
      s3LongStalls: num("s3-long-stalls", values["s3-long-stalls"], 1) ?? base.s3LongStalls,
      longStallMs: num("long-stall-ms", values["long-stall-ms"]) ?? DEFAULT_SOAK.faults.longStallMs,
      burstEveryMs: num("burst-every", values["burst-every"]) ?? base.burstEveryMs,
      burstMs: num("burst-ms", values["burst-ms"]) ?? DEFAULT_SOAK.faults.burstMs,
    };
    options = {
      faults,
      keep: values.keep,
      dir: values.dir,
      progress: process.stderr,
      ...(values.files !== undefined ? { files: num("files", values.files) } : {}),
      ...(values.writers !== undefined ? { writers: Math.max(1, num("writers", values.writers) ?? 1) } : {}),
      ...(values.seconds !== undefined ? { seconds: num("seconds", values.seconds) } : {}),
      ...(values.kills !== undefined ? { kills: num("kills", values.kills) } : {}),
      ...(values["hot-keys"] !== undefined ? { hotKeys: num("hot-keys", values["hot-keys"]) } : {}),
      ...(values.seed !== undefined ? { seed: num("seed", values.seed) } : {}),
      ...(values["cpu-hog"] !== undefined ? { cpuHog: Math.floor(num("cpu-hog", values["cpu-hog"], 16) ?? 0) } : {}),
      ...(values["max-wav-seconds"] !== undefined
        ? { maxWavSeconds: Math.max(2, num("max-wav-seconds", values["max-wav-seconds"]) ?? 2) }
        : {}),
    };
    if (values.seconds !== undefined && values.files === undefined) options.files = Number.MAX_SAFE_INTEGER;
  } catch (err) {
    process.stderr.write(`soak: ${(err as Error).message} (npm run soak -- --help)\n`);
    return 2;
  }
  const report = await runSoak(options);
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatSoakReport(report));
  return report.passed ? 0 : 1;
}

export const cli: Cli = {
  name: "soak",
  usage: USAGE,
  exitCodes: {
    1: "a document was lost, duplicated, stale, orphaned or of the wrong status, or the queue did not drain",
  },
  main: (argv) => main(argv),
};

if (require.main === module) runCli(cli);
