/**
 * The soak test's lab, in a child process the soak can SIGKILL mid-batch and start again
 * on the same folder (lab/soak/soak.ts forks it). Its extractor reaches S3 and DynamoDB
 * through the soak's fault proxies (startLab's extractorEndpoints); the stand-ins listen on
 * fixed ports so the proxies and the writers find them again after a restart.
 *
 * IPC: sends {type: "ready", endpoints}; answers {type: "status"} with the queue counts
 * and the dead-letter queue's messages; {type: "stop"} stops the lab cleanly and exits.
 */
import { type Lab, type LabEndpoints, startLab } from "../lab";

export interface SoakLabConfig {
  dir: string;
  s3Port: number;
  dynamodbPort: number;
  /** The fault proxies, for the extractor. */
  extractorS3: string;
  extractorDynamodb: string;
  /** concurrency: batches at once (Lambda instances, as the event source mapping scales out). */
  queue: { visibilityTimeoutMs: number; maxReceiveCount: number; retryBaseMs: number; concurrency: number };
}

export interface SoakLabStatus {
  visible: number;
  inFlight: number;
  busy: number;
  deadLetters: { messageId: string; body: string; receiveCount: number }[];
  /** The pid of the lab's extractor process (lab/extractor-process.ts), when one runs. */
  extractorPid?: number;
}

export type ChildMessage =
  | { type: "ready"; endpoints: LabEndpoints }
  | { type: "status"; id: number; status: SoakLabStatus }
  | { type: "error"; message: string };

export type ParentMessage = { type: "status"; id: number } | { type: "stop" };

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? "") as SoakLabConfig;
  const send = (m: ChildMessage) => process.send?.(m);
  let lab: Lab;
  try {
    lab = await startLab({
      dir: config.dir,
      quiet: true,
      ports: { s3: config.s3Port, dynamodb: config.dynamodbPort },
      extractorEndpoints: () => ({ s3: config.extractorS3, dynamodb: config.extractorDynamodb }),
      queue: {
        visibilityTimeoutMs: config.queue.visibilityTimeoutMs,
        maxReceiveCount: config.queue.maxReceiveCount,
        retryBackoff: { baseMs: config.queue.retryBaseMs },
        concurrency: config.queue.concurrency,
        pollWaitMs: 200,
      },
    });
  } catch (err) {
    send({ type: "error", message: (err as Error).stack ?? String(err) });
    process.exit(1);
  }
  process.on("message", (m: ParentMessage) => {
    if (m.type === "status") {
      const counts = lab.queue.counts();
      send({
        type: "status",
        id: m.id,
        status: {
          ...counts,
          busy: lab.worker.busy,
          extractorPid: lab.extractor.pid,
          deadLetters: lab.deadLetterQueue
            .messages()
            .map((d) => ({ messageId: d.messageId, body: d.body, receiveCount: d.receiveCount })),
        },
      });
    } else if (m.type === "stop") {
      lab.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    }
  });
  // The parent went away (it crashed, or was killed): do not linger.
  process.on("disconnect", () => {
    lab.stop().finally(() => process.exit(0));
  });
  send({ type: "ready", endpoints: lab.endpoints });
}

main();
