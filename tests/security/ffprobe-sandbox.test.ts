/**
 * The ffprobe sandbox (handlers/extractor/ffprobe-sandbox.ts) against the pinned build: each
 * restriction is proven by behaviour, not by reading the arguments.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { CPU_REASON, failureReason, REFERENCE_REASON, scrub } from "../../handlers/extractor/failure-reason";
import { resolveLocalFfprobe, runFfprobe } from "../../handlers/extractor/ffprobe";
import { gconvFolder, PROBE_DEMUXERS, REFERENCE_DEMUXERS } from "../../handlers/extractor/ffprobe-sandbox";
import { fileSource } from "../../handlers/extractor/file-source";
import { probeSource } from "../../handlers/extractor/probe-in-place";
import { type ByteSource, requestBudget, startRangeProxy } from "../../handlers/extractor/range-proxy";
import { FFPROBE_MEMORY_LIMIT_MIB, probeSlots } from "../../lib/probe-limits";
import { ensureMedia } from "../../media/media";
import { LEAK_PATTERNS, type Listeners, manyChaptersMkv, startListeners } from "../helpers/hostile-media";

/** A stand-in ffprobe that prints what it was given, as ffprobe JSON tags. */
async function reportingFfprobe(dir: string): Promise<string> {
  const file = path.join(dir, "ffprobe");
  await fs.writeFile(
    file,
    `#!/bin/sh
limit=$(ulimit -v)
vars=$(env | sort | tr '\\n' ' ')
printf '{"format":{"tags":{"limit":"%s","env":"%s"}}}' "$limit" "$vars"
`,
    { mode: 0o755 },
  );
  return file;
}

function memorySource(bytes: Buffer): ByteSource {
  return {
    size: bytes.length,
    async read(start, end) {
      const { Readable } = await import("node:stream");
      return { body: Readable.from([bytes.subarray(start, end + 1)]) };
    },
  };
}

