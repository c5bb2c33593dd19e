/**
 * The lab's extractor process (started by lab/extractor-process.ts): the extractor's execution
 * environments, one per concurrent batch (lab/environments.ts), talking to the lab's S3 and
 * DynamoDB over HTTP. Logs and metrics go back to the lab's sink over IPC.
 */
import { createExtractor } from "../handlers/extractor/extractor";
import { METRICS_NAMESPACE } from "../lib/runtime-env";
import { makeLabDynamoClient, makeLabS3Client } from "./clients";
import { environmentPool, perEnvironmentHandler } from "./environments";
import type { ExtractorHostConfig, FromHost, ToHost } from "./extractor-process";
import { LabLogger, LabMetrics, type LogEntry, type LogSink } from "./log";

/**
 * Log lines wait for the end of the current turn of the event loop and go as one message: a
 * document's five or so lines then cost one IPC write instead of five (each a system call here
 * and a wake-up of the lab). Any other message sends them first, so a batch's result never
 * reaches the lab before its lines.
 */
let pendingLogs: LogEntry[] = [];
function flushLogs(): void {
  if (pendingLogs.length === 0) return;
  const entries = pendingLogs;
  pendingLogs = [];
  if (process.connected) process.send?.({ type: "logs", entries } satisfies FromHost);
}

function send(message: FromHost): void {
  flushLogs();
  if (process.connected) process.send?.(message);
}

function log(entry: LogEntry): void {
  if (pendingLogs.length === 0) setImmediate(flushLogs);
  pendingLogs.push(entry);
}

function main(): void {
  const config = JSON.parse(process.argv[2] ?? "{}") as ExtractorHostConfig;
  const s3 = makeLabS3Client(config.s3Endpoint);
  const dynamodb = makeLabDynamoClient(config.dynamodbEndpoint);
  const sink: LogSink = log;
  const environments = environmentPool(() => {
    const extractor = createExtractor({
      s3,
      dynamodb,
      tableName: config.tableName,
      metadataBucket: config.metadataBucket,
      ffprobePath: config.ffprobePath,
      probeTimeoutMs: config.probeTimeoutMs,
      logger: new LabLogger({ serviceName: "extractor" }, sink),
      metrics: new LabMetrics({ namespace: METRICS_NAMESPACE, serviceName: "extractor" }, sink),
    });
    queueMicrotask(() => send({ type: "environments", count: environments.all.length }));
    return extractor;
  });

  const handleBatch = perEnvironmentHandler(environments);
  let inFlight = 0;
  let stopping = false;
  const exitWhenIdle = () => {
    if (!stopping || inFlight > 0) return;
    flushLogs();
    process.exit(0);
  };
  process.on("message", (m: ToHost) => {
    if (m.type === "stop") {
      stopping = true;
      exitWhenIdle();
      return;
    }
    inFlight += 1;
    handleBatch(m.event)
      .then(
        (response) => send({ type: "result", id: m.id, response }),
        (err: Error) =>
          send({ type: "failed", id: m.id, name: err?.name ?? "Error", message: String(err?.message ?? err) }),
      )
      .finally(() => {
        inFlight -= 1;
        exitWhenIdle();
      });
  });
  // The lab went away (stopped, crashed or SIGKILLed): an environment does not outlive its service.
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready" });
}

main();
