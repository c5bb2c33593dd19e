/**
 * The lab's log routing: handler logs and EMF metrics go to a sink (never straight to
 * stdout), and the CLI's one-line summaries.
 */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { expect } from "chai";
import { LabLogger, LabMetrics, type LogEntry, prettySink, summarize } from "../../lab/log";

describe("lab log routing", () => {
  it("sends Powertools log records, including a child logger's, to the sink as the JSON Lambda would print", () => {
    const entries: LogEntry[] = [];
    const logger = new LabLogger({ serviceName: "extractor" }, (e) => entries.push(e));
    logger.info("object processed", { key: "a.wav", outcome: "ok" });
    logger.createChild({ serviceName: "child" }).warn("careful");
    expect(entries).to.have.length(2);
    expect(entries[0].kind).to.equal("log");
    expect(entries[0].attributes).to.include({
      level: "INFO",
      message: "object processed",
      service: "extractor",
      key: "a.wav",
    });
    expect(JSON.parse(entries[0].line)).to.deep.equal(entries[0].attributes);
    expect(entries[1].attributes).to.include({ level: "WARN", message: "careful", service: "child" });
  });

  it("sends EMF metrics, single metrics included, to the sink instead of stdout", () => {
    const entries: LogEntry[] = [];
    const written: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      const metrics = new LabMetrics({ namespace: "Test", serviceName: "svc" }, (e) => entries.push(e));
      const single = metrics.singleMetric();
      single.addDimension("Outcome", "ok");
      single.addMetric("Objects", MetricUnit.Count, 1);
      metrics.addMetric("ProbeTime", MetricUnit.Milliseconds, 12);
      metrics.publishStoredMetrics();
    } finally {
      process.stdout.write = write;
    }
    expect(written.join("")).not.to.contain("_aws");
    expect(entries.map((e) => e.kind)).to.deep.equal(["metrics", "metrics"]);
    expect(entries[0].attributes).to.include({ Objects: 1, Outcome: "ok" });
    expect(entries[1].attributes).to.include({ ProbeTime: 12 });
  });

  it("summarizes a processed object and an error in one line each, and skips the rest", () => {
    const ok = summarize({
      timestamp: new Date().toISOString(),
      level: "INFO",
      message: "object processed",
      bucket: "media-ingest",
      key: "a b.wav",
      outcome: "ok",
      probeMs: 41,
      bytesRead: 2048,
    });
    expect(ok).to.match(/ok +s3:\/\/media-ingest\/a b\.wav {2}\(probe 41 ms, 2\.0 KiB read\)$/);
    const err = summarize({ level: "ERROR", message: "worker error", error: { name: "Error", message: "boom" } });
    expect(err).to.match(/ERROR +worker error: boom$/);
    expect(summarize({ level: "INFO", message: "something routine" })).to.equal(undefined);
    const lines: string[] = [];
    prettySink((t) => lines.push(t))({ kind: "metrics", attributes: {}, line: "{}" });
    expect(lines).to.deep.equal([]);
  });
});
