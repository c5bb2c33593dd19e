/**
 * The backfill's selection (handlers/backfill/select.ts), the sequencer it gives documents
 * of keys the table never saw, the compare-and-swap condition it writes under, the Step
 * Functions item shape, and the reconcile comparison: all pure.
 */
import { expect } from "chai";
import { addResult, emptySummary, formatSummary, mapLimit } from "../../handlers/backfill/backfill";
import { compareExtractorVersions, decide, lastModifiedIso, type ObjectListing } from "../../handlers/backfill/select";
import { fromItemReader } from "../../handlers/backfill/step-functions";
import { backfillSequencer, isBackfillSequencer, normalizeSequencer } from "../../handlers/extractor/s3-event";
import { backfillCondition, type ItemSummary, sameItemVersion } from "../../handlers/extractor/store";
import { compareListings, hasDifferences } from "../../tools/reconcile/reconcile";

const V = "1.2.0";
const SEQ = normalizeSequencer("0055AED6DCD90281E5");
const obj = (etag = "e1"): ObjectListing => ({ key: "a.mp4", size: 10, etag });
const doc = (over: Partial<ItemSummary> = {}): ItemSummary => ({
  sequencer: SEQ,
  etag: "e1",
  extractorVersion: V,
  status: "ok",
  ...over,
});

