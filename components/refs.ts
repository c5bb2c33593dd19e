/**
 * What one component needs to know about another's resources: names and ARNs as inputs,
 * so components are wired by values (and tested with plain strings), not by object graphs.
 */
import type * as pulumi from "@pulumi/pulumi";

export interface BucketRef {
  name: pulumi.Input<string>;
  arn: pulumi.Input<string>;
}

export interface TableRef {
  name: pulumi.Input<string>;
  arn: pulumi.Input<string>;
  /** ARN of the newest-first index (`<table arn>/index/<name>`). */
  listIndexArn: pulumi.Input<string>;
  /** Partition values of that index (lib/list-index.ts), passed to functions as LIST_SHARDS; default LIST_SHARDS.default. */
  listShards?: number;
}

/** CloudWatch Logs retention periods AWS accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export function checkLogRetention(days: number, what: string): number {
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(days)) {
    throw new Error(
      `${what}: log retention ${days} days is not one CloudWatch accepts (${LOG_RETENTION_DAYS.join(", ")})`,
    );
  }
  return days;
}

/** Lambda's reserved concurrency: -1 means "no reservation" (the function shares the account's pool). */
export const UNRESERVED = -1;

/**
 * Fields the kill switch (handlers/kill-switch/lambda-control.ts) and `npm run resume` own on
 * a live stack, as `ignoreChanges` lists: a `pulumi up` (with or without --refresh) must not
 * put back what a pause changed. Pulumi applies these fields when it creates the resource and
 * never after (docs/kill-switch.md, "Deploying while paused"); the pause tags are left alone
 * by the provider's `ignoreTags` (index.ts), so they need no entry here.
 */
export const KILL_SWITCH_OWNED = {
  /** A paused function has reserved concurrency 0. */
  function: ["reservedConcurrentExecutions"],
  /** A paused extractor's SQS event source mapping is disabled. */
  eventSourceMapping: ["enabled"],
} as const;

/** Options that keep a stateful resource (table, user pool, bucket) through replacements and destroys. */
export function stateProtection(protect: boolean | undefined): { protect: boolean; retainOnDelete: boolean } {
  return { protect: protect === true, retainOnDelete: protect === true };
}
