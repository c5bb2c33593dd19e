/**
 * What a deployed stack's identity is, for the URN-stability test: every resource's URN, type
 * and physical names, taken from a mocked plan. A stack deployed from the commit the snapshot
 * was taken at updates in place only if each of those URNs is still planned, or aliased, by a
 * resource of the same type with the same physical names.
 *
 * Re-take a snapshot (only when a change replaces resources on purpose, and say so in its
 * commit): `npx tsx tests/components/urn-snapshot.ts dev prod`.
 */

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { planProgram } from "../../tools/plan/run-program";
import type { PlannedResource } from "../../tools/plan/types";

export interface SnapshotResource {
  urn: string;
  type: string;
  /** Inputs that name the resource in AWS; changing one replaces it. */
  physicalNames: Record<string, string>;
}

export interface UrnSnapshot {
  stack: string;
  /** The commit of main the snapshot was taken from. */
  commit: string;
  resources: SnapshotResource[];
}

/**
 * Inputs that set a physical name, per type ("*" for every type). Resources without one get a
 * name Pulumi derives from the logical name (in the URN) plus a random suffix kept in state.
 */
const PHYSICAL_NAME_INPUTS: Record<string, string[]> = {
  "*": ["name", "namePrefix"],
  "aws:lambda/layerVersion:LayerVersion": ["layerName"],
  "aws:cloudwatch/dashboard:Dashboard": ["dashboardName"],
  "aws:s3/bucket:Bucket": ["bucket", "bucketPrefix"],
  "aws:lambda/function:Function": ["functionName"],
  "aws:dynamodb/table:Table": ["name"],
  "aws:iam/role:Role": ["name", "namePrefix"],
  "aws:synthetics/canary:Canary": ["name"],
};

export function physicalNames(r: PlannedResource): Record<string, string> {
  const keys = [...PHYSICAL_NAME_INPUTS["*"], ...(PHYSICAL_NAME_INPUTS[r.type] ?? [])];
  const out: Record<string, string> = {};
  for (const key of keys) {
    const value = r.inputs[key];
    if (typeof value === "string") out[key] = value;
  }
  return out;
}

export function snapshotPath(stack: string): string {
  return path.join(__dirname, "urn-snapshots", `${stack}.json`);
}

export function readSnapshot(stack: string): UrnSnapshot {
  return JSON.parse(fs.readFileSync(snapshotPath(stack), "utf8")) as UrnSnapshot;
}

async function take(stack: string): Promise<void> {
  const plan = await planProgram({ stack });
  const commit = execFileSync("git", ["rev-parse", "HEAD"], { encoding: "utf8" }).trim();
  const snapshot: UrnSnapshot = {
    stack,
    commit,
    resources: plan.resources.map((r) => ({ urn: r.urn, type: r.type, physicalNames: physicalNames(r) })),
  };
  fs.writeFileSync(snapshotPath(stack), `${JSON.stringify(snapshot, null, 2)}\n`);
  process.stdout.write(`${snapshotPath(stack)}: ${snapshot.resources.length} resources at ${commit}\n`);
}

if (require.main === module) {
  (async () => {
    for (const stack of process.argv.slice(2)) await take(stack);
  })().catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
  });
}
