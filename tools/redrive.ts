/**
 * npm run redrive [-- --dir D] [--json]                                        # the lab
 * npm run redrive -- --stack NAME | --dlq-arn ARN [--queue-arn ARN]              # a stack
 *                    [--region R] [--max-per-second N] [--no-wait] [--json]
 *
 * Moves the extractor's dead letters back to its queue, so each object gets its deliveries
 * again (runbook: docs/runbooks/extractor-dlq-messages.md). Fix the cause first (the DLQ
 * alarm's runbook says how to find it), or the messages come straight back.
 *
 * Lab: the running lab's admin endpoint moves them (lab/pipeline-control.ts, redrive); with no
 * lab running on the folder, its queue files are changed directly and the next start
 * processes them.
 * Cloud: SQS StartMessageMoveTask from the dead-letter queue (SourceArn) to the extractor's
 * queue (DestinationArn; without --queue-arn SQS sends each message back to the queue it was
 * dead-lettered from), then ListMessageMoveTasks every 2 s for the progress line until the
 * task is COMPLETED, FAILED or CANCELLED (SQS API reference, StartMessageMoveTask and
 * ListMessageMoveTasksResultEntry). Only one move task may run per queue at a time.
 *
 * Exit codes: 0 moved (or nothing to move), 1 the move task failed or was cancelled, 2 usage
 * error, 3 no lab / AWS error.
 */
import * as fs from "node:fs";
import { ListMessageMoveTasksCommand, SQSClient, StartMessageMoveTaskCommand } from "@aws-sdk/client-sqs";
import { LabAdminClient } from "../lab/admin";
import { findRunningLab } from "../lab/control-cli";
import { defaultLabDir, LAB_QUEUE_NAMES, labPaths } from "../lab/lab";
import { LabQueue } from "../lab/queue";
import { sleep as defaultSleep } from "../lib/sleep";
import { type Cli, parseFlags, runCli } from "./cli";
import { type PulumiRunner, runPulumi, UsageError } from "./resume";
import { resolveStackValues } from "./stack-outputs";

export const USAGE = `usage:
  npm run redrive [-- --dir D] [--json]                     the lab (default)
  npm run redrive -- --stack NAME [options]                 a deployed stack
  npm run redrive -- --dlq-arn ARN [--queue-arn ARN] [options]

Moves the extractor's dead-lettered messages back to its queue (SQS StartMessageMoveTask).

  --dir <folder>        lab folder (default: $LAB_DIR or .lab)
  --stack NAME          read extractorDeadLetterQueueArn (and extractorQueueArn) from the stack's outputs
  --dlq-arn ARN         the dead-letter queue } override the stack's outputs
  --queue-arn ARN       the extractor's queue (default: each message's original queue)
  --region R            AWS region (default: the SDK's, e.g. AWS_REGION)
  --max-per-second N    move at most N messages a second (1-500; default: as fast as SQS goes)
  --no-wait             start the task and exit without following it
  --json                print the result as JSON
  --help                this text

Exit codes: 0 moved, 1 the task failed or was cancelled, 2 usage error, 3 no lab or AWS error.`;

export const REDRIVE_STACK_OUTPUTS = {
  dlqArn: { output: "extractorDeadLetterQueueArn", flag: "dlq-arn" },
  queueArn: { output: "extractorQueueArn", flag: "queue-arn" },
} as const;

