/**
 * The lab CLI:
 *
 *   npm start                      # same as: npm run lab -- start
 *   npm run lab -- start [--dir <folder>] [--json] [--paused]
 *                        [--s3-port N] [--dynamodb-port N] [--api-port N]
 *
 * Runs the whole pipeline locally until Ctrl-C (see lab/lab.ts). Exit codes: 0 after a
 * clean stop, 1 when the lab cannot start, 2 on usage errors.
 */
import { parseArgs } from "node:util";
import { ROUTE_TABLE } from "../handlers/api/routes";
import { defaultLabDir, type LabEndpoints, labPaths, startLab } from "./lab";
import { jsonSink } from "./log";

const USAGE = `usage: npm run lab -- [start] [options]

commands:
  start                 run the pipeline locally until Ctrl-C (default)
  help                  show this text

options (start):
  --dir <folder>        lab folder (default: $LAB_DIR or .lab); data lives in <folder>/data
  --json                print the handlers' raw JSON logs and EMF metrics instead of one line per object
  --paused              start with the worker paused (uploads are queued, not processed)
  --s3-port <n>         port for S3 (default: $LAB_S3_PORT or any free port)
  --dynamodb-port <n>   port for DynamoDB (default: $LAB_DYNAMODB_PORT or any free port)
  --api-port <n>        port for the API (default: $LAB_API_PORT or any free port)
`;

class UsageError extends Error {}

function port(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) throw new UsageError(`${flag} needs a port number, got ${JSON.stringify(raw)}`);
  return n;
}

/** The text printed once the lab is up. */
export function banner(e: LabEndpoints, dataDir: string, endpointsFile: string): string {
  const env = `AWS_ACCESS_KEY_ID=${e.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${e.credentials.secretAccessKey} AWS_REGION=${e.region}`;
  const routes = ROUTE_TABLE.map((r) => r.routeKey.replace("{key+}", "{key}")).join(", ");
  return [
    `media-pipeline lab is running (data in ${dataDir})`,
    `  S3         ${e.s3Endpoint}   buckets: ${e.ingestBucket} (uploads are processed), ${e.metadataBucket}`,
    `  DynamoDB   ${e.dynamodbEndpoint}   table: ${e.tableName}`,
    `  API        ${e.apiUrl}   ${routes}`,
    `  Queue      ${e.queueArn} (dead letters: ${e.deadLetterQueueArn})`,
    `  Client     ${env} (path-style S3, no request checksums)`,
    `  Endpoints  ${endpointsFile}`,
    "",
    "Try it (AWS CLI v2):",
    `  ${env} AWS_REQUEST_CHECKSUM_CALCULATION=when_required aws --endpoint-url ${e.s3Endpoint} s3 cp ./clip.mp4 s3://${e.ingestBucket}/clip.mp4 && sleep 2 && curl -s ${e.apiUrl}/files/clip.mp4`,
    "",
    "Ctrl-C stops the lab; everything is kept for the next start.",
    "",
  ].join("\n");
}

async function start(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      dir: { type: "string" },
      json: { type: "boolean", default: false },
      paused: { type: "boolean", default: false },
      "s3-port": { type: "string" },
      "dynamodb-port": { type: "string" },
      "api-port": { type: "string" },
    },
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const lab = await startLab({
    dir: values.dir ?? defaultLabDir(),
    paused: values.paused,
    logSink: values.json ? jsonSink() : undefined,
    ports: {
      s3: port("--s3-port", values["s3-port"]),
      dynamodb: port("--dynamodb-port", values["dynamodb-port"]),
      api: port("--api-port", values["api-port"]),
    },
  });
  const paths = labPaths(lab.dir);
  process.stdout.write(banner(lab.endpoints, paths.data, paths.endpoints));
  if (values.paused) process.stdout.write("The worker is paused: uploads are queued until it resumes.\n");

  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        process.stderr.write(`lab: ${signal} again, exiting without a clean stop\n`);
        process.exit(1);
      }
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

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  const command = first === undefined || first.startsWith("-") ? "start" : first;
  const args = command === first ? rest : argv;
  try {
    switch (command) {
      case "start":
        return await start(args);
      case "help":
        process.stdout.write(USAGE);
        return 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`lab: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`lab: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
