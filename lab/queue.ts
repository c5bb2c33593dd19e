/**
 * A persistent stand-in for an SQS standard queue, with the semantics a Lambda event
 * source mapping relies on:
 *
 * - receive takes up to 10 visible messages and hides them for the visibility timeout;
 *   a message not deleted by then becomes visible again;
 * - each receive increments the message's receive count (ApproximateReceiveCount); with a
 *   redrive policy, a message already received maxReceiveCount times is moved to the
 *   dead-letter queue (same message id and body) instead of being delivered again;
 * - delete and change-visibility take the receipt handle of the latest receive;
 * - long polling: receive waits up to waitTimeMs for a message to become visible.
 *
 * Persistence: an append-only JSON-lines log (send / receive / delete records), written in
 * group commits (one append for every operation that happened meanwhile) and awaited by
 * each operation, so a send that resolved survives a crash. The log is compacted into a
 * snapshot when opened and when it grows well beyond the live messages. On reopening, the
 * messages that were in flight are visible again, with their receive counts kept.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { LAB_ACCOUNT_ID, LAB_REGION } from "./clients";

export interface QueueMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  /** Epoch ms when the message was first sent. */
  sentTimestamp: number;
  /** How many times the message was delivered. */
  receiveCount: number;
  /** Epoch ms of the first delivery. */
  firstReceiveTimestamp?: number;
}

export interface ReceivedMessage extends QueueMessage {
  receiptHandle: string;
}

export interface RedrivePolicy {
  deadLetterQueue: LabQueue;
  /** Deliveries before a message moves to the dead-letter queue (SQS maxReceiveCount). */
  maxReceiveCount: number;
}

export interface LabQueueOptions {
  name: string;
  /** Log file; the queue lives in memory only when absent. */
  file?: string;
  /** Default visibility timeout (SQS VisibilityTimeout), ms. */
  visibilityTimeoutMs?: number;
  redrive?: RedrivePolicy;
  region?: string;
  accountId?: string;
}

export interface ReceiveOptions {
  /** 1..10, as SQS allows. */
  maxMessages?: number;
  /** Long polling: wait up to this long for a message (0 returns at once). */
  waitTimeMs?: number;
  /** Overrides the queue's visibility timeout for these messages. */
  visibilityTimeoutMs?: number;
  /** Ends a long poll early (returns what is available, usually nothing). */
  signal?: AbortSignal;
}

export interface QueueCounts {
  /** ApproximateNumberOfMessages. */
  visible: number;
  /** ApproximateNumberOfMessagesNotVisible. */
  inFlight: number;
}

export const DEFAULT_VISIBILITY_TIMEOUT_MS = 30_000;
const MAX_BATCH = 10;
/** Compact when the log holds this many records and at least COMPACT_RATIO times the live messages. */
const COMPACT_MIN_RECORDS = 1_000;
const COMPACT_RATIO = 4;

interface Entry extends QueueMessage {
  visibleAt: number;
  receiptHandle?: string;
}

type LogRecord =
  | {
      op: "send";
      id: string;
      body: string;
      md5: string;
      sent: number;
      n?: number;
      first?: number;
    }
  | { op: "recv"; id: string; n: number; first: number }
  | { op: "del"; id: string }
  | { op: "purge" };

export interface LabQueueEvents {
  /** A message moved to the dead-letter queue after maxReceiveCount deliveries. */
  "dead-letter": [message: QueueMessage];
}

export class LabQueue extends EventEmitter<LabQueueEvents> {
  readonly name: string;
  readonly arn: string;
  readonly visibilityTimeoutMs: number;
  readonly redrive?: RedrivePolicy;

  private readonly entries = new Map<string, Entry>();
  private readonly byHandle = new Map<string, string>();
  private readonly file?: string;
  private handle?: fs.FileHandle;
  private pending: string[] = [];
  private nextFlush?: Promise<void>;
  private flushChain: Promise<void> = Promise.resolve();
  private logRecords = 0;
  private waiters = new Set<() => void>();
  private closed = false;

  private constructor(options: LabQueueOptions) {
    super();
    this.name = options.name;
    this.arn = `arn:aws:sqs:${options.region ?? LAB_REGION}:${options.accountId ?? LAB_ACCOUNT_ID}:${options.name}`;
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? DEFAULT_VISIBILITY_TIMEOUT_MS;
    this.redrive = options.redrive;
    this.file = options.file;
  }

  /** Opens (or creates) a queue; with a file, restores its messages, all visible. */
  static async open(options: LabQueueOptions): Promise<LabQueue> {
    if (options.redrive && !(options.redrive.maxReceiveCount >= 1)) {
      throw new Error(`queue ${options.name}: maxReceiveCount must be at least 1`);
    }
    const queue = new LabQueue(options);
    if (queue.file) {
      await fs.mkdir(path.dirname(queue.file), { recursive: true });
      await queue.replay(queue.file);
      await queue.writeSnapshot();
    }
    return queue;
  }

