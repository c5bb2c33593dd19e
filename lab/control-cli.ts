/**
 * The lab CLI's pipeline-control commands, talking to the RUNNING lab (found through
 * <lab dir>/endpoints.json) over its loopback admin endpoints (lab/admin.ts):
 *
 *   npm run lab -- pause [--reason TEXT] [--dir D] [--json]
 *   npm run lab -- resume [--dir D] [--json]
 *   npm run lab -- status [--dir D] [--json]
 *   npm run lab -- budget-alert --file <message.txt | sns-event.json | -> [--dir D] [--json]
 *
 * budget-alert feeds an AWS Budgets message (the text Budgets publishes to SNS, or a whole
 * SNS event) to the kill switch's own handleBudgetNotifications inside the lab, with the
 * lab's PipelineControl and the policy of KILL_SWITCH_THRESHOLD_PERCENT /
 * KILL_SWITCH_PAUSE_ON_FORECAST as set for this command.
 *
 * Exit codes (tools/cli.ts): 0 done; 1 the lab refused or failed (or the alert was
 * unparseable, or its pause failed); 2 usage error; 3 no lab is running on the folder.
 */
import * as fs from "node:fs";
import { readKillSwitchPolicy } from "../handlers/kill-switch/config";
import { formatPipelineStatus, type PipelineStatus } from "../lib/pipeline-control";
import { asUsageError, oneLine, parseFlags, UsageError } from "../tools/cli";
import { LabAdminClient, LabAdminError, labAdminTokenFile, snsEventFromFile } from "./admin";
import { defaultLabDir, type LabEndpoints, labPaths, processAlive } from "./lab";
import { FOR_THIS_RUN } from "./pipeline-control";

export const CONTROL_COMMANDS = ["pause", "resume", "status", "budget-alert"] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export const CONTROL_USAGE = `  pause [--reason TEXT] pause the running lab's pipeline: uploads queue up, nothing is processed;
                        recorded in <folder>/data/pause.json, so a restarted lab stays paused
  resume                resume it: everything queued meanwhile is processed
  status                paused or running, since when and why, queue and dead-letter depth
  budget-alert --file F run an AWS Budgets message (the text Budgets publishes to SNS, or an SNS event
                        JSON; - for stdin) through the kill switch against the lab, as in the cloud
                        (policy: $KILL_SWITCH_THRESHOLD_PERCENT, $KILL_SWITCH_PAUSE_ON_FORECAST)
                        (these four take --dir <folder> and --json; exit 3 when no lab runs there)`;

/** Exit code when no lab is running on the folder. */
export const EXIT_NO_LAB = 3;

export interface ControlIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** For `--file -`. */
  stdin?: () => string;
}

const defaultIo: ControlIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Exit code 2 with a message: bad usage. */
class Refusal extends UsageError {}

/** Exit code 3 (EXIT_NO_LAB): no lab is running on the folder. */
export class NoLabError extends Error {
  override name = "NoLabError";
}

/** The running lab's endpoints and admin token; a Refusal when no lab runs on `dir`. */
export function findRunningLab(dir: string): { endpoints: LabEndpoints; token: string } {
  const paths = labPaths(dir);
  const file = paths.endpoints;
  const recorded = fs.existsSync(paths.pause) ? `; a pause is recorded (${paths.pause}): it will start paused` : "";
  let endpoints: LabEndpoints;
  try {
    endpoints = JSON.parse(fs.readFileSync(file, "utf8")) as LabEndpoints;
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no" : "unreadable";
    throw new NoLabError(
      `no lab is running on ${dir} (${why} ${file}): start one with npm start -- --dir '${dir}'${recorded}`,
    );
  }
  if (!Number.isInteger(endpoints.pid) || !processAlive(endpoints.pid)) {
    throw new NoLabError(
      `no lab is running on ${dir}: ${file} is left over from pid ${endpoints.pid}, which is gone${recorded}`,
    );
  }
  const tokenFile = labAdminTokenFile(dir);
  let token: string;
  try {
    token = fs.readFileSync(tokenFile, "utf8").trim();
  } catch (err) {
    throw new Error(`cannot read the lab's admin token ${tokenFile}: ${(err as Error).message}`);
  }
  return { endpoints, token };
}

