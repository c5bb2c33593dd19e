/**
 * bench/query-cost.ts measures its ways in turns: each round reverses the order of the last,
 * so a change in what else runs on the machine weighs on every way alike.
 */
import { expect } from "chai";
import { turnOrder } from "../../bench/query-cost";

describe("query cost bench (bench/query-cost.ts)", () => {
  it("alternates the order of the ways from round to round", () => {
    const ways = ["sdk", "sdk+log", "dynalite"];
    expect(turnOrder(ways, 0)).to.deep.equal(["sdk", "sdk+log", "dynalite"]);
    expect(turnOrder(ways, 1)).to.deep.equal(["dynalite", "sdk+log", "sdk"]);
    expect(turnOrder(ways, 2)).to.deep.equal(ways);
    expect(ways).to.deep.equal(["sdk", "sdk+log", "dynalite"]); // not reordered in place
  });
});
