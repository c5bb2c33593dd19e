/**
 * The first round of a merged listing reads enough from each shard that a page rarely needs
 * a second, sequential round of queries (handlers/api/read-limit.ts). Simulated: documents
 * spread evenly over the shards at random (as the key hash spreads them), a page of 25 newest
 * first, with and without a filter that one document in three matches.
 */
import { expect } from "chai";
import { MAX_FILTERED_READ, shardReadLimit } from "../../handlers/api/read-limit";
import { seededRandom } from "../../lab/soak/fault-proxy";

/**
 * Share of pages whose merge must query some shard again: a shard read to its first-round
 * limit whose last item read is newer than the page's last document may hold unread documents
 * that belong on the page.
 */
function secondRoundShare(shards: number, limit: number, matchShare: number, pages = 4000): number {
  const rand = seededRandom(shards * 1000 + Math.round(matchShare * 100));
  const read = shardReadLimit({ remaining: limit, active: shards, filtered: matchShare < 1, round: 0 });
  let second = 0;
  for (let page = 0; page < pages; page++) {
    const seen = new Array(shards).fill(0);
    const frontierAt = new Array(shards).fill(-1); // position (newest = 0) of each shard's last item read
    let matches = 0;
    let pageEndsAt = -1;
    for (let at = 0; pageEndsAt < 0 || frontierAt.some((f) => f < 0); at++) {
      const shard = Math.floor(rand() * shards);
      seen[shard]++;
      if (seen[shard] === read) frontierAt[shard] = at;
      if (pageEndsAt < 0 && rand() < matchShare && seen[shard] <= read) {
        matches++;
        if (matches === limit) pageEndsAt = at;
      } else if (pageEndsAt < 0 && seen[shard] > read) {
        // The page needs an item this shard has not read yet: a second round.
        pageEndsAt = Number.POSITIVE_INFINITY;
      }
      if (at > 100_000) break;
    }
    if (pageEndsAt === Number.POSITIVE_INFINITY || frontierAt.some((f) => f >= 0 && f < pageEndsAt)) second++;
  }
  return second / pages;
}

describe("merged listing: first-round read limits (handlers/api/read-limit.ts)", () => {
  it("reads the page from one partition in one query, as before sharding", () => {
    expect(shardReadLimit({ remaining: 25, active: 1, filtered: false, round: 0 })).to.equal(25);
    expect(shardReadLimit({ remaining: 25, active: 1, filtered: true, round: 0 })).to.equal(100);
    expect(shardReadLimit({ remaining: 100, active: 1, filtered: true, round: 0 })).to.equal(MAX_FILTERED_READ);
  });

  it("reads more than an even share from each of 4 shards, never more than the page", () => {
    const limit = shardReadLimit({ remaining: 25, active: 4, filtered: false, round: 0 });
    expect(limit).to.be.above(Math.ceil(25 / 4) + 2);
    expect(shardReadLimit({ remaining: 3, active: 4, filtered: false, round: 0 })).to.be.at.most(3);
    // A later round reads the one shard the merge waits on for everything still missing.
    expect(shardReadLimit({ remaining: 10, active: 4, filtered: false, round: 1 })).to.equal(10);
  });

  it("needs a second round for under 2% of unfiltered pages of 25 from 4 shards", () => {
    expect(secondRoundShare(4, 25, 1)).to.be.below(0.02);
  });

  it("needs a second round for under 2% of unfiltered pages of 25 from 8 and from 16 shards", () => {
    // The margin follows the spread of a shard's count (binomial), not a share of the page.
    expect(secondRoundShare(8, 25, 1)).to.be.below(0.02);
    expect(secondRoundShare(16, 25, 1)).to.be.below(0.02);
  });

  it("reads at most 1.5x the unsharded read for a filtered page from 4 shards (a 1.5x margin read 1.64x)", () => {
    const sharded = 4 * shardReadLimit({ remaining: 25, active: 4, filtered: true, round: 0 });
    const unsharded = shardReadLimit({ remaining: 25, active: 1, filtered: true, round: 0 });
    expect(sharded).to.be.at.most(1.5 * unsharded);
  });

  it("needs a second round no more often with 4 shards than with 1 when a third of the documents match", () => {
    const sharded = secondRoundShare(4, 25, 1 / 3);
    const unsharded = secondRoundShare(1, 25, 1 / 3);
    expect(sharded).to.be.at.most(Math.max(unsharded, 0.02));
  });
});