  /** Sends a message; resolves with its id once it is stored. */
  async send(body: string): Promise<string> {
    this.assertOpen();
    const entry: Entry = {
      messageId: randomUUID(),
      body,
      md5OfBody: createHash("md5").update(body, "utf8").digest("hex"),
      sentTimestamp: Date.now(),
      receiveCount: 0,
      visibleAt: 0,
    };
    this.entries.set(entry.messageId, entry);
    this.wake();
    await this.persist([sendRecord(entry)]);
    return entry.messageId;
  }

  /** Receives up to maxMessages visible messages, hiding them for the visibility timeout. */
  async receive(options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const max = Math.min(Math.max(options.maxMessages ?? 1, 1), MAX_BATCH);
    const deadline = Date.now() + (options.waitTimeMs ?? 0);
    for (;;) {
      if (this.closed || options.signal?.aborted) return [];
      const taken = await this.take(max, options.visibilityTimeoutMs ?? this.visibilityTimeoutMs);
      if (taken.length > 0 || Date.now() >= deadline) return taken;
      await this.waitForChange(deadline, options.signal);
    }
  }

  /** Deletes a received message. False when the handle is not the message's latest one (or it is gone). */
  async delete(receiptHandle: string): Promise<boolean> {
    const entry = this.entryFor(receiptHandle);
    if (!entry) return false;
    this.remove(entry);
    await this.persist([{ op: "del", id: entry.messageId }]);
    return true;
  }

  /** Makes an in-flight message visible again after timeoutMs (0: at once). False when not in flight under that handle. */
  changeVisibility(receiptHandle: string, timeoutMs: number): boolean {
    const entry = this.entryFor(receiptHandle);
    if (!entry || entry.visibleAt <= Date.now()) return false;
    entry.visibleAt = Date.now() + Math.max(0, timeoutMs);
    this.wake();
    return true;
  }

  counts(): QueueCounts {
    const now = Date.now();
    let visible = 0;
    for (const e of this.entries.values()) if (e.visibleAt <= now) visible += 1;
    return { visible, inFlight: this.entries.size - visible };
  }

  /** Every message currently in the queue, visible or not (a copy; for inspection). */
  messages(): QueueMessage[] {
    return [...this.entries.values()].map(publicMessage);
  }

  /**
   * Moves every message to `destination`, oldest first, as SQS's StartMessageMoveTask does for
   * a dead-letter queue redrive: each is sent there as a new message (receive count 0) and only
   * then deleted here, so a crash in between duplicates a message, never loses one. A message
   * received meanwhile (in flight) is moved too. Returns how many moved.
   */
  async moveMessagesTo(destination: LabQueue, onProgress?: (moved: number, total: number) => void): Promise<number> {
    this.assertOpen();
    const entries = [...this.entries.values()].sort((a, b) => a.sentTimestamp - b.sentTimestamp);
    let moved = 0;
    for (const entry of entries) {
      if (this.entries.get(entry.messageId) !== entry) continue; // deleted meanwhile
      await destination.send(entry.body);
      this.remove(entry);
      await this.persist([{ op: "del", id: entry.messageId }]);
      moved += 1;
      onProgress?.(moved, entries.length);
    }
    return moved;
  }

  /** Deletes every message. */
  async purge(): Promise<void> {
    this.entries.clear();
    this.byHandle.clear();
    await this.persist([{ op: "purge" }]);
  }

  /** Writes what is pending and releases the file. Later operations fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    await this.flushNow();
    await this.flushChain;
    await this.handle?.close();
    this.handle = undefined;
  }

  /** Accepts a message moved from a source queue (same id, body and counts). */
  private async acceptDeadLetter(message: QueueMessage): Promise<void> {
    this.assertOpen();
    const entry: Entry = { ...publicMessage(message), visibleAt: 0 };
    this.entries.set(entry.messageId, entry);
    this.wake();
    await this.persist([sendRecord(entry)]);
  }

  private async take(max: number, visibilityTimeoutMs: number): Promise<ReceivedMessage[]> {
    const now = Date.now();
    const taken: Entry[] = [];
    const expired: Entry[] = [];
    for (const entry of this.entries.values()) {
      if (taken.length >= max) break;
      if (entry.visibleAt > now) continue;
      if (this.redrive && entry.receiveCount >= this.redrive.maxReceiveCount) {
        expired.push(entry);
        continue;
      }
      if (entry.receiptHandle) this.byHandle.delete(entry.receiptHandle);
      entry.receiveCount += 1;
      entry.firstReceiveTimestamp ??= now;
      entry.visibleAt = now + visibilityTimeoutMs;
      entry.receiptHandle = `${entry.messageId}:${randomBytes(18).toString("base64url")}`;
      this.byHandle.set(entry.receiptHandle, entry.messageId);
      taken.push(entry);
    }
    // Decided synchronously above, so concurrent receivers never get the same message.
    for (const entry of expired) this.remove(entry);
    await Promise.all([
      this.persist(
        taken.map((e) => ({ op: "recv", id: e.messageId, n: e.receiveCount, first: e.firstReceiveTimestamp ?? now })),
      ),
      ...expired.map((entry) => this.moveToDeadLetter(entry)),
    ]);
    return taken.map((e) => ({ ...publicMessage(e), receiptHandle: e.receiptHandle as string }));
  }

