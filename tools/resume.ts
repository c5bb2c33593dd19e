/**
 * npm run resume -- --stack NAME [--status] [--region REGION]
 * npm run resume -- --extractor-function F --api-function F --event-source-mapping UUID [--backfill-function F] [--status]
 *
 * Undoes a kill-switch pause (docs/kill-switch.md): restores each function's reserved
 * concurrency from its media-pipeline:previous-concurrency tag (or removes the limit when
 * there was none), removes the pause tags, then re-enables the extractor's event source
 * mapping. Safe to run twice, and when nothing is paused it changes nothing.
 * --status prints whether the pipeline is paused, since when and why, and changes nothing.
 *
 * The names come from `pulumi stack output --json --stack NAME` (outputs listed in
 * STACK_OUTPUTS); the explicit flags override them, and are the way when the Pulumi CLI is
 * not installed. Exit codes (tools/cli.ts): 0 done, 1 an AWS call failed, 2 usage or
 * configuration error.
 */
import { execFile } from "node:child_process";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { createLambdaPipelineControl } from "../handlers/kill-switch/lambda-control";
import { formatPipelineStatus } from "../lib/pipeline-control";
import { type Cli, parseFlags, runCli, UsageError } from "./cli";

/** Stack outputs this command reads; the Pulumi program exports them under these names. */
export const STACK_OUTPUTS = {
  extractorFunction: "extractorFunctionName",
  apiFunction: "apiFunctionName",
  eventSourceMapping: "extractorEventSourceMappingUuid",
  /** Optional: stacks deployed before the kill switch paused the backfill do not export it. */
  backfillFunction: "backfillFunctionName",
} as const;

type TargetKey = keyof typeof STACK_OUTPUTS;
/** Targets that may be missing (older stacks): resumed when known. */
const OPTIONAL_TARGETS: readonly TargetKey[] = ["backfillFunction"];
export type Targets = Record<Exclude<TargetKey, "backfillFunction">, string> & { backfillFunction?: string };

const FLAGS: Record<TargetKey, string> = {
  extractorFunction: "extractor-function",
  apiFunction: "api-function",
  eventSourceMapping: "event-source-mapping",
  backfillFunction: "backfill-function",
};

export const USAGE = `usage:
  npm run resume -- --stack NAME [--status] [--region REGION]
  npm run resume -- --extractor-function NAME --api-function NAME --event-source-mapping UUID
                    [--backfill-function NAME] [--status]

Resumes a pipeline paused by the budget kill switch: restores the functions' reserved
concurrency, removes the pause tags, re-enables the extractor's event source mapping.
Running it again, or on a pipeline that is not paused, changes nothing.

  --stack NAME                  read names from \`pulumi stack output --json --stack NAME\`
                                (outputs ${Object.values(STACK_OUTPUTS).join(", ")})
  --extractor-function NAME     extractor function name or ARN    } use these three when the
  --api-function NAME           read API function name or ARN     } Pulumi CLI is not installed;
  --event-source-mapping UUID   the extractor's SQS mapping UUID  } they override stack outputs
  --backfill-function NAME      backfill function name or ARN (paused too; optional)
  --status                      print whether paused, since when and why; change nothing
  --region REGION               AWS region (default: the SDK's, e.g. AWS_REGION)`;

/** The usage error of the convention (tools/cli.ts), re-exported for the tools importing it from here. */
export { UsageError };

export const cli: Cli = {
  name: "resume",
  usage: USAGE,
  exitCodes: { 1: "an AWS call failed", 2: "usage error (also: no target given, or --stack without the Pulumi CLI)" },
  main: (argv) => main(argv),
};

/** Runs the Pulumi CLI; undefined when it is not installed. */
export type PulumiRunner = (args: string[]) => Promise<string | undefined>;

export const runPulumi: PulumiRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile("pulumi", args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === "ENOENT") return resolve(undefined);
      if (err) return reject(new Error(`pulumi ${args.join(" ")} failed: ${stderr.trim() || err.message}`));
      resolve(stdout);
    });
  });

