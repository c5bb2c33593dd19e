/**
 * ffprobe's stderr is kept to its last 8 KiB (handlers/extractor/ffprobe.ts). A cut in the
 * middle of a line can leave the tail of an address or a path that the failure reason's
 * scrub no longer recognises ("0.30.40:8080/...", "ome/lambda/..."): the kept text starts at
 * a line start.
 */
import { expect } from "chai";
import { type FailedRun, failureReason } from "../../handlers/extractor/failure-reason";
import { stderrTail } from "../../handlers/extractor/ffprobe";

const failed = (stderr: string): FailedRun => ({
  timedOut: false,
  outputCapped: false,
  memoryExceeded: false,
  stderr,
  exitCode: 1,
  signal: null,
});

describe("ffprobe stderr tail (handlers/extractor/ffprobe.ts)", () => {
  const secretLine = "http://10.20.30.40:8080/var/task/secret-file: Invalid data found when processing input";
  const filler = "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] stream 0, sample 4, dts 1000: corrupt sample\n";

  it("keeps the last lines whole and drops the line the cut falls in", () => {
    const text = `${secretLine}\n${filler.repeat(3)}`;
    // Cut 20 characters into the secret line.
    const tail = stderrTail(text, text.length - 20);
    expect(tail).to.equal(filler.repeat(3));
    expect(stderrTail("short\n", 100)).to.equal("short\n");
    expect(stderrTail("x".repeat(50), 10)).to.equal(""); // one cut line: nothing safe to keep
  });

  it("leaves no part of an address or path in the reason, wherever the cut falls", () => {
    const text = `${filler.repeat(2)}${secretLine}\n${filler}`;
    for (let cut = 1; cut < secretLine.length; cut++) {
      const keep = text.length - filler.length * 2 - cut;
      const reason = failureReason(failed(stderrTail(text, keep).trim()), 10_000);
      expect(reason, `cut at ${cut}`).not.to.match(/8080|30\.40|0\.40|secret-file|var\/task|ask\/secret/);
    }
  });

  it("would leak the tail of an address if the cut line were kept (why the line is dropped)", () => {
    const text = `${secretLine}\n`;
    const naive = text.slice(-(text.length - 12)); // "0.30.40:8080/var/task/secret-file: ..."
    expect(failureReason(failed(naive.trim()), 10_000)).to.match(/8080/);
  });
});
