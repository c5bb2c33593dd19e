/**
 * The layout of the stats table (GET /stats's running totals): its key, the id of the totals
 * item and the prefixes of its document rows and counter attributes. The table is created by
 * components/metadata-stats.ts (and by the lab, lab/dynamodb.ts) and written by
 * handlers/stats/store.ts, which describes the items.
 */
export const STATS_TABLE = {
  partitionKey: { name: "id", type: "S" },
  totalsId: "totals",
  docPrefix: "doc#",
  counterPrefix: "n:",
} as const;

/**
 * How the metadata table's changes reach the stats aggregator: up to `batchSize` records per
 * invocation (one transaction of 99 documents + the totals), gathered for at most
 * `batchingWindowSeconds` (the stream's event source mapping, components/metadata-stats.ts;
 * the lab's feed, lab/stats-feed.ts, gathers its keys the same way).
 */
export const STATS_STREAM_BATCHING = {
  batchSize: 100,
  batchingWindowSeconds: 5,
} as const;