describe("backfill selection", () => {
  describe("compareExtractorVersions", () => {
    const cases: [string | undefined, string | undefined, number][] = [
      ["1.0.0", "1.0.0", 0],
      ["1.9.0", "1.10.0", -1],
      ["1.10.0", "1.9.0", 1],
      ["1.2", "1.2.0", 0],
      ["2.0.0", "1.99.99", 1],
      ["1.1.0-rc.1", "1.1.0", -1],
      ["1.1.0-rc.2", "1.1.0-rc.10", -1],
      ["1.1.0-alpha", "1.1.0-beta", -1],
      ["1.1.0-1", "1.1.0-alpha", -1],
      ["v1.0.0", "1.0.0", 0],
      ["1.0.0+build.5", "1.0.0", 0],
      [undefined, "0.0.1", -1],
      ["garbage", "0.0.1", -1],
      ["0.0.1", undefined, 1],
      [undefined, undefined, 0],
    ];
    for (const [a, b, want] of cases) {
      it(`${a} vs ${b} -> ${want}`, () => {
        expect(compareExtractorVersions(a, b)).to.equal(want);
        expect(compareExtractorVersions(b, a)).to.equal(-want || 0);
      });
    }
  });

  describe("decide", () => {
    const opts = { extractorVersion: V };
    it("processes an object without an item, expecting none", () => {
      expect(decide(obj(), undefined, opts)).to.deep.equal({ action: "process", reason: "missing", expected: null });
    });
    it("processes an object whose item is a tombstone, expecting that tombstone", () => {
      const tomb: ItemSummary = { sequencer: SEQ, deleted: true };
      expect(decide(obj(), tomb, opts)).to.deep.equal({
        action: "process",
        reason: "missing",
        expected: { sequencer: SEQ, deleted: true },
      });
    });
    it("processes a document of an older extractor (semantic order), expecting that document", () => {
      const d = decide(obj(), doc({ extractorVersion: "1.10.0" }), { extractorVersion: "1.11.0" });
      expect(d).to.deep.equal({
        action: "process",
        reason: "outdated",
        expected: { sequencer: SEQ, etag: "e1", extractorVersion: "1.10.0" },
      });
      // "1.10.0" < "1.9.0" as strings, but not as versions:
      expect(decide(obj(), doc({ extractorVersion: "1.10.0" }), { extractorVersion: "1.9.0" })).to.deep.equal({
        action: "skip",
        reason: "newer-extractor",
      });
    });
    it("re-processes an outdated unprocessable document too", () => {
      expect(decide(obj(), doc({ extractorVersion: "1.0.0", status: "unprocessable" }), opts).action).to.equal(
        "process",
      );
    });
    it("processes a current document for another ETag (stale)", () => {
      expect(decide(obj("e2"), doc(), opts)).to.deep.include({ action: "process", reason: "stale" });
    });
    it("skips an up-to-date document, ok or unprocessable", () => {
      expect(decide(obj(), doc(), opts)).to.deep.equal({ action: "skip", reason: "up-to-date" });
      expect(decide(obj(), doc({ status: "unprocessable" }), opts)).to.deep.equal({
        action: "skip",
        reason: "up-to-date",
      });
    });
    it("with onlyOutdated: skips missing, tombstoned and stale, still processes outdated", () => {
      const only = { extractorVersion: V, onlyOutdated: true };
      expect(decide(obj(), undefined, only)).to.deep.equal({ action: "skip", reason: "not-outdated" });
      expect(decide(obj(), { sequencer: SEQ, deleted: true }, only)).to.deep.equal({
        action: "skip",
        reason: "not-outdated",
      });
      expect(decide(obj("e2"), doc(), only)).to.deep.equal({ action: "skip", reason: "not-outdated" });
      expect(decide(obj("e2"), doc({ extractorVersion: "1.0.0" }), only)).to.deep.include({
        action: "process",
        reason: "outdated",
      });
    });
  });

  describe("backfill sequencer", () => {
    it("sorts below every real sequencer (S3's and the lab's), is per ETag and stable", () => {
      const b = backfillSequencer("abc");
      expect(b).to.have.length(64).and.equal(normalizeSequencer(b));
      expect(isBackfillSequencer(b)).to.equal(true);
      expect(isBackfillSequencer(SEQ)).to.equal(false);
      for (const real of ["0055AED6DCD90281E5", "00000000000000001", "1", "0062E99A88DC407460"]) {
        expect(b < normalizeSequencer(real), real).to.equal(true);
      }
      expect(backfillSequencer("abc")).to.equal(b);
      expect(backfillSequencer("abd")).to.not.equal(b);
    });
  });

  describe("compare-and-swap condition", () => {
    it("for no item: the key must still be absent", () => {
      expect(backfillCondition(null)).to.deep.equal({ ConditionExpression: "attribute_not_exists(objectKey)" });
    });
    it("for a document: sequencer, etag, version equal and no deleted flag", () => {
      const c = backfillCondition({ sequencer: SEQ, etag: "e1", extractorVersion: "1.0.0" });
      expect(c.ConditionExpression).to.equal("#a0 = :v0 AND #a1 = :v1 AND #a2 = :v2 AND attribute_not_exists(#a3)");
      expect(c.ExpressionAttributeNames).to.deep.equal({
        "#a0": "sequencer",
        "#a1": "etag",
        "#a2": "extractorVersion",
        "#a3": "deleted",
      });
      expect(c.ExpressionAttributeValues).to.deep.equal({ ":v0": SEQ, ":v1": "e1", ":v2": "1.0.0" });
    });
    it("for a tombstone: sequencer equal, deleted, no etag and no version", () => {
      const c = backfillCondition({ sequencer: SEQ, deleted: true });
      expect(c.ConditionExpression).to.equal(
        "#a0 = :v0 AND attribute_not_exists(#a1) AND attribute_not_exists(#a2) AND #a3 = :v3",
      );
      expect(c.ExpressionAttributeValues).to.deep.equal({ ":v0": SEQ, ":v3": true });
    });
    it("sameItemVersion mirrors it", () => {
      const v = { sequencer: SEQ, etag: "e1", extractorVersion: "1.0.0" };
      expect(sameItemVersion(undefined, null)).to.equal(true);
      expect(sameItemVersion(v, null)).to.equal(false);
      expect(sameItemVersion(undefined, v)).to.equal(false);
      expect(sameItemVersion({ ...v, status: "ok" } as ItemSummary, v)).to.equal(true);
      expect(sameItemVersion({ ...v, extractorVersion: "1.1.0" }, v)).to.equal(false);
      expect(sameItemVersion({ ...v, sequencer: `${SEQ.slice(0, -1)}1` }, v)).to.equal(false);
    });
  });

  describe("Step Functions ItemReader items", () => {
    it("takes the listObjectsV2 item shape: quoted Etag, LastModified in epoch seconds", () => {
      expect(
        fromItemReader({
          Key: "processData/sample.mp4",
          Size: 1010,
          Etag: '"05704fbdccb224cb01c59005bebbad28"',
          LastModified: 1668699881,
          StorageClass: "STANDARD",
        }),
      ).to.deep.equal({
        key: "processData/sample.mp4",
        size: 1010,
        etag: "05704fbdccb224cb01c59005bebbad28",
        lastModified: "2022-11-17T15:44:41.000Z",
      });
      expect(lastModifiedIso("2022-11-17T15:44:41Z")).to.equal("2022-11-17T15:44:41.000Z");
      expect(lastModifiedIso(1668699881000)).to.equal("2022-11-17T15:44:41.000Z");
      expect(() => fromItemReader({} as never)).to.throw(TypeError);
    });
  });

  describe("summary and pool", () => {
    it("counts each status once and keeps failures", () => {
      const s = emptySummary();
      addResult(s, { key: "a", status: "processed", reason: "missing" });
      addResult(s, { key: "b", status: "unprocessable", reason: "outdated" });
      addResult(s, { key: "c", status: "skipped", reason: "up-to-date" });
      addResult(s, { key: "d", status: "skipped", reason: "up-to-date" });
      addResult(s, { key: "e", status: "changed", reason: "stale" });
      addResult(s, { key: "f", status: "failed", reason: "missing", error: "boom" });
      expect(s).to.deep.include({ listed: 6, processed: 1, unprocessable: 1, skipped: 2, changed: 1, failed: 1 });
      expect(s.skippedBy).to.deep.equal({ "up-to-date": 2 });
      expect(s.failures).to.deep.equal([{ key: "f", error: "boom" }]);
      expect(formatSummary(s)).to.equal(
        "6 listed: 1 processed, 1 unprocessable, 2 skipped (2 up-to-date), 1 changed meanwhile, 1 failed",
      );
    });
    it("mapLimit never runs more than the limit at once and keeps order", async () => {
      let running = 0;
      let peak = 0;
      const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n) => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, n * 3));
        running -= 1;
        return n * 10;
      });
      expect(out).to.deep.equal([50, 10, 40, 20, 30, 0]);
      expect(peak).to.equal(2);
    });
  });
});

