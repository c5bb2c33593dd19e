/**
 * The capacity model behind `npm run capacity` and docs/capacity.md: costs grow with the
 * upload rate, and the limits that bite are named with the configuration that lifts them.
 */
import { expect } from "chai";
import { capacity, LIMITS } from "../../tools/capacity";

describe("capacity model", () => {
  it("at 10 thousand uploads a day nothing is near a limit", () => {
    const m = capacity({ uploadsPerDay: 10_000 });
    expect(m.bitesFirst).to.deep.equal([]);
    expect(m.monthlyUsd.total).to.be.greaterThan(0).and.lessThan(100);
  });

  it("costs scale linearly with uploads", () => {
    const a = capacity({ uploadsPerDay: 1_000_000 });
    const b = capacity({ uploadsPerDay: 2_000_000 });
    expect(b.monthlyUsd.total / a.monthlyUsd.total).to.be.closeTo(2, 0.01);
  });

  it("at 100 million a day the single list-index partition bites first, and the config shards it", () => {
    const m = capacity({ uploadsPerDay: 100_000_000 });
    expect(m.bitesFirst[0]).to.match(/list index/);
    const gsi = m.limits.find((l) => /list index/.test(l.name));
    expect(gsi?.limit).to.equal(LIMITS.partitionWcu);
    expect(m.config.some((c) => /list index sharded over >= \d+ partition values/.test(c))).to.equal(true);
    expect(m.config.some((c) => /concurrency quota >= \d+/.test(c))).to.equal(true);
  });

  it("refuses a rate that is not a positive number", () => {
    expect(() => capacity({ uploadsPerDay: 0 })).to.throw(/positive number/);
    expect(() => capacity({ uploadsPerDay: Number.NaN })).to.throw(/positive number/);
  });
});
