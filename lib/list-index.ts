/**
 * The sharded newest-first list index, defined once: how many partition values the
 * `byProcessedAt` index spreads live documents over (N, stack config `listShards`, passed to
 * the functions as LIST_SHARDS), which value a document gets, and the search attribute the
 * read API filters file names on. The extractor and backfill write with it; the read API and
 * the lab read with it; the Pulumi components pass N to every function.
 *
 * Why shards: one partition value puts every index write on one partition, and a DynamoDB
 * partition takes at most 1,000 write units per second ("Best practices for designing and
 * using partition keys effectively", DynamoDB developer guide). Each document spread by a hash
 * of its object key over N values gives N partitions to write to. docs/api.md has the figures.
 *
 * Shard 0 keeps the historical value "files", so documents written before sharding stay
 * listed. N may grow (old documents stay in shards below the new N) but must never shrink:
 * a document in a shard >= N would no longer be listed until it is written again.
 */
import { ENV } from "./runtime-env";
import { METADATA_TABLE } from "./schema";

/**
 * Partition values of the list index; config `listShards` must lie in this range. The default
 * (1: the unsharded layout) is what runs without LIST_SHARDS, i.e. the local lab, which has no
 * partition throughput limit and where every extra shard is one more query per page on the
 * same CPU (bench/api.ts measures it). Stacks set `listShards` (Pulumi.yaml: 4).
 */
export const LIST_SHARDS = { min: 1, max: 64, default: 1 } as const;

/** Shard 0's value (the one value used before sharding). */
const BASE_VALUE = METADATA_TABLE.listPartitionValue;

/** The partition value of shard `shard`: "files", "files#1", "files#2", ... */
export function listPartitionValue(shard: number): string {
  return shard === 0 ? BASE_VALUE : `${BASE_VALUE}#${shard}`;
}

/** Every partition value a reader of N shards queries, shard 0 first. */
export function listPartitionValues(shards: number): string[] {
  return Array.from({ length: checkListShards(shards) }, (_, i) => listPartitionValue(i));
}

/** The shard of an object key: FNV-1a (32 bit) of its UTF-8 bytes, modulo N. Stable across runtimes. */
export function listShardOf(objectKey: string, shards: number): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(objectKey, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % checkListShards(shards);
}

/** Throws unless `n` is a whole number of shards in LIST_SHARDS' range. */
export function checkListShards(n: number, what = "the number of list shards"): number {
  if (!Number.isInteger(n) || n < LIST_SHARDS.min || n > LIST_SHARDS.max) {
    throw new Error(`${what} must be a whole number from ${LIST_SHARDS.min} to ${LIST_SHARDS.max}, got ${n}`);
  }
  return n;
}

/** N from LIST_SHARDS; the default when unset. */
export function listShardsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[ENV.listShards];
  if (raw === undefined || raw === "") return LIST_SHARDS.default;
  return checkListShards(/^\d{1,3}$/.test(raw) ? Number(raw) : Number.NaN, `${ENV.listShards}=${raw}`);
}

/** Name of the attribute holding the lower-cased file name that GET /files?q= searches. */
export const SEARCH_NAME_ATTRIBUTE = "searchName";

/** Search text folded the way names are stored: NFC, lower case (GET /files?q= folds the query alike). */
export function foldSearch(text: string): string {
  return text.normalize("NFC").toLowerCase();
}

/** What GET /files?q= compares: the object key's last path segment, folded. */
export function searchNameOf(objectKey: string): string {
  return foldSearch(objectKey.split("/").pop() ?? "");
}

/** The index attributes a live document carries: its shard's partition value and its search name. */
export function listingAttributes(objectKey: string, shards: number): { listPartition: string; searchName: string } {
  return {
    listPartition: listPartitionValue(listShardOf(objectKey, shards)),
    [SEARCH_NAME_ATTRIBUTE]: searchNameOf(objectKey),
  } as { listPartition: string; searchName: string };
}