export interface RedriveIo {
  stdout: (text: string) => void;
  /** The progress line (rewritten in place on a terminal). */
  progress: (text: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface RedriveDeps {
  pulumi?: PulumiRunner;
  sqs?: (region?: string) => SQSClient;
  /** Between two ListMessageMoveTasks calls. */
  sleep?: (ms: number) => Promise<void>;
  pollMs?: number;
}

export interface RedriveOutcome {
  where: "lab" | "cloud";
  status: "COMPLETED" | "RUNNING" | "FAILED" | "CANCELLED" | "NOTHING";
  moved: number;
  total?: number;
  from: string;
  to?: string;
  taskHandle?: string;
  failureReason?: string;
}

const defaultIo: RedriveIo = {
  stdout: (t) => process.stdout.write(t),
  progress: (t) => process.stderr.write(process.stderr.isTTY ? `\r\x1b[2K${t}` : `${t}\n`),
};

export function progressLine(o: { moved: number; total?: number; from: string; to?: string; status: string }): string {
  const of = o.total === undefined ? "" : ` of ${o.total}`;
  return `redrive: ${o.status.toLowerCase()}, ${o.moved}${of} message(s) moved from ${o.from} to ${o.to ?? "their source queue"}`;
}

/** The lab: through the running lab, or on its files when none runs. */
async function labRedrive(dir: string, io: RedriveIo): Promise<RedriveOutcome> {
  let running: ReturnType<typeof findRunningLab> | undefined;
  try {
    running = findRunningLab(dir);
  } catch {
    running = undefined;
  }
  if (running) {
    const r = await new LabAdminClient(running.endpoints.apiUrl, running.token).redrive();
    return { where: "lab", status: r.total === 0 ? "NOTHING" : "COMPLETED", ...r };
  }
  const paths = labPaths(dir);
  if (!fs.existsSync(paths.deadLetterQueue)) {
    return { where: "lab", status: "NOTHING", moved: 0, total: 0, from: LAB_QUEUE_NAMES.deadLetterQueue };
  }
  const dlq = await LabQueue.open({ name: LAB_QUEUE_NAMES.deadLetterQueue, file: paths.deadLetterQueue });
  const queue = await LabQueue.open({ name: LAB_QUEUE_NAMES.queue, file: paths.queue });
  try {
    const total = dlq.counts().visible + dlq.counts().inFlight;
    const moved = await dlq.moveMessagesTo(queue, (n, of) =>
      io.progress(progressLine({ moved: n, total: of, from: dlq.arn, to: queue.arn, status: "RUNNING" })),
    );
    return { where: "lab", status: total === 0 ? "NOTHING" : "COMPLETED", moved, total, from: dlq.arn, to: queue.arn };
  } finally {
    await dlq.close();
    await queue.close();
  }
}

/** The cloud: one StartMessageMoveTask, followed until it ends (unless `wait` is false). */
export async function cloudRedrive(
  sqs: SQSClient,
  input: { dlqArn: string; queueArn?: string; maxPerSecond?: number; wait: boolean },
  io: RedriveIo,
  deps: Pick<RedriveDeps, "sleep" | "pollMs"> = {},
): Promise<RedriveOutcome> {
  const sleep = deps.sleep ?? defaultSleep;
  const started = await sqs.send(
    new StartMessageMoveTaskCommand({
      SourceArn: input.dlqArn,
      ...(input.queueArn ? { DestinationArn: input.queueArn } : {}),
      ...(input.maxPerSecond ? { MaxNumberOfMessagesPerSecond: input.maxPerSecond } : {}),
    }),
  );
  const base = { where: "cloud" as const, from: input.dlqArn, to: input.queueArn, taskHandle: started.TaskHandle };
  if (!input.wait) return { ...base, status: "RUNNING", moved: 0 };
  for (;;) {
    const { Results = [] } = await sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: input.dlqArn, MaxResults: 10 }),
    );
    const task = Results.find((r) => r.TaskHandle === started.TaskHandle) ?? Results[0];
    const status = (task?.Status ?? "RUNNING") as string;
    const outcome: RedriveOutcome = {
      ...base,
      status: status === "CANCELLING" ? "RUNNING" : (status as RedriveOutcome["status"]),
      moved: task?.ApproximateNumberOfMessagesMoved ?? 0,
      ...(task?.ApproximateNumberOfMessagesToMove !== undefined
        ? { total: task.ApproximateNumberOfMessagesToMove }
        : {}),
      ...(task?.FailureReason ? { failureReason: task.FailureReason } : {}),
    };
    io.progress(progressLine(outcome));
    if (status === "COMPLETED" || status === "FAILED" || status === "CANCELLED") return outcome;
    await sleep(deps.pollMs ?? 2_000);
  }
}

export async function main(argv: string[], io: RedriveIo = defaultIo, deps: RedriveDeps = {}): Promise<number> {
  let values: {
    dir?: string;
    stack?: string;
    "dlq-arn"?: string;
    "queue-arn"?: string;
    region?: string;
    "max-per-second"?: string;
    "no-wait": boolean;
    json: boolean;
    help: boolean;
  };
  ({ values } = parseFlags(argv, {
    dir: { type: "string" },
    stack: { type: "string" },
    "dlq-arn": { type: "string" },
    "queue-arn": { type: "string" },
    region: { type: "string" },
    "max-per-second": { type: "string" },
    "no-wait": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  }));
  if (values.help) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  const cloud = values.stack !== undefined || values["dlq-arn"] !== undefined;
  let outcome: RedriveOutcome;
  try {
    const rate = values["max-per-second"] === undefined ? undefined : Number(values["max-per-second"]);
    if (rate !== undefined && !(Number.isInteger(rate) && rate >= 1 && rate <= 500)) {
      throw new UsageError("--max-per-second needs a whole number from 1 to 500");
    }
    if (cloud) {
      if (values.dir !== undefined) throw new UsageError("--dir is for the lab; not with --stack / --dlq-arn");
      const resolved = await resolveStackValues(
        REDRIVE_STACK_OUTPUTS,
        { dlqArn: values["dlq-arn"], queueArn: values["queue-arn"] },
        values.stack,
        deps.pulumi ?? runPulumi,
        ["queueArn"],
      );
      const sqs = (deps.sqs ?? ((region) => new SQSClient(region ? { region } : {})))(values.region);
      try {
        outcome = await cloudRedrive(
          sqs,
          {
            dlqArn: resolved.dlqArn as string,
            queueArn: resolved.queueArn,
            maxPerSecond: rate,
            wait: !values["no-wait"],
          },
          io,
          deps,
        );
      } finally {
        sqs.destroy();
      }
    } else {
      if (rate !== undefined || values["no-wait"] || values.region !== undefined) {
        throw new UsageError("--max-per-second, --no-wait and --region are for a stack (--stack / --dlq-arn)");
      }
      outcome = await labRedrive(
        defaultLabDir(values.dir === undefined ? (io.env ?? process.env) : { LAB_DIR: values.dir }),
        io,
      );
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    io.progress(`redrive: ${(err as Error).message}\n`);
    return 3;
  }
  io.stdout(
    values.json
      ? `${JSON.stringify(outcome, null, 2)}\n`
      : `${progressLine(outcome)}${outcome.failureReason ? ` (${outcome.failureReason})` : ""}\n`,
  );
  return outcome.status === "FAILED" || outcome.status === "CANCELLED" ? 1 : 0;
}

export const cli: Cli = {
  name: "redrive",
  usage: USAGE.replace(/\n\nExit codes:[\s\S]*$/, ""),
  exitCodes: { 1: "the move task failed or was cancelled", 3: "no lab running, or an AWS call failed" },
  main: (argv) => main(argv),
};

if (require.main === module) runCli(cli);
