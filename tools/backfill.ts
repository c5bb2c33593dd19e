/**
 * npm run backfill -- --stack NAME [--prefix P] [--only-outdated] [--region R] [--no-wait] [--json]
 * npm run backfill -- --state-machine ARN [...]
 *
 * Starts the stack's backfill (a Step Functions state machine whose Distributed Map lists the
 * ingest bucket and runs handlers/backfill/step-functions.ts on batches of objects) with input
 * {"prefix": P, "onlyOutdated": bool}, then follows it until it ends: DescribeExecution for
 * the status, ListMapRuns + DescribeMapRun for the item counts (a progress bar on stderr).
 * The state machine's ARN is the stack output `backfillStateMachineArn` (or --state-machine,
 * the way when the Pulumi CLI is not installed). The lab's backfill is
 * `npm run lab -- backfill` (lab/backfill.ts).
 *
 * Exit codes (tools/cli.ts): 0 the execution succeeded (or was started, with --no-wait), 1 it
 * failed, timed out or was aborted, 2 usage error, 3 an AWS call failed.
 */
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeMapRunCommand,
  type DescribeMapRunCommandOutput,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { ProgressBar } from "../lib/progress";
import { sleep as defaultSleep } from "../lib/sleep";
import { type Cli, parseFlags, runCli } from "./cli";
import { type PulumiRunner, runPulumi, UsageError } from "./resume";
import { resolveStackValues } from "./stack-outputs";

export const BACKFILL_STACK_OUTPUTS = {
  stateMachine: { output: "backfillStateMachineArn", flag: "state-machine" },
} as const;

export const USAGE = `usage:
  npm run backfill -- --stack NAME [options]
  npm run backfill -- --state-machine ARN [options]

Re-processes the stack's ingest bucket with the backfill state machine: every object whose
document is missing, stale or from an older extractor version goes through the extractor
again. (In the lab: npm run lab -- backfill.)

  --stack NAME            read backfillStateMachineArn from the stack's outputs
  --state-machine ARN     the state machine (overrides the stack; use it without the Pulumi CLI)
  --prefix P              only keys under P
  --only-outdated         only re-process documents of an older extractor version
  --region R              AWS region (default: the SDK's, e.g. AWS_REGION)
  --name NAME             execution name (default backfill-<time>)
  --no-wait               start it, print the execution ARN, do not follow it
  --poll-seconds N        how often to poll (default 5)
  --json                  print the final state as JSON`;

export const cli: Cli = {
  name: "backfill",
  usage: USAGE,
  exitCodes: { 1: "the execution failed, timed out or was aborted", 3: "an AWS call failed" },
  main: (argv) => main(argv),
};

export interface BackfillCliDeps {
  pulumi?: PulumiRunner;
  sfn?: (region?: string) => SFNClient;
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** Progress bar stream (default stderr; tests pass none). */
  progress?: NodeJS.WriteStream | null;
  sleep?: (ms: number) => Promise<void>;
}

type ItemCounts = NonNullable<DescribeMapRunCommandOutput["itemCounts"]>;

export interface BackfillRun {
  executionArn: string;
  status: string;
  startDate?: string;
  stopDate?: string;
  mapRunArn?: string;
  items?: ItemCounts;
  output?: unknown;
  error?: string;
  cause?: string;
}

function itemsLine(c: ItemCounts | undefined): string {
  if (!c) return "no map run yet";
  return `${c.succeeded ?? 0} succeeded, ${c.failed ?? 0} failed, ${c.timedOut ?? 0} timed out, ${c.aborted ?? 0} aborted, ${c.running ?? 0} running, ${c.pending ?? 0} pending of ${c.total ?? 0}`;
}

