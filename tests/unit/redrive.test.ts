/**
 * npm run redrive (tools/redrive.ts): dead letters back to the extractor's queue, in the lab
 * (queue files) and in the cloud (SQS StartMessageMoveTask, mocked with aws-sdk-client-mock:
 * no AWS account here), with a progress line and an exit code that says how it ended.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { ListMessageMoveTasksCommand, SQSClient, StartMessageMoveTaskCommand } from "@aws-sdk/client-sqs";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { LAB_QUEUE_NAMES, labPaths } from "../../lab/lab";
import { LabQueue } from "../../lab/queue";
import { UsageError } from "../../tools/cli";
import { main, type RedriveIo } from "../../tools/redrive";

const DLQ = "arn:aws:sqs:eu-west-1:123456789012:mp-dev-extractor-dlq";
const QUEUE = "arn:aws:sqs:eu-west-1:123456789012:mp-dev-extractor-queue";

function capture(): RedriveIo & { out: string; lines: string[] } {
  const io = {
    out: "",
    lines: [] as string[],
    stdout: (t: string) => {
      io.out += t;
    },
    progress: (t: string) => {
      io.lines.push(t);
    },
  };
  return io;
}

describe("npm run redrive", () => {
  describe("cloud (StartMessageMoveTask)", () => {
    // Created per test: another file's mock of SQSClient must not replace this one.
    let sqs: AwsClientStub<SQSClient>;
    beforeEach(() => {
      sqs = mockClient(SQSClient);
    });
    afterEach(() => sqs.restore());

    it("starts one move task from the DLQ to the queue and follows it to COMPLETED", async () => {
      sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: "task-1" });
      sqs
        .on(ListMessageMoveTasksCommand)
        .resolvesOnce({
          Results: [
            {
              TaskHandle: "task-1",
              Status: "RUNNING",
              ApproximateNumberOfMessagesMoved: 3,
              ApproximateNumberOfMessagesToMove: 10,
            },
          ],
        })
        .resolves({
          Results: [
            {
              TaskHandle: "task-1",
              Status: "COMPLETED",
              ApproximateNumberOfMessagesMoved: 10,
              ApproximateNumberOfMessagesToMove: 10,
            },
          ],
        });
      const io = capture();
      const code = await main(["--dlq-arn", DLQ, "--queue-arn", QUEUE, "--region", "eu-west-1"], io, {
        sqs: () => new SQSClient({ region: "eu-west-1" }),
        sleep: async () => undefined,
      });
      expect(code).to.equal(0);
      expect(sqs.commandCalls(StartMessageMoveTaskCommand).map((c) => c.args[0].input)).to.deep.equal([
        { SourceArn: DLQ, DestinationArn: QUEUE },
      ]);
      expect(io.lines[0]).to.contain("running, 3 of 10 message(s) moved");
      expect(io.out).to.contain(`completed, 10 of 10 message(s) moved from ${DLQ} to ${QUEUE}`);
    });

    it("reads the queues from the stack's outputs and exits 1 with the reason when the task fails", async () => {
      sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: "task-2" });
      sqs.on(ListMessageMoveTasksCommand).resolves({
        Results: [
          {
            TaskHandle: "task-2",
            Status: "FAILED",
            ApproximateNumberOfMessagesMoved: 0,
            FailureReason: "AccessDenied",
          },
        ],
      });
      const io = capture();
      const code = await main(["--stack", "dev", "--max-per-second", "50"], io, {
        pulumi: async () => JSON.stringify({ extractorDeadLetterQueueArn: DLQ, extractorQueueArn: QUEUE }),
        sqs: () => new SQSClient({ region: "eu-west-1" }),
        sleep: async () => undefined,
      });
      expect(code).to.equal(1);
      expect(sqs.commandCalls(StartMessageMoveTaskCommand)[0].args[0].input).to.deep.equal({
        SourceArn: DLQ,
        DestinationArn: QUEUE,
        MaxNumberOfMessagesPerSecond: 50,
      });
      expect(io.out).to.contain("failed").and.contain("AccessDenied");
    });

    it("exits 3 on an AWS error and 2 on usage errors, starting nothing", async () => {
      sqs
        .on(StartMessageMoveTaskCommand)
        .rejects(Object.assign(new Error("There is already a task running"), { name: "UnsupportedOperation" }));
      const io = capture();
      expect(await main(["--dlq-arn", DLQ], io, { sqs: () => new SQSClient({ region: "eu-west-1" }) })).to.equal(3);
      expect(io.lines.join("")).to.contain("already a task running");
      // Usage errors are thrown as UsageError: runCli (tools/cli.ts) makes them one line and exit 2.
      const usage = (argv: string[], deps = {}) => main(argv, capture(), deps).catch((e: Error) => e);
      expect(await usage(["--dlq-arn", DLQ, "--max-per-second", "0"])).to.be.instanceOf(UsageError);
      expect(await usage(["--max-per-second", "5"])).to.be.instanceOf(UsageError);
      expect(await usage(["--stack", "dev"], { pulumi: async () => "{}" })).to.be.instanceOf(UsageError);
    });
  });

  describe("lab (no lab running: its queue files)", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-redrive-"));
    });
    afterEach(() => fs.rm(dir, { recursive: true, force: true }));

    it("moves every dead letter back to the queue, once", async () => {
      const paths = labPaths(dir);
      await fs.mkdir(path.dirname(paths.queue), { recursive: true });
      const dlq = await LabQueue.open({ name: LAB_QUEUE_NAMES.deadLetterQueue, file: paths.deadLetterQueue });
      await dlq.send('{"Records":[1]}');
      await dlq.send('{"Records":[2]}');
      await dlq.close();

      const io = capture();
      expect(await main(["--dir", dir], io)).to.equal(0);
      expect(io.out).to.contain("completed, 2 of 2 message(s) moved");
      const queue = await LabQueue.open({ name: LAB_QUEUE_NAMES.queue, file: paths.queue });
      const again = await LabQueue.open({ name: LAB_QUEUE_NAMES.deadLetterQueue, file: paths.deadLetterQueue });
      expect(queue.messages().map((m) => [m.body, m.receiveCount])).to.deep.equal([
        ['{"Records":[1]}', 0],
        ['{"Records":[2]}', 0],
      ]);
      expect(again.messages()).to.deep.equal([]);
      await queue.close();
      await again.close();
      const second = capture();
      expect(await main(["--dir", dir], second)).to.equal(0);
      expect(second.out).to.contain("nothing, 0 of 0");
    });
  });
});
