/**
 * The lab CLI:
 *
 *   npm start                      # same as: npm run lab -- start
 *   npm run lab -- start [--dir <folder>] [--json] [--paused]
 *                        [--s3-port N] [--dynamodb-port N] [--api-port N] [--auth-port N]
 *   npm run -s lab -- token [--dir <folder>]   # an access token of the lab user
 *   npm run lab -- backfill [--prefix P] [--only-outdated]   # re-process the bucket (lab/backfill.ts)
 *   npm run lab -- pause [--reason TEXT] | resume | status | budget-alert --file F   # the running lab's pipeline (lab/control-cli.ts)
 *
 * Runs the whole pipeline locally until Ctrl-C (see lab/lab.ts). Exit codes (tools/cli.ts):
 * 0 after a clean stop (or the command did its work), 1 the lab cannot start or the command
 * failed, 2 usage error, 3 no lab is running on the folder (token, pause, resume, status,
 * budget-alert).
 */
import * as fs from "node:fs";
import { ROUTE_TABLE } from "../lib/api-routes";
import { type Cli, parseFlags, runCli, runCommand, UsageError } from "../tools/cli";
import { labUser } from "./auth/secrets";
import { labAccessToken } from "./auth/sign-in";
import { BACKFILL_USAGE, backfillCommand } from "./backfill";
import {
  CONTROL_USAGE,
  type ControlCommand,
  controlCommand,
  EXIT_NO_LAB,
  NoLabError,
  pausedNotice,
} from "./control-cli";
import { defaultLabDir, type LabEndpoints, labPaths, startLab } from "./lab";
import { jsonSink } from "./log";

const USAGE = `usage: npm run lab -- [start] [options]

commands:
  start                 run the pipeline locally until Ctrl-C (default)
  token [--dir <folder>]  print an access token of the lab user, for the running lab (curl -H "authorization: Bearer ...")
${CONTROL_USAGE}
  backfill [--prefix P] [--only-outdated]  re-process missing, stale and outdated documents (lab/backfill.ts)
  help                  show this text (also: --help after any command)

options (start):
  --dir <folder>        lab folder (default: $LAB_DIR or .lab); data lives in <folder>/data
  --json                print the handlers' raw JSON logs and EMF metrics instead of one line per object
  --paused              start with the worker paused for this run (uploads are queued, not processed;
                        'resume' or a restart continues; a pause made with 'pause' survives restarts)
  --s3-port <n>         port for S3 (default: $LAB_S3_PORT, else the port of the last start)
  --dynamodb-port <n>   port for DynamoDB (default: $LAB_DYNAMODB_PORT, else the last start's)
  --api-port <n>        port for the API and the dashboard (default: $LAB_API_PORT, else the last start's)
  --auth-port <n>       port for the OpenID Connect issuer (default: $LAB_AUTH_PORT, else the last start's)
                        The first start picks free ports and keeps them in <folder>/ports.json, so an
                        open dashboard tab and tokens survive a restart; a kept port another program
                        took meanwhile is replaced by a free one (and the file updated).
`;

function port(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) throw new UsageError(`${flag} needs a port number, got ${JSON.stringify(raw)}`);
  return n;
}

/** The text printed once the lab is up; `password` is the lab user's. */
export function banner(e: LabEndpoints, dataDir: string, endpointsFile: string, password?: string): string {
  const env = `AWS_ACCESS_KEY_ID=${e.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${e.credentials.secretAccessKey} AWS_REGION=${e.region}`;
  const routes = ROUTE_TABLE.map((r) => r.routeKey.replace("{key+}", "{key}")).join(", ");
  return [
    `media-pipeline lab is running (data in ${dataDir})`,
    `  S3         ${e.s3Endpoint}   buckets: ${e.ingestBucket} (uploads are processed), ${e.metadataBucket}`,
    `  DynamoDB   ${e.dynamodbEndpoint}   table: ${e.tableName}`,
    `  API        ${e.apiUrl}   ${routes}`,
    `  Dashboard  ${e.dashboardUrl}`,
    `  Sign in    ${e.auth.username} / ${password ?? `(password in ${e.auth.userFile})`}   issuer ${e.auth.issuer}`,
    `  Queue      ${e.queueArn} (dead letters: ${e.deadLetterQueueArn})`,
    `  Client     ${env} (path-style S3, no request checksums)`,
    `  Endpoints  ${endpointsFile}`,
    "",
    "Try it (AWS CLI v2):",
    `  ${env} AWS_REQUEST_CHECKSUM_CALCULATION=when_required aws --endpoint-url ${e.s3Endpoint} s3 cp ./clip.mp4 s3://${e.ingestBucket}/clip.mp4 && sleep 2 && curl -s ${e.apiUrl}/files/clip.mp4 -H "authorization: Bearer $(npm run -s lab -- token --dir '${e.dir}')"`,
    `  or open ${e.dashboardUrl} and sign in.`,
    "",
    "Ctrl-C stops the lab; everything is kept for the next start.",
    "",
  ].join("\n");
}

