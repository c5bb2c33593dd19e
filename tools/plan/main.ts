/**
 * npm run plan -- [--stack dev] [--program FILE] [--json]
 *
 * Runs the Pulumi program under the mock runtime with the stack's configuration and prints
 * what it would create: a tree, or with --json one object { mocked, project, stack, config,
 * resources: PlannedResource[], outputs }. The mocked-plan notice goes to stderr with --json
 * (stdout stays pure JSON) and heads the text output otherwise. The policy pack (policies/) then
 * runs over the plan: its violations follow the tree (with --json, a `violations` array of
 * { policy, resource?, level, message }). Exit code 1 when the program fails, 2 when a
 * mandatory policy is violated.
 */
import { parseArgs } from "node:util";
import { evaluatePlan, formatViolations, isBlocking } from "../../policies/offline";
import { formatPlanTree, MOCKED_NOTICE } from "./print";
import { type PlanResult, planProgram } from "./run-program";
import type { PlanViolation } from "./types";

const USAGE = "usage: npm run plan -- [--stack dev] [--program FILE] [--json]";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string", default: "dev" },
      program: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const plan = await planProgram({ stack: values.stack, program: values.program });
  // The policy pack's verdicts (policies/offline.ts), with policies/config/<stack>.json when it exists.
  const { violations, configFile } = await evaluatePlan(plan.resources, {
    stack: plan.stack,
    stackConfig: plan.config,
  });
  return report(plan, violations, configFile, values.json);
}

/** Prints the plan and the policy violations; exit code 2 when a mandatory policy is violated. */
function report(plan: PlanResult, violations: PlanViolation[], configFile: string | undefined, json: boolean): number {
  if (json) {
    process.stderr.write(`${MOCKED_NOTICE}\n`);
    process.stdout.write(`${JSON.stringify({ ...plan, violations }, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatPlanTree(plan)}\n\n${formatViolations(violations, configFile)}\n`);
  }
  return violations.some(isBlocking) ? 2 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`plan failed: ${err instanceof Error ? err.message : String(err)}\n`);
    const cause = err instanceof Error ? err.cause : undefined;
    if (cause instanceof Error && cause.stack) process.stderr.write(`cause: ${cause.stack}\n`);
    process.exitCode = 1;
  },
);
