/**
 * npm run plan -- [--stack dev] [--program FILE] [--json]
 *
 * Runs the Pulumi program under the mock runtime with the stack's configuration and prints
 * what it would create: a tree, or with --json one object { mocked, project, stack, config,
 * resources: PlannedResource[], outputs }. The mocked-plan notice goes to stderr with --json
 * (stdout stays pure JSON) and heads the text output otherwise. The policy pack (policies/) then
 * runs over the plan: its violations follow the tree (with --json, a `violations` array of
 * { policy, resource?, level, message }). Exit codes (tools/cli.ts): 0 no mandatory violation,
 * 1 the program failed, 2 usage error, 3 a mandatory policy is violated.
 *
 * --program may be anywhere on disk: its `@pulumi/*` imports resolve from this project's
 * installation (tools/plan/run-program.ts).
 */

import { type Cli, parseFlags, runCli } from "../cli";
import { evaluatePlan, formatViolations, isBlocking } from "./policy-engine/offline";
import { formatPlanTree, MOCKED_NOTICE } from "./print";
import { type PlanResult, planProgram } from "./run-program";
import type { PlanViolation } from "./types";

/** Exit code when the policy pack finds a mandatory violation. */
export const EXIT_MANDATORY_VIOLATION = 3;

export const cli: Cli = {
  name: "plan",
  usage: `usage: npm run plan -- [--stack dev] [--program FILE] [--json]

An offline, MOCKED plan: runs a Pulumi program under Pulumi's mock runtime with the stack's
configuration (Pulumi.<stack>.yaml), prints the resource tree, then the policy pack's verdicts
(policies/config/<stack>.json when it exists). Not a pulumi preview.

  --stack NAME     the stack whose configuration is used (default dev)
  --program FILE   the program to run (default: this repository's index.ts); any path: its
                   @pulumi/* imports resolve from this project's installation
  --json           one JSON object on stdout { mocked, project, stack, config, resources,
                   outputs, violations } (use npm run -s plan -- --json for pure JSON)`,
  exitCodes: {
    1: "the program failed (does not compile, throws, or fails under the mocks)",
    [EXIT_MANDATORY_VIOLATION]: "a mandatory policy is violated",
  },
  async main(argv) {
    const { values } = parseFlags(argv, {
      stack: { type: "string", default: "dev" },
      program: { type: "string" },
      json: { type: "boolean", default: false },
    });
    const plan = await planProgram({ stack: values.stack, program: values.program });
    // The policy pack's verdicts (tools/plan/policy-engine/offline.ts), with policies/config/<stack>.json when it exists.
    const { violations, configFile } = await evaluatePlan(plan.resources, {
      stack: plan.stack,
      stackConfig: plan.config,
    });
    return report(plan, violations, configFile, values.json);
  },
};

/** Prints the plan and the policy violations; exit code 3 when a mandatory policy is violated. */
function report(plan: PlanResult, violations: PlanViolation[], configFile: string | undefined, json: boolean): number {
  if (json) {
    process.stderr.write(`${MOCKED_NOTICE}\n`);
    process.stdout.write(`${JSON.stringify({ ...plan, violations }, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatPlanTree(plan)}\n\n${formatViolations(violations, configFile)}\n`);
  }
  return violations.some(isBlocking) ? EXIT_MANDATORY_VIOLATION : 0;
}

if (require.main === module) runCli(cli);
