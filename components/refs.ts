/**
 * What one component needs to know about another's resources: names and ARNs as inputs,
 * so components are wired by values (and tested with plain strings), not by object graphs.
 */
import type * as pulumi from "@pulumi/pulumi";
import { LOG_RETENTION_DAYS, UNRESERVED } from "../lib/aws-limits";

/** Defined beside the stack's configuration (lib/aws-limits.ts), which checks the same values. */
export { LOG_RETENTION_DAYS, UNRESERVED };

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

export function checkLogRetention(days: number, what: string): number {
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(days)) {
    throw new Error(
      `${what}: log retention ${days} days is not one CloudWatch accepts (${LOG_RETENTION_DAYS.join(", ")})`,
    );
  }
  return days;
}

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
