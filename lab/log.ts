/**
 * Where the lab's structured output goes. The handlers log with Powertools Logger and
 * publish EMF metrics exactly as on Lambda; in the lab both are routed to a sink instead
 * of stdout: the CLI pretty-prints one line per processed object (or passes the raw
 * JSON through with --json), tests keep quiet, and everything is also appended to
 * <lab dir>/logs/pipeline.jsonl.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Logger, type LogItem } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";

export interface LogEntry {
  kind: "log" | "metrics";
  attributes: Record<string, unknown>;
  /** The JSON line Lambda would have printed. */
  line: string;
}

export type LogSink = (entry: LogEntry) => void;

type LoggerOptions = NonNullable<ConstructorParameters<typeof Logger>[0]>;
type MetricsOptions = NonNullable<ConstructorParameters<typeof Metrics>[0]>;

/** A Powertools Logger whose records go to a sink (children too). */
export class LabLogger extends Logger {
  private readonly sink: LogSink;

  constructor(options: LoggerOptions, sink: LogSink) {
    super(options);
    this.sink = sink;
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    if (!this.sink) {
      super.printLog(logLevel, log); // during super() construction
      return;
    }
    log.prepareForPrint();
    const attributes = log.getAttributes() as Record<string, unknown>;
    const line = JSON.stringify(attributes, this.getJsonReplacer());
    this.sink({ kind: "log", attributes: JSON.parse(line), line });
  }

  protected override createLogger(options?: LoggerOptions): Logger {
    return new LabLogger(options ?? {}, this.sink);
  }
}

/** A Powertools Metrics whose EMF documents go to a sink (single metrics too). */
export class LabMetrics extends Metrics {
  private readonly sink: LogSink;
  private readonly labOptions: MetricsOptions;

  constructor(options: MetricsOptions, sink: LogSink) {
    super(options);
    this.sink = sink;
    this.labOptions = options;
  }

  override publishStoredMetrics(): this {
    try {
      if (this.hasStoredMetrics()) {
        const emf = this.serializeMetrics() as unknown as Record<string, unknown>;
        const line = JSON.stringify(emf);
        this.sink({ kind: "metrics", attributes: emf, line });
      }
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  }

  override singleMetric(): Metrics {
    return new LabMetrics({ ...this.labOptions, singleMetric: true }, this.sink);
  }
}

export const discardSink: LogSink = () => {};

export function teeSink(...sinks: LogSink[]): LogSink {
  return (entry) => {
    for (const s of sinks) s(entry);
  };
}

/** Raw JSON lines, as Lambda prints them. */
export function jsonSink(write: (text: string) => void = (t) => process.stdout.write(t)): LogSink {
  return (entry) => write(`${entry.line}\n`);
}

/** Appends every entry to a JSON-lines file. */
export function fileSink(file: string): { sink: LogSink; close(): Promise<void> } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const stream = fs.createWriteStream(file, { flags: "a" });
  let open = true;
  return {
    sink: (entry) => {
      if (open) stream.write(`${entry.line}\n`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        open = false;
        stream.end(resolve);
      }),
  };
}

function clock(timestamp: unknown): string {
  const d = typeof timestamp === "string" ? new Date(timestamp) : new Date();
  return Number.isNaN(d.getTime()) ? "--:--:--" : d.toTimeString().slice(0, 8);
}

function kib(bytes: unknown): string {
  const n = Number(bytes);
  if (!Number.isFinite(n)) return "?";
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`;
}

function errorText(error: unknown): string {
  if (!error) return "";
  if (typeof error === "string") return error;
  const e = error as { name?: string; message?: string };
  return e.message ? `${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message}` : JSON.stringify(error);
}

/** One human line for a log record, or undefined for records not worth a line. */
export function summarize(attributes: Record<string, unknown>): string | undefined {
  const a = attributes;
  const time = clock(a.timestamp);
  const where = typeof a.key === "string" ? `s3://${a.bucket ?? "?"}/${a.key}` : "";
  if (a.message === "object processed") {
    const outcome = String(a.outcome ?? "?").padEnd(13);
    const probe = a.probeMs !== undefined ? `  (probe ${a.probeMs} ms, ${kib(a.bytesRead)} read)` : "";
    const reason = a.reason ? `  ${String(a.reason).slice(0, 160)}` : "";
    return `${time}  ${outcome}  ${where}${probe}${reason}`;
  }
  const level = String(a.level ?? "").toUpperCase();
  if (level === "WARN" || level === "ERROR" || level === "CRITICAL") {
    const error = errorText(a.error);
    return `${time}  ${level.padEnd(13)}  ${a.message ?? ""}${where ? ` ${where}` : ""}${error ? `: ${error}` : ""}`;
  }
  return undefined;
}

/** One line per processed object and per warning or error; metrics are left out. */
export function prettySink(write: (text: string) => void = (t) => process.stdout.write(t)): LogSink {
  return (entry) => {
    if (entry.kind !== "log") return;
    const line = summarize(entry.attributes);
    if (line) write(`${line}\n`);
  };
}
