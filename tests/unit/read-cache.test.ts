/**
 * The range proxy's memory of what one probe fetched (handlers/extractor/read-cache.ts).
 */
import { expect } from "chai";
import { ReadCache } from "../../handlers/extractor/read-cache";

const bytes = (from: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) % 251));
const joined = (bufs: Buffer[]) => Buffer.concat(bufs);

describe("range proxy read cache", () => {
  it("serves back exactly the bytes it was given, contiguous from the asked offset", () => {
    const c = new ReadCache(1 << 20);
    c.add(100, bytes(100, 50));
    c.add(150, bytes(150, 50));
    expect(c.coveredUntil(120)).to.equal(200);
    expect(joined(c.take(120, 179))).to.deep.equal(bytes(120, 60));
    expect(joined(c.take(120, 10_000))).to.deep.equal(bytes(120, 80));
  });

  it("holds nothing before the first chunk and stops at a gap", () => {
    const c = new ReadCache(1 << 20);
    c.add(0, bytes(0, 10));
    c.add(20, bytes(20, 10));
    expect(c.coveredUntil(5)).to.equal(10);
    expect(c.coveredUntil(10)).to.equal(10);
    expect(joined(c.take(5, 100))).to.deep.equal(bytes(5, 5));
    expect(c.take(12, 100)).to.deep.equal([]);
  });

  it("says where held bytes resume after a gap, so a read can stop there", () => {
    const c = new ReadCache(1 << 20);
    c.add(0, bytes(0, 10));
    c.add(100, bytes(100, 10));
    expect(c.nextHeldAfter(10)).to.equal(100);
    expect(c.nextHeldAfter(100)).to.equal(undefined);
  });

  it("does not keep bytes twice when a new read overlaps held ones", () => {
    const c = new ReadCache(1 << 20);
    c.add(10, bytes(10, 10));
    c.add(0, bytes(0, 40));
    expect(c.bytes).to.equal(40);
    expect(joined(c.take(0, 39))).to.deep.equal(bytes(0, 40));
  });

  it("keeps no more than its limit, and still answers for what it kept", () => {
    const c = new ReadCache(25);
    c.add(0, bytes(0, 20));
    c.add(20, bytes(20, 20));
    expect(c.bytes).to.equal(25);
    expect(c.coveredUntil(0)).to.equal(25);
    expect(joined(c.take(0, 100))).to.deep.equal(bytes(0, 25));
  });

  it("copies what it keeps, so a reused buffer cannot change it", () => {
    const c = new ReadCache(100);
    const b = bytes(0, 10);
    c.add(0, b);
    b.fill(0);
    expect(joined(c.take(0, 9))).to.deep.equal(bytes(0, 10));
  });
});
