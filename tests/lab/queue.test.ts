/**
 * The lab queue (SQS standard semantics) and the worker (Lambda event source mapping with
 * partial batch responses): visibility timeout, retries, dead-lettering, persistence.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { expect } from "chai";
import { LabQueue, type QueueMessage } from "../../lab/queue";
import { failedIds, QueueWorker } from "../../lab/worker";
import { sleep } from "../../lib/sleep";

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("lab queue", function () {
  this.timeout(20_000);
  let dir: string;
  const open: LabQueue[] = [];

  async function queue(options: Partial<Parameters<typeof LabQueue.open>[0]> = {}): Promise<LabQueue> {
    const q = await LabQueue.open({ name: "q", visibilityTimeoutMs: 200, ...options });
    open.push(q);
    return q;
  }

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-queue-"));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((q) => q.close()));
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("hides a received message for the visibility timeout, then delivers it again with a higher receive count", async () => {
    const q = await queue({ visibilityTimeoutMs: 150 });
    const id = await q.send("hello");
    const [first] = await q.receive();
    expect(first).to.include({ messageId: id, body: "hello", receiveCount: 1 });
    expect(await q.receive()).to.deep.equal([]);
    expect(q.counts()).to.deep.equal({ visible: 0, inFlight: 1 });
    await sleep(200);
    const [second] = await q.receive();
    expect(second).to.include({ messageId: id, receiveCount: 2 });
    expect(second.receiptHandle).not.to.equal(first.receiptHandle);
    expect(second.firstReceiveTimestamp).to.equal(first.firstReceiveTimestamp);
  });

  it("deletes only with the latest receipt handle", async () => {
    const q = await queue({ visibilityTimeoutMs: 50 });
    await q.send("m");
    const [first] = await q.receive();
    await sleep(80);
    const [second] = await q.receive();
    expect(await q.delete(first.receiptHandle)).to.equal(false);
    expect(await q.delete(second.receiptHandle)).to.equal(true);
    await sleep(80);
    expect(await q.receive()).to.deep.equal([]);
  });

  it("returns at most 10 messages per receive, without handing one to two receivers", async () => {
    const q = await queue();
    for (let i = 0; i < 25; i++) await q.send(`m${i}`);
    const batches = await Promise.all([
      q.receive({ maxMessages: 10 }),
      q.receive({ maxMessages: 10 }),
      q.receive({ maxMessages: 50 }),
    ]);
    expect(batches.map((b) => b.length)).to.deep.equal([10, 10, 5]);
    expect(new Set(batches.flat().map((m) => m.messageId)).size).to.equal(25);
  });

  it("long-polls: a waiting receive returns as soon as a message arrives", async () => {
    const q = await queue();
    const started = Date.now();
    const pending = q.receive({ waitTimeMs: 5_000 });
    await sleep(50);
    await q.send("late");
    const [m] = await pending;
    expect(m.body).to.equal("late");
    expect(Date.now() - started).to.be.lessThan(1_000);
  });

  it("makes a message visible early through changeVisibility", async () => {
    const q = await queue({ visibilityTimeoutMs: 60_000 });
    await q.send("m");
    const [m] = await q.receive();
    expect(q.changeVisibility(m.receiptHandle, 0)).to.equal(true);
    const [again] = await q.receive({ waitTimeMs: 1_000 });
    expect(again).to.include({ messageId: m.messageId, receiveCount: 2 });
  });

  it("moves a message to the dead-letter queue after maxReceiveCount deliveries, keeping id and body", async () => {
    const dlq = await queue({ name: "dlq" });
    const q = await queue({ visibilityTimeoutMs: 30, redrive: { deadLetterQueue: dlq, maxReceiveCount: 2 } });
    const dead: QueueMessage[] = [];
    q.on("dead-letter", (m) => dead.push(m));
    const id = await q.send("poison");
    expect(await q.receive()).to.have.length(1);
    await sleep(50);
    expect(await q.receive()).to.have.length(1);
    await sleep(50);
    expect(await q.receive()).to.deep.equal([]); // third attempt: moved, not delivered
    expect(q.counts()).to.deep.equal({ visible: 0, inFlight: 0 });
    const [moved] = dlq.messages();
    expect(moved).to.include({ messageId: id, body: "poison", receiveCount: 2 });
    expect(dead.map((m) => m.messageId)).to.deep.equal([id]);
  });

  it("keeps queued messages across a restart; in-flight ones come back visible with their receive counts", async () => {
    const file = path.join(dir, "q.jsonl");
    const q1 = await LabQueue.open({ name: "q", file, visibilityTimeoutMs: 60_000 });
    const ids = [await q1.send("a"), await q1.send("b"), await q1.send("c")];
    const [inFlight] = await q1.receive({ maxMessages: 1 }); // "a", hidden for a minute
    const [done] = await q1.receive({ maxMessages: 1 }); // "b", then deleted
    expect([inFlight.body, done.body]).to.deep.equal(["a", "b"]);
    expect(await q1.delete(done.receiptHandle)).to.equal(true);
    await q1.close();

    const q2 = await queue({ file, visibilityTimeoutMs: 60_000 });
    const messages = q2.messages();
    expect(messages.map((m) => m.messageId)).to.deep.equal([ids[0], ids[2]]);
    expect(messages.find((m) => m.messageId === inFlight.messageId)?.receiveCount).to.equal(1);
    const received = await q2.receive({ maxMessages: 10 });
    expect(received.map((m) => m.body).sort()).to.deep.equal(["a", "c"]);
    expect(received.find((m) => m.body === "a")?.receiveCount).to.equal(2);
  });

  it("persists dead-lettered messages in the dead-letter queue's own file", async () => {
    const dlqFile = path.join(dir, "dlq.jsonl");
    const dlq = await LabQueue.open({ name: "dlq", file: dlqFile });
    const q = await queue({
      file: path.join(dir, "q.jsonl"),
      visibilityTimeoutMs: 10,
      redrive: { deadLetterQueue: dlq, maxReceiveCount: 1 },
    });
    const id = await q.send("x");
    await q.receive();
    await sleep(30);
    await q.receive();
    await dlq.close();
    const reopened = await queue({ name: "dlq", file: dlqFile });
    expect(reopened.messages().map((m) => m.messageId)).to.deep.equal([id]);
  });

  it("survives a torn last line (a crash mid-append)", async () => {
    const file = path.join(dir, "q.jsonl");
    const q1 = await LabQueue.open({ name: "q", file });
    await q1.send("kept");
    await q1.close();
    await fs.appendFile(file, '{"op":"send","id":"x","bo');
    const q2 = await queue({ file });
    expect(q2.messages().map((m) => m.body)).to.deep.equal(["kept"]);
  });

  it("compacts its log when it grows far beyond the live messages", async () => {
    const file = path.join(dir, "q.jsonl");
    const q = await queue({ file });
    for (let i = 0; i < 400; i++) {
      await q.send(`m${i}`);
      const [m] = await q.receive();
      await q.delete(m.receiptHandle);
    }
    await q.send("survivor");
    const lines = (await fs.readFile(file, "utf8")).trim().split("\n");
    expect(lines.length).to.be.lessThan(400);
    await q.close();
    const reopened = await queue({ file });
    expect(reopened.messages().map((m) => m.body)).to.deep.equal(["survivor"]);
  });
});

describe("lab worker (event source mapping)", function () {
  this.timeout(20_000);
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(
    handler: (event: SQSEvent) => Promise<SQSBatchResponse | undefined>,
    options: { maxReceiveCount?: number; batchSize?: number } = {},
  ) {
    const dlq = await LabQueue.open({ name: "dlq" });
    const queue = await LabQueue.open({
      name: "events",
      visibilityTimeoutMs: 5_000,
      redrive: { deadLetterQueue: dlq, maxReceiveCount: options.maxReceiveCount ?? 3 },
    });
    const worker = new QueueWorker({
      queue,
      handler,
      batchSize: options.batchSize ?? 10,
      pollWaitMs: 200,
      retryBackoff: { baseMs: 20 },
    });
    cleanups.push(async () => {
      await worker.stop();
      await queue.close();
      await dlq.close();
    });
    return { queue, dlq, worker };
  }

  it("invokes the handler with SQS-shaped records and deletes what succeeded", async () => {
    const events: SQSEvent[] = [];
    const { queue, worker } = await setup(async (e) => {
      events.push(e);
      return { batchItemFailures: [] };
    });
    await queue.send('{"n":1}');
    await queue.send('{"n":2}');
    worker.start();
    await worker.drained(5_000);
    const records = events.flatMap((e) => e.Records);
    expect(records.map((r) => r.body)).to.have.members(['{"n":1}', '{"n":2}']);
    const r = records[0];
    expect(r).to.include({ eventSource: "aws:sqs", eventSourceARN: queue.arn, awsRegion: "us-east-1" });
    expect(r.eventSourceARN).to.equal("arn:aws:sqs:us-east-1:000000000000:events");
    expect(r.attributes.ApproximateReceiveCount).to.equal("1");
    expect(r.receiptHandle).to.be.a("string").and.not.equal("");
    expect(r.md5OfBody).to.match(/^[0-9a-f]{32}$/);
    expect(Number(r.attributes.SentTimestamp)).to.be.greaterThan(0);
  });

  it("retries only the messages named in batchItemFailures", async () => {
    const seen: { body: string; count: string }[] = [];
    const { queue, worker } = await setup(async (e) => {
      for (const r of e.Records) seen.push({ body: r.body, count: r.attributes.ApproximateReceiveCount });
      const fail = e.Records.filter((r) => r.body === "flaky" && r.attributes.ApproximateReceiveCount === "1");
      return { batchItemFailures: fail.map((r) => ({ itemIdentifier: r.messageId })) };
    });
    for (const body of ["ok-1", "flaky", "ok-2"]) await queue.send(body);
    worker.start();
    await worker.drained(5_000);
    expect(seen.filter((s) => s.body === "ok-1")).to.have.length(1);
    expect(seen.filter((s) => s.body === "ok-2")).to.have.length(1);
    expect(seen.filter((s) => s.body === "flaky").map((s) => s.count)).to.deep.equal(["1", "2"]);
  });

  it("dead-letters a message that keeps failing after maxReceiveCount attempts", async () => {
    let attempts = 0;
    const { queue, dlq, worker } = await setup(
      async (e) => {
        attempts += e.Records.length;
        return { batchItemFailures: e.Records.map((r) => ({ itemIdentifier: r.messageId })) };
      },
      { maxReceiveCount: 3 },
    );
    const id = await queue.send("poison");
    worker.start();
    await until("the message to reach the DLQ", () => dlq.messages().length === 1);
    expect(attempts).to.equal(3);
    expect(dlq.messages()[0]).to.include({ messageId: id, body: "poison" });
    expect(queue.counts()).to.deep.equal({ visible: 0, inFlight: 0 });
  });

  it("retries the whole batch when the handler throws", async () => {
    let calls = 0;
    const { queue, worker } = await setup(async (e) => {
      calls += 1;
      if (calls === 1) throw new Error("boom");
      expect(e.Records.every((r) => r.attributes.ApproximateReceiveCount === "2")).to.equal(true);
      return undefined;
    });
    await queue.send("a");
    await queue.send("b");
    worker.start();
    await worker.drained(5_000);
    expect(calls).to.equal(2);
  });

  it("treats an unknown itemIdentifier as a failure of the whole batch, as Lambda does", () => {
    const batch = [{ messageId: "a" }, { messageId: "b" }, { messageId: "c" }];
    expect([...failedIds({ batchItemFailures: [{ itemIdentifier: "b" }] }, batch)]).to.deep.equal(["b"]);
    expect([...failedIds({ batchItemFailures: [{ itemIdentifier: "zzz" }] }, batch)]).to.deep.equal(["a", "b", "c"]);
    expect([...failedIds({ batchItemFailures: [{ itemIdentifier: "" }] }, batch)]).to.deep.equal(["a", "b", "c"]);
    expect([...failedIds({ batchItemFailures: [] }, batch)]).to.deep.equal([]);
    expect([...failedIds(undefined, batch)]).to.deep.equal([]);
  });

  it("hands out batches of at most batchSize messages", async () => {
    const sizes: number[] = [];
    const { queue, worker } = await setup(
      async (e) => {
        sizes.push(e.Records.length);
        return undefined;
      },
      { batchSize: 4 },
    );
    for (let i = 0; i < 10; i++) await queue.send(`m${i}`);
    worker.start();
    await worker.drained(5_000);
    expect(sizes.reduce((a, b) => a + b, 0)).to.equal(10);
    expect(Math.max(...sizes)).to.be.at.most(4);
  });

  it("takes no batches while paused (messages keep queueing) and catches up on resume", async () => {
    const bodies: string[] = [];
    const { queue, worker } = await setup(async (e) => {
      bodies.push(...e.Records.map((r) => r.body));
      return undefined;
    });
    worker.start();
    worker.pause();
    expect(worker.paused).to.equal(true);
    await queue.send("while paused 1");
    await queue.send("while paused 2");
    await sleep(400);
    expect(bodies).to.deep.equal([]);
    expect(queue.counts().visible).to.equal(2);
    worker.resume();
    await worker.drained(5_000);
    expect(bodies).to.have.members(["while paused 1", "while paused 2"]);
  });

  it("lets the batch in progress finish on stop", async () => {
    let finished = false;
    const { queue, worker } = await setup(async () => {
      await sleep(300);
      finished = true;
      return undefined;
    });
    await queue.send("slow");
    worker.start();
    await until("the batch to start", () => worker.busy === 1);
    await worker.stop();
    expect(finished).to.equal(true);
    expect(queue.counts()).to.deep.equal({ visible: 0, inFlight: 0 });
  });
});
