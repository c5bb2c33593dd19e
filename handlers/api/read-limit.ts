/**
 * How many index items each shard query of a merged listing asks for (handlers/api/routes.ts).
 *
 * A page of the sharded list index is N parallel queries merged newest first. When one shard
 * turns out to hold more of the page than it was asked for, the merge must query it again:
 * a second, sequential round trip, which is what makes a page slow. The first round therefore
 * asks each shard for more than its even share (1.5x plus 3): with documents spread evenly by
 * key hash, a page of 25 from 4 shards then needs a second round about 1 time in 100 instead
 * of about 1 in 4 (tests/api/read-limit.test.ts simulates it), for 13 items read per shard
 * instead of 9.
 * Extra items read cost read capacity by size (DynamoDB rounds a Query's items up to 4 KB
 * together, "Read consumption for Query", DynamoDB developer guide), a few units per page.
 *
 * With a filter, DynamoDB's Limit counts items read before the filter ("Limiting the number of
 * items in the result set", Query docs): read four items for each one wanted, the same factor
 * the unsharded listing used, spread with the same 1.5x margin over the shards.
 */

/** Items read per query at most when a filter applies (bounds one query's cost). */
export const MAX_FILTERED_READ = 200;
/** Items read per wanted item when a filter applies. */
const FILTER_READ_FACTOR = 4;
/** Share of a shard's even part read in the first round, and the extra items beyond it. */
const FIRST_ROUND_MARGIN = 1.5;
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
  const share =
    round === 0 && active > 1 ? Math.ceil((wanted * FIRST_ROUND_MARGIN) / active) + FIRST_ROUND_EXTRA : wanted;
  const limit = Math.min(share, wanted);
  return filtered ? Math.min(Math.max(limit, MIN_FILTERED_READ), MAX_FILTERED_READ) : limit;
}