/** Prints an access token of the lab user, signing in to the running lab's issuer. */
async function token(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { dir: { type: "string" } });
  const dir = values.dir ?? defaultLabDir();
  const file = labPaths(dir).endpoints;
  let endpoints: LabEndpoints;
  try {
    endpoints = JSON.parse(fs.readFileSync(file, "utf8")) as LabEndpoints;
  } catch {
    throw new NoLabError(`no lab is running on ${dir}: start one with npm start`);
  }
  process.stdout.write(`${await labAccessToken(endpoints)}\n`);
  return 0;
}

/** Repeats closer than this to the first signal are the same stop request, delivered again. */
export const SIGNAL_REPEAT_WINDOW_MS = 1_000;

/** Whether a signal received `sinceFirstMs` after the one that started the stop ends the process at once. */
export function forcesExit(signal: NodeJS.Signals, sinceFirstMs: number): boolean {
  return signal === "SIGINT" && sinceFirstMs >= SIGNAL_REPEAT_WINDOW_MS;
}

async function start(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    dir: { type: "string" },
    json: { type: "boolean", default: false },
    paused: { type: "boolean", default: false },
    "s3-port": { type: "string" },
    "dynamodb-port": { type: "string" },
    "api-port": { type: "string" },
    "auth-port": { type: "string" },
  });
  const lab = await startLab({
    dir: values.dir ?? defaultLabDir(),
    paused: values.paused,
    logSink: values.json ? jsonSink() : undefined,
    ports: {
      s3: port("--s3-port", values["s3-port"]),
      dynamodb: port("--dynamodb-port", values["dynamodb-port"]),
      api: port("--api-port", values["api-port"]),
      auth: port("--auth-port", values["auth-port"]),
    },
  });
  const paths = labPaths(lab.dir);
  process.stdout.write(banner(lab.endpoints, paths.data, paths.endpoints, labUser(lab.dir).password));
  const notice = pausedNotice(await lab.control.status(), lab.dir);
  if (notice) process.stdout.write(`${notice}\n`);

  await new Promise<void>((resolve) => {
    let firstAt: number | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (firstAt !== undefined) {
        // A signal to the process group reaches the lab several times (directly, and relayed
        // by npm and any wrapper), within milliseconds: those are one request to stop. Only a
        // second Ctrl-C pressed later skips the clean stop.
        if (!forcesExit(signal, Date.now() - firstAt)) return;
        process.stderr.write(`lab: ${signal} again, exiting without a clean stop\n`);
        process.exit(1);
      }
      firstAt = Date.now();
      process.stdout.write(`\nlab: ${signal}, stopping (finishing the batch in progress)...\n`);
      lab.stop().then(resolve, (err) => {
        process.stderr.write(`lab: error while stopping: ${(err as Error).message}\n`);
        resolve();
      });
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  const counts = lab.queue.counts();
  process.stdout.write(
    `lab: stopped; ${counts.visible + counts.inFlight} message(s) left in the queue for next time\n`,
  );
  return 0;
}

const COMMANDS = ["start", "token", "pause", "resume", "status", "budget-alert", "backfill", "help"];

/** The subcommand and its arguments: `start` when the first argument is a flag or absent. */
function command(argv: string[]): { command: string; args: string[] } {
  const [first, ...rest] = argv;
  return first === undefined || first.startsWith("-")
    ? { command: "start", args: argv }
    : { command: first, args: rest };
}

export const cli: Cli = {
  name: "lab",
  usage: (argv) => (command(argv).command === "backfill" ? BACKFILL_USAGE : USAGE),
  exitCodes: {
    1: "the lab cannot start, or the command failed",
    [EXIT_NO_LAB]: "no lab is running on the folder (token, pause, resume, status, budget-alert)",
  },
  async main(argv) {
    const { command: name, args } = command(argv);
    switch (name) {
      case "start":
        return start(args).catch((err: Error) => {
          if (err instanceof UsageError) throw err;
          throw new Error(`cannot start: ${err.message}`, { cause: err });
        });
      case "token":
        try {
          return await token(args);
        } catch (err) {
          if (!(err instanceof NoLabError)) throw err;
          process.stderr.write(`lab: ${err.message}\n`);
          return EXIT_NO_LAB;
        }
      case "pause":
      case "resume":
      case "status":
      case "budget-alert":
        return controlCommand(name as ControlCommand, args);
      case "backfill":
        return backfillCommand(args);
      case "help":
        process.stdout.write(USAGE);
        return 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(name)} (commands: ${COMMANDS.join(", ")})`);
    }
  },
};

/** Runs the lab CLI and returns its exit code (the tests' entry point). */
export function main(argv: string[]): Promise<number> {
  return runCommand(cli, argv);
}

if (require.main === module) runCli(cli);