  private async moveToDeadLetter(entry: Entry): Promise<void> {
    const dlq = this.redrive?.deadLetterQueue as LabQueue;
    try {
      await dlq.acceptDeadLetter(entry); // first stored there, then removed here: never lost
    } catch (err) {
      this.entries.set(entry.messageId, entry);
      throw err;
    }
    await this.persist([{ op: "del", id: entry.messageId }]);
    this.emit("dead-letter", publicMessage(entry));
  }

  private entryFor(receiptHandle: string): Entry | undefined {
    const id = this.byHandle.get(receiptHandle);
    const entry = id === undefined ? undefined : this.entries.get(id);
    return entry && entry.receiptHandle === receiptHandle ? entry : undefined;
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry.messageId);
    if (entry.receiptHandle) this.byHandle.delete(entry.receiptHandle);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`queue ${this.name} is closed`);
  }

  // --- waiting -------------------------------------------------------------

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  /** Resolves on a send / visibility change, when the next hidden message reappears, at the deadline or on abort. */
  private waitForChange(deadline: number, signal?: AbortSignal): Promise<void> {
    let nextVisible = deadline;
    const now = Date.now();
    for (const e of this.entries.values())
      if (e.visibleAt > now && e.visibleAt < nextVisible) nextVisible = e.visibleAt;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, nextVisible - now) + 1);
      this.waiters.add(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  // --- persistence ---------------------------------------------------------

  private persist(records: LogRecord[]): Promise<void> {
    if (!this.file || records.length === 0) return Promise.resolve();
    for (const r of records) this.pending.push(`${JSON.stringify(r)}\n`);
    return this.flushNow();
  }

  /** Group commit: everything pending when the previous write finished goes out in one append. */
  private flushNow(): Promise<void> {
    if (!this.file || this.pending.length === 0) return this.nextFlush ?? Promise.resolve();
    this.nextFlush ??= (async () => {
      await this.flushChain;
      this.nextFlush = undefined;
      const lines = this.pending;
      this.pending = [];
      if (lines.length === 0) return;
      const run = (async () => {
        this.handle ??= await fs.open(this.file as string, "a");
        await this.handle.appendFile(lines.join(""));
        this.logRecords += lines.length;
        if (this.logRecords >= COMPACT_MIN_RECORDS && this.logRecords >= COMPACT_RATIO * this.entries.size) {
          await this.writeSnapshot();
        }
      })();
      this.flushChain = run.catch(() => undefined);
      await run;
    })();
    return this.nextFlush;
  }

  /** Rewrites the log as one send record per live message (atomic rename). */
  private async writeSnapshot(): Promise<void> {
    const file = this.file as string;
    const tmp = `${file}.${process.pid}.tmp`;
    const lines = [...this.entries.values()].map((e) => `${JSON.stringify(sendRecord(e))}\n`);
    await fs.writeFile(tmp, lines.join(""));
    await this.handle?.close();
    this.handle = undefined;
    await fs.rename(tmp, file);
    this.logRecords = lines.length;
  }

  private async replay(file: string): Promise<void> {
    let text: string;
    try {
      text = await fs.readFile(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    const lines = text.split("\n");
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      let record: LogRecord;
      try {
        record = JSON.parse(line) as LogRecord;
      } catch (err) {
        // Only the last line can be torn (a crash mid-append); anything else is corruption.
        if (i >= lines.length - 2) return;
        throw new Error(`queue log ${file} line ${i + 1} is not JSON`, { cause: err });
      }
      switch (record.op) {
        case "send":
          this.entries.set(record.id, {
            messageId: record.id,
            body: record.body,
            md5OfBody: record.md5,
            sentTimestamp: record.sent,
            receiveCount: record.n ?? 0,
            firstReceiveTimestamp: record.first,
            visibleAt: 0,
          });
          break;
        case "recv": {
          const entry = this.entries.get(record.id);
          if (entry) {
            entry.receiveCount = record.n;
            entry.firstReceiveTimestamp = record.first;
          }
          break;
        }
        case "del":
          this.entries.delete(record.id);
          break;
        case "purge":
          this.entries.clear();
          break;
      }
    });
  }
}

function sendRecord(e: QueueMessage): LogRecord {
  return {
    op: "send",
    id: e.messageId,
    body: e.body,
    md5: e.md5OfBody,
    sent: e.sentTimestamp,
    ...(e.receiveCount ? { n: e.receiveCount } : {}),
    ...(e.firstReceiveTimestamp ? { first: e.firstReceiveTimestamp } : {}),
  };
}

function publicMessage(e: QueueMessage): QueueMessage {
  return {
    messageId: e.messageId,
    body: e.body,
    md5OfBody: e.md5OfBody,
    sentTimestamp: e.sentTimestamp,
    receiveCount: e.receiveCount,
    ...(e.firstReceiveTimestamp ? { firstReceiveTimestamp: e.firstReceiveTimestamp } : {}),
  };
}