describe("ffprobe sandbox", function () {
  this.timeout(60_000);
  let dir: string;
  let ffprobePath: string;
  let listeners: Listeners;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-sandbox-"));
    [ffprobePath, listeners] = await Promise.all([resolveLocalFfprobe(), startListeners()]);
  });
  after(async () => {
    await listeners?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("gives ffprobe an environment of its own: none of the function's credentials, a GCONV_PATH that loads no module", async () => {
    const saved = { ...process.env };
    process.env.AWS_ACCESS_KEY_ID = "AKIACANARYCANARY";
    process.env.AWS_SECRET_ACCESS_KEY = "canary-secret-value";
    process.env.AWS_SESSION_TOKEN = "canary-session-token";
    try {
      const run = await runFfprobe({ ffprobePath: await reportingFfprobe(dir), input: "/dev/null", timeoutMs: 10_000 });
      const env = run.output?.format?.tags?.env ?? "";
      expect(env).to.include(`GCONV_PATH=${await gconvFolder()}`);
      expect(env).not.to.match(/canary|AWS_/i);
      // No module in the folder, only aliases refusing the charsets that need one (mpegts-gconv.test.ts).
      expect(await fs.readdir(await gconvFolder())).to.deep.equal(["gconv-modules"]);
      const modules = await fs.readFile(path.join(await gconvFolder(), "gconv-modules"), "utf8");
      expect(modules).not.to.match(/^module/m);
      expect(modules).to.match(/^alias\tISO-8859-15\/\/\t/m);
    } finally {
      process.env = saved;
    }
  });

  it("runs ffprobe under the address-space limit of lib/probe-limits.ts", async () => {
    const run = await runFfprobe({ ffprobePath: await reportingFfprobe(dir), input: "/dev/null", timeoutMs: 10_000 });
    expect(run.output?.format?.tags?.limit).to.equal(String(FFPROBE_MEMORY_LIMIT_MIB * 1024));
    const custom = await runFfprobe({
      ffprobePath: await reportingFfprobe(dir),
      input: "/dev/null",
      timeoutMs: 10_000,
      memoryLimitMiB: 100,
    });
    expect(custom.output?.format?.tags?.limit).to.equal(String(100 * 1024));
  });

  it("ends an input that makes ffprobe compute without reading or allocating at its CPU time limit, not at the deadline", async () => {
    // 200,000 chapters in descending id order: FFmpeg's chapter lookup is quadratic (minutes of CPU).
    const file = path.join(dir, "many-chapters.mkv");
    await fs.writeFile(file, manyChaptersMkv(200_000));
    const deadlineMs = 120_000;
    const run = await runFfprobe({ ffprobePath, input: file, timeoutMs: deadlineMs });
    expect(run.timedOut, run.stderr).to.equal(false);
    expect(run.signal, run.stderr).to.equal("SIGXCPU");
    expect(failureReason(run, deadlineMs)).to.equal(CPU_REASON);
    // The limit is CPU time: the run must not have needed much more wall time than that on an idle
    // machine, but a shared one stretches it, so only the deadline is asserted.
    expect(run.ms).to.be.below(deadlineMs);
  });

  it("derives the probes one function runs at once from its memory and that limit", () => {
    expect(probeSlots(1024)).to.equal(2);
    expect(probeSlots(1769)).to.equal(3);
    expect(probeSlots(512)).to.equal(1);
    expect(probeSlots(10240)).to.equal(8);
  });

  it("why the format whitelist: with only -protocol_whitelist file, the pinned dash demuxer still opens a TCP connection", async () => {
    // The attack the sandbox stops, reproduced without it: a local DASH manifest naming a host.
    const manifest = path.join(dir, "control.mpd");
    await fs.writeFile(
      manifest,
      `<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT2S" minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"><BaseURL>http://127.0.0.1:${listeners.tcpPort}/</BaseURL><Period><AdaptationSet mimeType="video/mp4"><Representation id="1" bandwidth="1000"><BaseURL>x.mp4</BaseURL></Representation></AdaptationSet></Period></MPD>`,
    );
    const before = listeners.hits().tcp;
    await new Promise<void>((resolve) => {
      const child = spawn(ffprobePath, ["-v", "quiet", "-protocol_whitelist", "file", manifest], {
        env: { GCONV_PATH: dir },
        stdio: "ignore",
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.on("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    expect(listeners.hits().tcp).to.be.greaterThan(before);
  });

  it("whitelists no demuxer that opens other resources", () => {
    for (const name of PROBE_DEMUXERS) expect(REFERENCE_DEMUXERS.has(name), name).to.equal(false);
    // Every whitelisted name is a demuxer of the pinned build (a typo would silently refuse a format).
  });

  it("names only demuxers the pinned build has", async () => {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(ffprobePath, ["-hide_banner", "-demuxers"], { env: { GCONV_PATH: dir } });
      let text = "";
      child.stdout.on("data", (c) => {
        text += c;
      });
      child.on("error", reject);
      child.on("close", () => resolve(text));
    });
    const names = new Set(
      out
        .split("\n")
        .map((l) => /^ D\S* +(\S+)/.exec(l)?.[1])
        .filter((n): n is string => !!n)
        .flatMap((n) => n.split(",")),
    );
    for (const name of [...PROBE_DEMUXERS, ...REFERENCE_DEMUXERS]) expect(names.has(name), name).to.equal(true);
  });

  describe("range proxy: the one object, within a budget", () => {
    it("answers only its own path; anything else is 404 and reported", async () => {
      let refused = 0;
      const proxy = await startRangeProxy({
        source: memorySource(Buffer.from("0123456789")),
        onRefused: () => refused++,
      });
      try {
        const own = await fetch(proxy.url, { headers: { range: "bytes=0-3" } });
        expect(own.status).to.equal(206);
        expect(await own.text()).to.equal("0123");
        const origin = new URL(proxy.url).origin;
        for (const other of ["/object", "/", "/../etc/passwd", `${new URL(proxy.url).pathname}/x`]) {
          const res = await fetch(`${origin}${other}`);
          expect(res.status, other).to.equal(404);
          await res.arrayBuffer();
        }
        expect(proxy.stats.otherPaths).to.equal(4);
        expect(refused).to.equal(1);
        expect(new URL(proxy.url).pathname).to.match(/^\/[0-9a-f]{32}$/);
      } finally {
        await proxy.close();
      }
    });

    it("refuses requests past the budget (a read loop), with 429", async () => {
      const bytes = Buffer.from("tiny");
      const proxy = await startRangeProxy({ source: memorySource(bytes) });
      try {
        const budget = requestBudget(bytes.length);
        let last = 0;
        for (let i = 0; i <= budget; i++) {
          const res = await fetch(proxy.url, { headers: { range: "bytes=0-" } });
          last = res.status;
          await res.arrayBuffer();
        }
        expect(last).to.equal(429);
        expect(proxy.stats.overBudget).to.equal(1);
      } finally {
        await proxy.close();
      }
    });

    it("budgets enough requests for a large object read in seeks", () => {
      // A 1 GB fragmented MP4 visits about 115 fragments; a 10 GB one at one per second thousands.
      expect(requestBudget(1024 ** 3)).to.be.greaterThan(4000);
      expect(requestBudget(10 * 1024 ** 3)).to.be.greaterThan(40_000);
    });
  });

  describe("raw ffprobe JSON leaks nothing", () => {
    it("stores no loopback address, port or proxy path in the raw JSON (readers download it)", async () => {
      // ffprobe's format.filename is its input: the proxy's http://127.0.0.1:<port>/<path>.
      const run = await probeSource(await fileSource(await ensureMedia("mp4-faststart")), {
        ffprobePath,
        timeoutMs: 30_000,
      });
      expect(run.exitCode, run.stderr).to.equal(0);
      const raw = run.stdout?.toString("utf8") ?? "";
      expect(JSON.parse(raw).format.format_name).to.match(/mp4/);
      for (const leak of LEAK_PATTERNS.slice(0, 4)) expect(raw, String(leak)).not.to.match(leak);
      expect(raw).not.to.match(/[0-9a-f]{32}/);
      expect(JSON.stringify(run.output)).not.to.match(/127\.0\.0\.1|[0-9a-f]{32}/);
    });
  });

  describe("failure reasons leak nothing", () => {
    it("scrubs addresses, ports, URLs, paths and memory addresses out of ffprobe's words", () => {
      const text = scrub(
        "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x19a0f480] error at http://10.0.3.7:8080/x from 192.168.1.1:22 file:///etc/passwd /proc/self/environ [::1]:9000 port 5432",
      );
      expect(text).not.to.match(/0x|10\.0|192\.168|8080|:22|etc|proc|::1|5432/);
      expect(text).to.include("[mov,mp4,m4a,3gp,3g2,mj2]");
    });

    it("names a refused reference format, never what it referenced", () => {
      const reason = failureReason(
        {
          timedOut: false,
          outputCapped: false,
          memoryExceeded: false,
          refusedFormat: "dash",
          stderr: "[dash @ 0x1] Format not on whitelist 'mov,...'\nhttp://127.0.0.1:4000/abc: Invalid argument",
          exitCode: 1,
          signal: null,
        },
        20_000,
      );
      expect(reason).to.equal(REFERENCE_REASON);
    });

    it("drops network errors from a reason instead of storing them", () => {
      const reason = failureReason(
        {
          timedOut: false,
          outputCapped: false,
          memoryExceeded: false,
          stderr: "[tcp @ 0x2] Connection to tcp://10.1.2.3:6379 failed: Connection refused\nInvalid data found",
          exitCode: 1,
          signal: null,
        },
        20_000,
      );
      expect(reason).to.equal("ffprobe could not read the object (exit code 1): Invalid data found");
    });
  });
});
