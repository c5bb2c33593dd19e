/**
 * The first window comes before ffprobe (range-proxy.ts prefetchFirstWindow, probe-in-place.ts):
 * an object replaced since its event is found without starting ffprobe, and what S3 is asked
 * for does not change.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { Readable } from "node:stream";
import { expect } from "chai";
import { resolveLocalFfprobe } from "../../handlers/extractor/ffprobe";
import { probeSource } from "../../handlers/extractor/probe-in-place";
import { type ByteSource, ObjectChangedError, startRangeProxy } from "../../handlers/extractor/range-proxy";
import { makeWav } from "../../lab/soak/media";
import { ensureMedia } from "../../media/media";

/** A source over `body` that records every read it is asked for. */
function recordingSource(body: Buffer, reads: [number, number][]): ByteSource {
  return {
    size: body.length,
    async read(start, end) {
      reads.push([start, end]);
      return { body: Readable.from([body.subarray(start, end + 1)]) };
    },
  };
}

/** What ffprobe does over HTTP: `bytes=0-`, then again from where each answer ended. */
async function readSequentially(url: string, size: number): Promise<[number, number][]> {
  const answers: [number, number][] = [];
  let from = 0;
  while (from < size) {
    const res = await fetch(url, { headers: { range: `bytes=${from}-` } });
    const [, a, b] = /bytes (\d+)-(\d+)\//.exec(res.headers.get("content-range") ?? "") ?? [];
    expect((await res.arrayBuffer()).byteLength).to.equal(Number(b) - Number(a) + 1);
    answers.push([Number(a), Number(b)]);
    from = Number(b) + 1;
  }
  return answers;
}

/** A stand-in for ffprobe that leaves a mark when it is started, in a temp folder `dir`. */
async function markingFfprobe(): Promise<{ dir: string; fake: string; started: () => Promise<boolean> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-first-window-"));
  const marker = path.join(dir, "started");
  const fake = path.join(dir, "ffprobe");
  await fs.writeFile(fake, `#!/bin/sh\ntouch '${marker}'\nexit 1\n`, { mode: 0o755 });
  const started = () =>
    fs.access(marker).then(
      () => true,
      () => false,
    );
  return { dir, fake, started };
}

describe("first window fetched before ffprobe starts", function () {
  this.timeout(60_000);
  let ffprobePath: string;
  before(async () => {
    ffprobePath = await resolveLocalFfprobe();
  });

  it("asks S3 for exactly the windows it asked for without the prefetch, and ffprobe gets the same answers", async () => {
    const body = makeWav(3, 44_100, 2); // about 530 KB: several doubling windows
    const plainReads: [number, number][] = [];
    const plain = await startRangeProxy({ source: recordingSource(body, plainReads) });
    const plainAnswers = await readSequentially(plain.url, body.length);
    await plain.close();

    const aheadReads: [number, number][] = [];
    const ahead = await startRangeProxy({ source: recordingSource(body, aheadReads) });
    await ahead.prefetchFirstWindow();
    expect(aheadReads).to.deep.equal([[0, 16 * 1024 - 1]]);
    const aheadAnswers = await readSequentially(ahead.url, body.length);
    await ahead.close();

    expect(aheadReads).to.deep.equal(plainReads);
    expect(aheadAnswers).to.deep.equal(plainAnswers);
    expect(ahead.stats.s3Requests).to.equal(plain.stats.s3Requests);
  });

  it("probes every fixture kind with the reads it needs, each byte fetched once", async () => {
    for (const name of ["wav", "mp4-faststart", "mkv-two-audio", "png", "flac"] as const) {
      const body = await fs.readFile(await ensureMedia(name));
      const reads: [number, number][] = [];
      const result = await probeSource(recordingSource(body, reads), { ffprobePath, timeoutMs: 20_000 });
      expect(result.exitCode, name).to.equal(0);
      expect(reads[0], name).to.deep.equal([0, Math.min(body.length, 16 * 1024) - 1]);
      const sorted = [...reads].sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < sorted.length; i++)
        expect(sorted[i][0], `${name}: fetched twice`).to.be.above(sorted[i - 1][1]);
      expect(result.requests, name).to.equal(reads.length);
    }
  });

  it("times a body that stalls after its headers as S3's stall, and starts no ffprobe once the deadline is gone", async () => {
    const { dir, fake, started } = await markingFfprobe();
    try {
      const result = await probeSource(
        {
          size: 100_000,
          // Headers at once, then not one byte: the body stalls.
          read: async (_start, _end, signal) => {
            const body = new Readable({ read() {} });
            signal.addEventListener("abort", () => body.destroy(new Error("aborted")), { once: true });
            return { body };
          },
        },
        { ffprobePath: fake, timeoutMs: 1_500 },
      );
      // process-change.ts retries a failed probe whose slowest read is this long (S3ReadStalledError).
      expect(result.proxy.slowestReadMs).to.be.at.least(1_200);
      expect(result.timedOut).to.equal(true);
      expect(result.proxy.upstreamError).to.equal(undefined);
      expect(await started(), "ffprobe was started after the deadline").to.equal(false);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("does not start ffprobe for an object replaced since its event", async () => {
    const { dir, fake, started } = await markingFfprobe();
    try {
      const result = await probeSource(
        {
          size: 100_000,
          read: async () => {
            throw new ObjectChangedError("the object's ETag is not the event's");
          },
        },
        { ffprobePath: fake, timeoutMs: 20_000 },
      );
      expect(result.proxy.upstreamError).to.be.instanceOf(ObjectChangedError);
      expect(result.requests).to.equal(1);
      expect(result.timedOut).to.equal(false);
      expect(await started(), "ffprobe was started").to.equal(false);

      // The same fake is started when the object is readable: the mark above means something.
      await probeSource(recordingSource(Buffer.alloc(1000, 1), []), { ffprobePath: fake, timeoutMs: 20_000 });
      expect(await started()).to.equal(true);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
