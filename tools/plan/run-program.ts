/**
 * planProgram: runs a Pulumi program under Pulumi's mock runtime with a stack's
 * configuration and returns the resources it would register. No engine, no provider, no
 * cloud: the mocks (tools/plan/mocks.ts) invent every computed value. The CLI
 * (tools/plan/main.ts), the tests and the policy pack's offline runner call this.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { useMockRuntime } from "./mock-runtime";
import { DEFAULT_MOCK_ENVIRONMENT, type MockEnvironment } from "./mocks";
import { loadStackConfig } from "./stack-config";
import type { PlannedResource } from "./types";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export interface PlanOptions {
  /** Program file (.ts or .js). Default: <projectRoot>/index.ts. */
  program?: string;
  /** Stack whose Pulumi.<stack>.yaml is used. */
  stack: string;
  /** Folder holding Pulumi.yaml and the stack files. Default: this repository. */
  projectRoot?: string;
  /** AWS account id the mocks put in ARNs. */
  accountId?: string;
}

export interface PlanResult {
  project: string;
  stack: string;
  /** The configuration the program ran with (namespaced keys, string values). */
  config: Record<string, string>;
  resources: PlannedResource[];
  /** The program's exports (stack outputs), resolved. */
  outputs: Record<string, unknown>;
  /** Always true: this is a mocked plan, not a Pulumi preview. */
  mocked: true;
}

/** Only one program can run in the Pulumi runtime at a time: plans are queued. */
let queue: Promise<unknown> = Promise.resolve();

export function planProgram(options: PlanOptions): Promise<PlanResult> {
  const run = queue.then(() => runPlan(options));
  queue = run.catch(() => undefined);
  return run;
}

async function runPlan(options: PlanOptions): Promise<PlanResult> {
  const projectRoot = path.resolve(options.projectRoot ?? REPO_ROOT);
  const program = path.resolve(projectRoot, options.program ?? "index.ts");
  const stackConfig = loadStackConfig(projectRoot, options.stack);
  const environment: MockEnvironment = {
    region: stackConfig.config["aws:region"] ?? DEFAULT_MOCK_ENVIRONMENT.region,
    accountId: options.accountId ?? DEFAULT_MOCK_ENVIRONMENT.accountId,
  };

  const runtime = await useMockRuntime({ project: stackConfig.project, stack: options.stack, environment });
  pulumi.runtime.setAllConfig(stackConfig.config, stackConfig.secretKeys);

  // Errors thrown inside applies or registrations surface as unhandled rejections: collect
  // them so the plan fails with the cause instead of printing a partial tree.
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on("unhandledRejection", onRejection);
  try {
    const exports = loadProgram(program);
    await runtime.settle();
    const outputs = await resolveExports(exports);
    const resources = await runtime.settle();
    if (rejections.length > 0) {
      const first = rejections[0];
      throw new Error(`the program failed under the mocks: ${first instanceof Error ? first.message : String(first)}`, {
        cause: first,
      });
    }
    return {
      project: stackConfig.project,
      stack: options.stack,
      config: stackConfig.config,
      resources,
      outputs,
      mocked: true,
    };
  } finally {
    process.off("unhandledRejection", onRejection);
  }
}

/** Requires the program afresh (a cached module would not register its resources again). */
function loadProgram(program: string): Record<string, unknown> {
  let resolved: string;
  try {
    resolved = require.resolve(program);
  } catch (err) {
    throw new Error(`cannot find the program ${program}`, { cause: err });
  }
  delete require.cache[resolved];
  try {
    return require(resolved) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`the program ${program} threw while running: ${(err as Error).message}`, { cause: err });
  }
}

async function resolveExports(exports: Record<string, unknown>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(exports)) {
    if (key === "__esModule" || typeof value === "function") continue;
    // Output's promise() is not in its public type, but it is the one way to see a rejection
    // (an apply callback never runs for a failed output, so waiting on one would hang).
    const output = pulumi.output(value) as unknown as { promise?: () => Promise<unknown> };
    if (typeof output.promise !== "function") throw new Error("pulumi.Output has no promise(); update resolveExports");
    out[key] = await output.promise();
  }
  return out;
}
