/**
 * The hostile-media corpus (tests/helpers/hostile-media.ts) through every way the pipeline
 * reads an upload: the extractor over embedded S3 and DynamoDB, `npm run probe`, and the local
 * lab. Each case must be refused for what it is, reach no listener and no local file, end
 * well before the probe deadline, and leave a reason that says nothing of the inside.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { createExtractor } from "../../handlers/extractor/extractor";
import { CPU_REASON, MEMORY_REASON, REFERENCE_REASON } from "../../handlers/extractor/failure-reason";
import { resolveLocalFfprobe } from "../../handlers/extractor/ffprobe";
import { labAccessToken } from "../../lab/auth/sign-in";
import { makeLabS3Client } from "../../lab/clients";
import { type Lab, startLab } from "../../lab/lab";
import { REPO_ROOT } from "../../lib/repo-root";
import { DEFAULT_PROBE_TIMEOUT_MS } from "../../lib/runtime-env";
import type { MetadataDocument } from "../../lib/schema";
import { ensureMedia } from "../../media/media";
import { type EmbeddedAws, startEmbeddedAws } from "../helpers/embedded-aws";
import { extractObjects } from "../helpers/extract-objects";
import {
  type HostileCase,
  hostileCorpus,
  LEAK_PATTERNS,
  type Listeners,
  startListeners,
} from "../helpers/hostile-media";

const run = promisify(execFile);

/** A refusal must come long before the probe deadline, even on a busy machine. */
const REFUSAL_BOUND_MS = DEFAULT_PROBE_TIMEOUT_MS / 2;

/** What every stored document of a hostile case must satisfy. */
function checkDocument(c: HostileCase, doc: MetadataDocument | undefined, listeners: Listeners): void {
  expect(doc, c.name).to.not.equal(undefined);
  const d = doc as MetadataDocument;
  if (c.verdict === "reference") expect(d.status, c.name).to.equal("unprocessable");
  if (c.verdict === "reference") expect(d.reason, c.name).to.equal(REFERENCE_REASON);
  if (c.verdict === "memory") expect(d.reason, c.name).to.equal(MEMORY_REASON);
  if (c.verdict === "cpu") expect(d.reason, c.name).to.equal(CPU_REASON);
  if (d.status === "ok") {
    // Only a bounded case may come back ok, and then it describes itself, not a local file.
    expect(c.verdict, c.name).to.equal("bounded");
    expect(d.size, c.name).to.equal(c.bytes.length);
  }
  for (const leak of LEAK_PATTERNS) expect(d.reason ?? "", `${c.name}: ${leak}`).not.to.match(leak);
  expect(d.reason ?? "", c.name).not.to.match(/did not finish/);
  expect(d.probeMs, c.name).to.be.below(c.verdict === "reference" ? REFUSAL_BOUND_MS : DEFAULT_PROBE_TIMEOUT_MS);
  expect(listeners.hits(), c.name).to.deep.equal({ tcp: 0, udp: 0 });
}

describe("hostile uploads", function () {
  this.timeout(240_000);
  let dir: string;
  let listeners: Listeners;
  let corpus: HostileCase[];
  let ffprobePath: string;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-hostile-"));
    listeners = await startListeners();
    const secret = path.join(dir, "secret.txt");
    await fs.writeFile(secret, "AWS_SECRET_ACCESS_KEY=not-for-uploaders\n");
    const localMedia = await ensureMedia("mp4-faststart");
    [corpus, ffprobePath] = await Promise.all([
      hostileCorpus(listeners, { localMedia, secret }, dir),
      resolveLocalFfprobe(),
    ]);
  });
  after(async () => {
    await listeners?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe("through the extractor (embedded S3 and DynamoDB)", () => {
    let aws: EmbeddedAws;
    const docs = new Map<string, MetadataDocument>();
    const keyOf = (c: HostileCase) => `hostile/${c.name}.${c.ext}`;

    before(async () => {
      aws = await startEmbeddedAws();
      const extractor = createExtractor({
        s3: aws.s3,
        dynamodb: aws.dynamodb,
        tableName: aws.tableName,
        metadataBucket: aws.metadataBucket,
        ffprobePath,
        logger: new Logger({ serviceName: "extractor", logLevel: "SILENT" }),
        metrics: new Metrics({ namespace: "Test", serviceName: "extractor", logger: silentConsole() }),
      });
      // The corpus and one good file in the same batches: a hostile record must not harm the others.
      const good = await fs.readFile(await ensureMedia("mp4-moov-end"));
      const objects = [
        ...corpus.map((c) => ({ key: keyOf(c), bytes: c.bytes })),
        { key: "good/clip.mp4", bytes: good },
      ];
      for (const [key, doc] of await extractObjects(aws, extractor, objects, 5)) docs.set(key, doc as MetadataDocument);
    });
    after(async () => aws?.stop());

    it("refuses every case for what it is, within its bounds, reaching nothing", () => {
      for (const c of corpus) checkDocument(c, docs.get(keyOf(c)), listeners);
    });

    it("still describes the good file that shared their batches", () => {
      expect(docs.get("good/clip.mp4")).to.include({ status: "ok", kind: "video" });
    });
  });

  describe("through npm run probe", () => {
    it("prints the same refusals", async () => {
      const files: string[] = [];
      for (const c of corpus) {
        const file = path.join(dir, `${c.name}.${c.ext}`);
        await fs.writeFile(file, c.bytes);
        files.push(file);
      }
      const { stdout } = await run(
        process.execPath,
        ["--import", "tsx", path.join(REPO_ROOT, "tools/probe.ts"), ...files],
        {
          cwd: REPO_ROOT,
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      const docs = stdout
        .trim()
        .split(/\n(?=\{)/)
        .map((chunk) => JSON.parse(chunk) as MetadataDocument);
      expect(docs).to.have.length(corpus.length);
      corpus.forEach((c, i) => {
        checkDocument(c, docs[i], listeners);
      });
    });
  });

  describe("through the local lab", () => {
    let labDir: string;
    let lab: Lab;
    let s3: S3Client;

    before(async () => {
      labDir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-hostile-lab-"));
      lab = await startLab({ dir: labDir, quiet: true, queue: { retryBackoff: { baseMs: 100 }, pollWaitMs: 200 } });
      s3 = makeLabS3Client(lab.endpoints.s3Endpoint);
    });
    after(async () => {
      s3?.destroy();
      await lab?.stop();
      await fs.rm(labDir, { recursive: true, force: true });
    });

    it("stores the same refusals, readable over the API", async () => {
      for (const c of corpus) {
        await s3.send(
          new PutObjectCommand({
            Bucket: lab.endpoints.ingestBucket,
            Key: `hostile/${c.name}.${c.ext}`,
            Body: c.bytes,
          }),
        );
      }
      await lab.worker.drained(180_000);
      const token = await labAccessToken(lab.endpoints);
      for (const c of corpus) {
        const res = await fetch(`${lab.endpoints.apiUrl}/files/hostile/${encodeURIComponent(`${c.name}.${c.ext}`)}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res.status, c.name).to.equal(200);
        checkDocument(c, (await res.json()) as MetadataDocument, listeners);
      }
      expect(lab.deadLetterQueue.messages()).to.deep.equal([]);
    });
  });
});

function silentConsole() {
  return { log() {}, info() {}, warn() {}, error() {}, debug() {} };
}
