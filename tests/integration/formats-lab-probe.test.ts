/**
 * Every media fixture (media/media.ts) through the other two ways documents are made:
 * the local lab (S3 stand-in, notifications, queue, the extractor's handler, the API) and
 * `npm run probe`. The restricted ffprobe (handlers/extractor/ffprobe-sandbox.ts) must refuse
 * none of the formats people upload, on any path.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { labAccessToken } from "../../lab/auth/sign-in";
import { makeLabS3Client } from "../../lab/clients";
import { startLab } from "../../lab/lab";
import { REPO_ROOT } from "../../lib/repo-root";
import type { MetadataDocument } from "../../lib/schema";
import { EXPECTED, ensureAllMedia, MEDIA_NAMES, type MediaName } from "../../media/media";
import { expectFixtureDocument } from "../helpers/fixture-documents";

const run = promisify(execFile);

describe("every format fixture through the lab and npm run probe", function () {
  this.timeout(300_000);
  let files: Record<MediaName, string>;

  before(async () => {
    files = await ensureAllMedia();
  });

  it("npm run probe prints the document each fixture should have", async () => {
    const names = MEDIA_NAMES;
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", path.join(REPO_ROOT, "tools/probe.ts"), ...names.map((n) => files[n])],
      { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 },
    );
    const docs = stdout
      .trim()
      .split(/\n(?=\{)/)
      .map((chunk) => JSON.parse(chunk) as MetadataDocument);
    expect(docs).to.have.length(names.length);
    names.forEach((name, i) => {
      expectFixtureDocument(name, docs[i]);
    });
  });

  it("the lab stores the document each fixture should have, readable over the API", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-formats-lab-"));
    const lab = await startLab({ dir, quiet: true, queue: { retryBackoff: { baseMs: 100 }, pollWaitMs: 200 } });
    const s3 = makeLabS3Client(lab.endpoints.s3Endpoint);
    try {
      const keyOf = (name: MediaName) => `formats/${name}.${EXPECTED[name].ext}`;
      for (const name of MEDIA_NAMES) {
        await s3.send(
          new PutObjectCommand({
            Bucket: lab.endpoints.ingestBucket,
            Key: keyOf(name),
            Body: await fs.readFile(files[name]),
          }),
        );
      }
      await lab.worker.drained(240_000);
      const token = await labAccessToken(lab.endpoints);
      for (const name of MEDIA_NAMES) {
        const res = await fetch(`${lab.endpoints.apiUrl}/files/formats/${encodeURIComponent(keyOf(name).slice(8))}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res.status, name).to.equal(200);
        expectFixtureDocument(name, (await res.json()) as MetadataDocument);
      }
      expect(lab.deadLetterQueue.messages()).to.deep.equal([]);
    } finally {
      s3.destroy();
      await lab.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