export async function controlCommand(
  command: ControlCommand,
  args: string[],
  io: ControlIo = defaultIo,
): Promise<number> {
  let dir = "";
  try {
    const { values } = parseFlags(args, {
      dir: { type: "string" },
      json: { type: "boolean", default: false },
      ...(command === "pause" ? { reason: { type: "string" as const } } : {}),
      ...(command === "budget-alert" ? { file: { type: "string" as const } } : {}),
    });
    const v = values as { dir?: string; json: boolean; reason?: string; file?: string };
    dir = defaultLabDir(v.dir === undefined ? (io.env ?? process.env) : { LAB_DIR: v.dir });

    // Read the input before looking for the lab: a usage error is reported as such.
    let event: ReturnType<typeof snsEventFromFile> | undefined;
    let policy: ReturnType<typeof readKillSwitchPolicy> | undefined;
    if (command === "budget-alert") {
      if (!v.file) throw new Refusal("budget-alert needs --file <message.txt> (- for stdin)");
      let content: string;
      try {
        content = v.file === "-" ? (io.stdin ?? (() => fs.readFileSync(0, "utf8")))() : fs.readFileSync(v.file, "utf8");
      } catch (err) {
        throw new Refusal(`cannot read ${v.file}: ${(err as Error).message}`);
      }
      event = snsEventFromFile(content);
      try {
        policy = readKillSwitchPolicy(io.env ?? process.env);
      } catch (err) {
        throw new Refusal((err as Error).message);
      }
    }

    const lab = findRunningLab(dir);
    const client = new LabAdminClient(lab.endpoints.apiUrl, lab.token);
    const print = (json: unknown, text: () => string[]) => {
      if (v.json) io.out(JSON.stringify(json, null, 2));
      else for (const line of text()) io.out(line);
    };

    switch (command) {
      case "status": {
        const status = await client.status();
        print(status, () => [formatPipelineStatus(status)]);
        return 0;
      }
      case "pause": {
        const result = await client.pause(v.reason);
        print(result, () => [
          ...(result.alreadyPaused
            ? ["already paused: nothing changed (the first pause's time and reason are kept)"]
            : result.changes.map((c) => `paused: ${c}`)),
          formatPipelineStatus(result.status),
        ]);
        return 0;
      }
      case "resume": {
        const result = await client.resume();
        print(result, () => [
          ...(result.wasRunning
            ? ["nothing to resume: the lab's pipeline was not paused; nothing changed"]
            : result.changes.map((c) => `resumed: ${c}`)),
          formatPipelineStatus(result.status),
        ]);
        return 0;
      }
      case "budget-alert": {
        const result = await client.budgetAlert(event as NonNullable<typeof event>, policy);
        print(result, () => [
          ...result.outcomes.map((o) => {
            switch (o.outcome) {
              case "paused":
                return `kill switch: paused (message ${o.messageId})\n${o.changes.map((c) => `  ${c}`).join("\n")}`;
              case "already-paused":
                return `kill switch: already paused, nothing changed (message ${o.messageId})`;
              case "ignored":
                return `kill switch: not pausing: ${o.why} (message ${o.messageId})`;
              case "unparseable":
                return `kill switch: not a budget alert it can read, not pausing: ${o.error} (message ${o.messageId})`;
              case "failed":
                return `kill switch: pause FAILED: ${o.error} (message ${o.messageId})`;
            }
            return "";
          }),
          formatPipelineStatus(result.status),
        ]);
        return result.outcomes.some((o) => o.outcome === "unparseable" || o.outcome === "failed") ? 1 : 0;
      }
    }
    return 2;
  } catch (raw) {
    const err = asUsageError(raw) as Error;
    if (err instanceof UsageError) {
      io.err(`lab: ${oneLine(err.message)} (npm run lab -- ${command} --help)`);
      return 2;
    }
    if (err instanceof NoLabError) {
      io.err(`lab: ${err.message}`);
      return EXIT_NO_LAB;
    }
    if (err instanceof LabAdminError && err.status === 0) {
      io.err(`lab: no lab answers for ${dir}: ${oneLine(err.message)}`);
      return EXIT_NO_LAB;
    }
    io.err(`lab: ${command} failed: ${oneLine(err.message)}`);
    return 1;
  }
}

/** What `npm start` prints under the banner when the lab starts paused; undefined when it runs. */
export function pausedNotice(status: PipelineStatus, dir: string): string | undefined {
  if (status.state === "running") return undefined;
  const resume = `npm run lab -- resume --dir '${dir}'`;
  if (status.reason === FOR_THIS_RUN) {
    return `The worker is paused for this run (--paused): uploads are queued until ${resume} or a restart.`;
  }
  const since = status.pausedAt ? ` since ${status.pausedAt.toISOString()}` : "";
  return `The pipeline is PAUSED${since}${status.reason ? ` (${status.reason})` : ""}: uploads are queued, not processed, until ${resume}.`;
}