export async function resolveTargets(
  values: Partial<Record<TargetKey, string>> & { stack?: string },
  pulumi: PulumiRunner,
): Promise<Targets> {
  const given = Object.fromEntries(
    (Object.keys(STACK_OUTPUTS) as TargetKey[]).filter((k) => values[k]).map((k) => [k, values[k] as string]),
  ) as Partial<Targets>;
  const unresolved = () => (Object.keys(STACK_OUTPUTS) as TargetKey[]).filter((k) => !given[k]);
  const missing = () => unresolved().filter((k) => !OPTIONAL_TARGETS.includes(k));
  if (unresolved().length === 0 || (missing().length === 0 && !values.stack)) return given as Targets;
  if (!values.stack) {
    throw new UsageError(
      `give --stack NAME, or all of ${(Object.keys(FLAGS) as TargetKey[])
        .filter((k) => !OPTIONAL_TARGETS.includes(k))
        .map((k) => `--${FLAGS[k]}`)
        .join(", ")}`,
    );
  }
  const json = await pulumi(["stack", "output", "--json", "--stack", values.stack]);
  if (json === undefined) {
    if (missing().length === 0) return given as Targets;
    throw new UsageError(
      `the pulumi CLI is not installed; pass ${missing()
        .map((k) => `--${FLAGS[k]}`)
        .join(", ")} instead`,
    );
  }
  let outputs: Record<string, unknown>;
  try {
    outputs = JSON.parse(json);
  } catch (err) {
    throw new UsageError(`stack ${values.stack}: pulumi printed no JSON outputs (${(err as Error).message})`);
  }
  for (const key of unresolved()) {
    const value = outputs[STACK_OUTPUTS[key]];
    if (typeof value === "string" && value !== "") given[key] = value;
  }
  const still = missing();
  if (still.length > 0) {
    throw new UsageError(
      `stack ${values.stack} has no output ${still.map((k) => STACK_OUTPUTS[k]).join(", ")}; pass ${still.map((k) => `--${FLAGS[k]}`).join(", ")}`,
    );
  }
  return given as Targets;
}

/** The status as printed (shared with the lab's `npm run lab -- status`). */
export const formatStatus = formatPipelineStatus;

export interface ResumeDeps {
  pulumi?: PulumiRunner;
  /** Builds the Lambda client (tests pass a mocked one). */
  lambda?: (region?: string) => LambdaClient;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

export async function main(argv: string[], deps: ResumeDeps = {}): Promise<number> {
  const out = deps.out ?? ((line: string) => console.log(line));
  const err = deps.err ?? ((line: string) => console.error(line));
  try {
    const { values } = parseFlags(argv, {
      stack: { type: "string" },
      status: { type: "boolean", default: false },
      region: { type: "string" },
      help: { type: "boolean", default: false },
      [FLAGS.extractorFunction]: { type: "string" },
      [FLAGS.apiFunction]: { type: "string" },
      [FLAGS.eventSourceMapping]: { type: "string" },
      [FLAGS.backfillFunction]: { type: "string" },
    });
    if (values.help) {
      out(USAGE);
      return 0;
    }
    const flag = (k: TargetKey) => values[FLAGS[k]] as string | undefined;
    const targets = await resolveTargets(
      {
        stack: values.stack,
        extractorFunction: flag("extractorFunction"),
        apiFunction: flag("apiFunction"),
        eventSourceMapping: flag("eventSourceMapping"),
        backfillFunction: flag("backfillFunction"),
      },
      deps.pulumi ?? runPulumi,
    );
    const lambda = deps.lambda?.(values.region) ?? new LambdaClient(values.region ? { region: values.region } : {});
    const control = createLambdaPipelineControl({
      lambda,
      // The kill switch's order: consumer, backfill, API (handlers/kill-switch/config.ts).
      functions: [
        targets.extractorFunction,
        ...(targets.backfillFunction ? [targets.backfillFunction] : []),
        targets.apiFunction,
      ],
      eventSourceMappingUuid: targets.eventSourceMapping,
    });
    if (values.status) {
      out(formatStatus(await control.status()));
      return 0;
    }
    const result = await control.resume();
    if (result.wasRunning) out("nothing to resume: the pipeline was not paused; nothing changed");
    else for (const change of result.changes) out(`resumed: ${change}`);
    out(formatStatus(result.status));
    return 0;
  } catch (e) {
    const usage = e instanceof UsageError;
    err(`resume: ${(e as Error).message}${usage ? " (npm run resume -- --help)" : ""}`);
    return usage ? 2 : 1;
  }
}

if (require.main === module) runCli(cli);