export async function main(argv: string[], deps: BackfillCliDeps = {}): Promise<number> {
  const out = deps.out ?? ((t: string) => process.stdout.write(t));
  const err = deps.err ?? ((t: string) => process.stderr.write(t));
  const sleep = deps.sleep ?? defaultSleep;
  let values: {
    stack?: string;
    "state-machine"?: string;
    prefix?: string;
    "only-outdated"?: boolean;
    region?: string;
    name?: string;
    "no-wait"?: boolean;
    "poll-seconds"?: string;
    json?: boolean;
    help?: boolean;
  };
  try {
    ({ values } = parseFlags(argv, {
      stack: { type: "string" },
      "state-machine": { type: "string" },
      prefix: { type: "string" },
      "only-outdated": { type: "boolean", default: false },
      region: { type: "string" },
      name: { type: "string" },
      "no-wait": { type: "boolean", default: false },
      "poll-seconds": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    }));
    if (values["poll-seconds"] !== undefined && !(Number(values["poll-seconds"]) > 0)) {
      throw new UsageError(`--poll-seconds needs a positive number, got ${JSON.stringify(values["poll-seconds"])}`);
    }
  } catch (e) {
    err(`backfill: ${(e as Error).message} (npm run backfill -- --help)\n`);
    return 2;
  }
  if (values.help) {
    out(`${USAGE}\n`);
    return 0;
  }
  let stateMachineArn: string;
  try {
    const resolved = await resolveStackValues(
      BACKFILL_STACK_OUTPUTS,
      { stateMachine: values["state-machine"] },
      values.stack,
      deps.pulumi ?? runPulumi,
    );
    stateMachineArn = resolved.stateMachine as string;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`backfill: ${e.message} (npm run backfill -- --help)\n`);
      return 2;
    }
    err(`backfill: ${(e as Error).message}\n`);
    return 3;
  }

  const sfn = (deps.sfn ?? ((region) => new SFNClient({ region })))(values.region);
  const pollMs = Number(values["poll-seconds"] ?? 5) * 1000;
  try {
    const input = { prefix: values.prefix ?? "", onlyOutdated: values["only-outdated"] === true };
    const name = values.name ?? `backfill-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    const executionArn = started.executionArn as string;
    err(`backfill: started ${executionArn} with ${JSON.stringify(input)}\n`);
    if (values["no-wait"]) {
      out(`${executionArn}\n`);
      return 0;
    }
    const progress = deps.progress === undefined ? process.stderr : deps.progress;
    const bar = progress ? new ProgressBar("backfill", progress) : undefined;
    const run: BackfillRun = { executionArn, status: "RUNNING" };
    let execution: DescribeExecutionCommandOutput;
    for (;;) {
      execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      run.status = execution.status ?? "UNKNOWN";
      if (!run.mapRunArn) {
        const runs = await sfn.send(new ListMapRunsCommand({ executionArn }));
        run.mapRunArn = runs.mapRuns?.[0]?.mapRunArn;
      }
      if (run.mapRunArn) {
        const mapRun = await sfn.send(new DescribeMapRunCommand({ mapRunArn: run.mapRunArn }));
        run.items = mapRun.itemCounts;
      }
      const c = run.items;
      const done = (c?.succeeded ?? 0) + (c?.failed ?? 0) + (c?.timedOut ?? 0) + (c?.aborted ?? 0);
      bar?.update({ done, total: c?.total ?? 0, detail: `${run.status}; ${itemsLine(c)}` });
      if (run.status !== "RUNNING") break;
      await sleep(pollMs);
    }
    bar?.finish({
      done: (run.items?.succeeded ?? 0) + (run.items?.failed ?? 0),
      total: run.items?.total ?? 0,
      detail: run.status,
    });
    run.startDate = execution.startDate?.toISOString();
    run.stopDate = execution.stopDate?.toISOString();
    if (execution.output) {
      try {
        run.output = JSON.parse(execution.output);
      } catch {
        run.output = execution.output;
      }
    }
    if (execution.error) run.error = execution.error;
    if (execution.cause) run.cause = execution.cause;
    if (values.json) {
      out(`${JSON.stringify(run, null, 2)}\n`);
    } else {
      const secs =
        execution.startDate && execution.stopDate
          ? ` in ${((execution.stopDate.getTime() - execution.startDate.getTime()) / 1000).toFixed(0)} s`
          : "";
      out(`backfill: ${run.status}${secs}: ${itemsLine(run.items)}\n`);
      if (run.error || run.cause) out(`  ${run.error ?? ""}${run.cause ? `: ${run.cause}` : ""}\n`);
      if (run.output !== undefined) out(`  output: ${JSON.stringify(run.output).slice(0, 2000)}\n`);
    }
    return run.status === "SUCCEEDED" ? 0 : 1;
  } catch (e) {
    err(`backfill: ${(e as Error).name}: ${(e as Error).message}\n`);
    return 3;
  } finally {
    sfn.destroy();
  }
}

if (require.main === module) runCli(cli);