describe("reconcile comparison", () => {
  const objects: ObjectListing[] = [
    { key: "ok.mp4", size: 1, etag: "a" },
    { key: "bad.mp4", size: 1, etag: "b" },
    { key: "missing.mp4", size: 1, etag: "c" },
    { key: "tomb.mp4", size: 1, etag: "d" },
    { key: "stale.mp4", size: 1, etag: "e2" },
    { key: "old.mp4", size: 1, etag: "f" },
  ];
  const items = [
    { key: "ok.mp4", sequencer: SEQ, etag: "a", extractorVersion: V, status: "ok" as const },
    { key: "bad.mp4", sequencer: SEQ, etag: "b", extractorVersion: V, status: "unprocessable" as const, reason: "x" },
    { key: "tomb.mp4", sequencer: SEQ, deleted: true },
    { key: "stale.mp4", sequencer: SEQ, etag: "e1", extractorVersion: V, status: "ok" as const },
    { key: "old.mp4", sequencer: SEQ, etag: "f", extractorVersion: "1.0.0", status: "ok" as const },
    { key: "gone.mp4", sequencer: SEQ, etag: "g", extractorVersion: V, status: "ok" as const },
    { key: "deleted.mp4", sequencer: SEQ, deleted: true },
  ];

  it("finds missing (tombstoned too), stale, orphaned, outdated; tombstones of gone keys are not orphans", () => {
    const r = compareListings(objects, items, { extractorVersion: V });
    expect(r).to.deep.include({ objects: 6, documents: 5, tombstones: 2, inAgreement: 3, ok: 2, unprocessable: 1 });
    expect(r.missing).to.deep.equal([
      { key: "missing.mp4", etag: "c", size: 1, tombstone: false },
      { key: "tomb.mp4", etag: "d", size: 1, tombstone: true },
    ]);
    expect(r.stale).to.deep.equal([{ key: "stale.mp4", objectEtag: "e2", documentEtag: "e1", size: 1 }]);
    expect(r.orphaned).to.deep.equal([{ key: "gone.mp4", etag: "g", sequencer: SEQ, extractorVersion: V }]);
    expect(r.outdated).to.deep.equal([{ key: "old.mp4", extractorVersion: "1.0.0" }]);
    expect(r.unprocessableKeys).to.deep.equal([{ key: "bad.mp4", reason: "x" }]);
    expect(hasDifferences(r)).to.equal(true);
  });

  it("agrees when every object has its document", () => {
    const r = compareListings(objects.slice(0, 2), items.slice(0, 2), { extractorVersion: V });
    expect(hasDifferences(r)).to.equal(false);
    expect(r.inAgreement).to.equal(2);
  });

  it("restricts the table to the prefix", () => {
    const r = compareListings(
      [{ key: "p/a", size: 1, etag: "a" }],
      [...items, { key: "p/a", sequencer: SEQ, etag: "a", extractorVersion: V }],
      {
        extractorVersion: V,
        prefix: "p/",
      },
    );
    expect(hasDifferences(r)).to.equal(false);
    expect(r.documents).to.equal(1);
  });
});
