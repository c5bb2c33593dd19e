/**
 * Nothing is condemned for being slow (issue 14): several heavy but valid files uploaded at
 * once to the lab while a CPU hog keeps the machine busy all get an `ok` document. Their probes
 * hit the (deliberately short) wall-clock deadline while starved of CPU; the extractor sees from
 * ffprobe's CPU time that the machine was slow, retries them with longer deadlines
 * (handlers/extractor/probe-deadline.ts), and never stores them as unprocessable. Before that,
 * each timeout became "ffprobe did not finish within ... and was killed" for good.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { type Lab, startLab } from "../../lab/lab";
import { startCpuHog } from "../../lab/soak/cpu-hog";
import { runFfmpeg } from "../../media/media";

const FILES = 3;
/** Tracks per file: heavy to probe (seconds of CPU on a loaded machine), well under ffprobe's memory cap. */
const TRACKS = 250;
/** Short on purpose: on a busy machine these probes cannot finish within it on their first delivery. */
const BASE_DEADLINE_MS = 3_000;

describe("heavy but valid files under a CPU hog", function () {
  this.timeout(900_000);
  let dir: string;
  let lab: Lab | undefined;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-heavy-"));
  });
  after(async () => {
    await lab?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("stores ok for every one, retrying probes the busy machine starved instead of condemning them", async () => {
    const one = path.join(dir, "one.m4a");
    const many = path.join(dir, "many.mp4");
    await runFfmpeg(["-f", "lavfi", "-i", "sine=f=440:d=0.2", "-c:a", "aac", "-b:a", "16k", "-f", "mp4", one]);
    const maps = Array.from({ length: TRACKS }, () => ["-map", "0:a"]).flat();
    await runFfmpeg(["-i", one, ...maps, "-c", "copy", "-f", "mp4", many], { timeoutMs: 300_000 });
    const base = await fs.readFile(many);

    lab = await startLab({
      dir: path.join(dir, "lab"),
      quiet: true,
      probeTimeoutMs: BASE_DEADLINE_MS,
      // Deliveries get 3, 6, 12, 24, 48 s (a failed message comes back after 1, 2, 4... s).
      queue: { maxReceiveCount: 8, retryBackoff: { baseMs: 1_000 }, visibilityTimeoutMs: 300_000 },
    });
    const hog = startCpuHog(1);
    try {
      const keys = Array.from({ length: FILES }, (_, i) => `heavy/${i}.mp4`);
      // Distinct objects (own ETags): the same bytes plus a tail MP4 readers ignore.
      await Promise.all(
        keys.map((Key, i) =>
          lab?.s3.send(
            new PutObjectCommand({
              Bucket: lab.endpoints.ingestBucket,
              Key,
              Body: Buffer.concat([base, Buffer.from(`free${i}`.padEnd(8, " "))]),
            }),
          ),
        ),
      );
      const doc = DynamoDBDocumentClient.from(lab.dynamodb);
      const documents = new Map<string, Record<string, unknown>>();
      const deadline = Date.now() + 840_000;
      while (documents.size < FILES && Date.now() < deadline) {
        for (const key of keys) {
          if (documents.has(key)) continue;
          const { Item } = await doc.send(
            new GetCommand({ TableName: lab.endpoints.tableName, Key: { objectKey: key }, ConsistentRead: true }),
          );
          if (Item?.status) documents.set(key, Item);
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const summary = keys.map((k) => `${k}: ${documents.get(k)?.status ?? "none"} ${documents.get(k)?.reason ?? ""}`);
      for (const key of keys) {
        expect(documents.get(key)?.status, summary.join("\n")).to.equal("ok");
        expect((documents.get(key)?.streams as unknown[] | undefined)?.length ?? TRACKS, key).to.be.greaterThan(0);
      }
      expect(lab.deadLetterQueue.counts().visible, "nothing dead-lettered").to.equal(0);
    } finally {
      await hog.stop();
    }
  });
});
