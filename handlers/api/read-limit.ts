/**
 * How many index items each shard query of a merged listing asks for (handlers/api/routes.ts).
 *
 * A page of the sharded list index is N parallel queries merged newest first. When one shard
 * turns out to hold more of the page than it was asked for, the merge must query it again:
 * a second, sequential round trip, which is what makes a page slow. The first round therefore
 * asks each shard for more than its even share. With documents spread evenly by key hash, the
 * number of a page's W items that come from one shard is binomial (W, 1/N): its spread is
 * sqrt(W (1/N) (1 - 1/N)), which grows more slowly than W. So the margin is a multiple of that
 * spread (1.7) plus 3 items, not a share of W: a page of 25 from 4 shards reads 13 items per
 * shard (instead of 9) and needs a second round about 1 time in 100 instead of about 1 in 4,
 * and a filtered page (W = 100 items read for 25 wanted, below) reads 36 per shard, 144 in all,
 * instead of the 41 (164) a 1.5x margin read, with second rounds as rare as with one partition
 * (tests/api/read-limit.test.ts simulates both).
 * Extra items read cost read capacity by size (DynamoDB rounds a Query's items up to 4 KB
 * together, "Read consumption for Query", DynamoDB developer guide) and, in the read API, CPU
 * per item (the SDK deserializes each; bench/api.ts measures a page), so the margin is kept
 * to what the second-round rate needs.
 *
 * With a filter, DynamoDB's Limit counts items read before the filter ("Limiting the number of
 * items in the result set", Query docs): read four items for each one wanted, the same factor
 * the unsharded listing used, spread over the shards with the same margin.
 */

/** Items read per query at most when a filter applies (bounds one query's cost). */
export const MAX_FILTERED_READ = 200;
/** Items read per wanted item when a filter applies. */
const FILTER_READ_FACTOR = 4;
/** First-round margin over a shard's even share: this many spreads of its binomial count, and extra items. */
const FIRST_ROUND_SPREADS = 1.7;
const FIRST_ROUND_EXTRA = 3;
/** Fewest items a filtered query reads (a small remainder still reads a useful batch). */
const MIN_FILTERED_READ = 25;

export interface ShardReadRequest {
  /** Items the page still needs. */
  remaining: number;
  /** Shards not yet read to the end. */
  active: number;
  /** Whether a filter (status, kind, search, prefix) applies. */
  filtered: boolean;
  /** 0 for the first, parallel round; later rounds re-read only the shards the merge waits on. */
  round: number;
}

/** The Limit of one shard query. */
export function shardReadLimit({ remaining, active, filtered, round }: ShardReadRequest): number {
  const wanted = filtered ? remaining * FILTER_READ_FACTOR : remaining;
  // A later round reads one shard the merge waits on: it may hold everything still missing.
  const share = round === 0 && active > 1 ? firstRoundShare(wanted, active) : wanted;
  const limit = Math.min(share, wanted);
  return filtered ? Math.min(Math.max(limit, MIN_FILTERED_READ), MAX_FILTERED_READ) : limit;
}

/** A shard's first-round read of `wanted` items from `active` shards: even share + spreads + extra. */
function firstRoundShare(wanted: number, active: number): number {
  const even = wanted / active;
  const spread = Math.sqrt(wanted * (1 / active) * (1 - 1 / active));
  return Math.ceil(even + FIRST_ROUND_SPREADS * spread) + FIRST_ROUND_EXTRA;
}
