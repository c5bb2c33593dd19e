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
