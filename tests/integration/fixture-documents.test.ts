/**
 * Every generated fixture's document, field by field, against a snapshot taken before the
 * probe was tuned to read fewer bytes (issue 17): reading less must not change any fact.
 *
 * The snapshot (fixture-documents.json) holds each document as `npm run probe` builds it
 * (the pinned ffprobe through the same loopback range proxy the Lambda uses), minus the
 * facts of the run itself: where the file lay (key), when it ran (processedAt, eventTime)
 * and what it cost (bytesRead, probeMs). It was written by the probe code of main at c6c3d5e
 * (the hostile-uploads sandbox, before issue 17 tuned the range proxy), 36 fixtures, with
 *
 *   UPDATE_FIXTURE_DOCUMENTS=1 npx mocha tests/integration/fixture-documents.test.ts
 *
 * Rewrite it only for a change that is meant to change documents, and say so in the commit.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { expect } from "chai";
import { resolveLocalFfprobe } from "../../handlers/extractor/ffprobe";
import type { MetadataDocument } from "../../lib/schema";
import { ensureAllMedia, MEDIA_NAMES, type MediaName } from "../../media/media";
import { probeFile } from "../../tools/probe";

const SNAPSHOT = path.join(__dirname, "fixture-documents.json");

/** The run's own facts: they differ from run to run and are not facts about the file. */
const RUN_FACTS = ["key", "processedAt", "eventTime", "bytesRead", "probeMs"] as const;

function factsOf(doc: MetadataDocument): Record<string, unknown> {
  const facts: Record<string, unknown> = { ...doc };
  for (const field of RUN_FACTS) delete facts[field];
  // ffprobe names its demuxer context by address ("[mov,mp4,... @ 0x3b1cb480]"): different every run.
  if (typeof facts.reason === "string") facts.reason = facts.reason.replace(/ @ 0x[0-9a-f]+\]/g, " @ 0x?]");
  // A JSON round trip, so the comparison sees exactly what a stored document holds.
  return JSON.parse(JSON.stringify(facts));
}

describe("fixture documents (integration: fewer bytes read, the same facts)", function () {
  this.timeout(180_000);
  const documents = new Map<MediaName, Record<string, unknown>>();
  const bytesRead = new Map<MediaName, number>();
  let snapshot: Record<string, Record<string, unknown>>;

  before(async () => {
    const [ffprobePath, files] = await Promise.all([resolveLocalFfprobe(), ensureAllMedia()]);
    for (const name of MEDIA_NAMES) {
      const doc = await probeFile(files[name], ffprobePath);
      documents.set(name, factsOf(doc));
      bytesRead.set(name, doc.bytesRead);
    }
    if (process.env.UPDATE_FIXTURE_DOCUMENTS === "1") {
      await fs.writeFile(SNAPSHOT, `${JSON.stringify(Object.fromEntries(documents), null, 2)}\n`);
    }
    snapshot = JSON.parse(await fs.readFile(SNAPSHOT, "utf8"));
  });

  it("has a snapshot of every fixture, and only of fixtures", () => {
    expect(Object.keys(snapshot).sort()).to.deep.equal([...MEDIA_NAMES].sort());
  });

  for (const name of MEDIA_NAMES) {
    it(`${name}: every field of the document is unchanged`, () => {
      expect(documents.get(name), name).to.deep.equal(snapshot[name]);
    });
  }

  it("reads no more of any fixture than its size", () => {
    for (const name of MEDIA_NAMES) {
      const size = snapshot[name].size as number;
      expect(bytesRead.get(name), name).to.be.at.most(size);
    }
  });
});
