/**
 * planProgram: runs a Pulumi program under Pulumi's mock runtime with a stack's
 * configuration and returns the resources it would register. No engine, no provider, no
 * cloud: the mocks (tools/plan/mocks.ts) invent every computed value. The CLI
 * (tools/plan/main.ts), the tests and the policy pack's offline runner call this.
 */
import Module from "node:module";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { REPO_ROOT } from "../../lib/repo-root";
import { useMockRuntime } from "./mock-runtime";
import { DEFAULT_MOCK_ENVIRONMENT, type MockEnvironment } from "./mocks";
import { loadStackConfig } from "./stack-config";
import type { PlannedResource } from "./types";

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
  const restoreResolution = resolvePackagesFromThisProject();
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
    restoreResolution();
    process.off("unhandledRejection", onRejection);
  }
}

type ResolveFilename = (
  request: string,
  parent: NodeJS.Module | undefined,
  isMain: boolean,
  options?: object,
) => string;

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

/**
 * A program anywhere on disk (`--program /elsewhere/index.ts`) runs with this project's
 * packages: `@pulumi/*` always resolves from this repository's node_modules, because the mock
 * runtime is installed on THIS copy of @pulumi/pulumi (a second copy would talk to no
 * monitor). Any other package the program's own folders lack falls back to ours too.
 * Returns the function that removes the hook.
 */
function resolvePackagesFromThisProject(): () => void {
  const mod = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = mod._resolveFilename;
  const fromHere = { paths: [REPO_ROOT] };
  const bare = (request: string) =>
    !request.startsWith(".") && !path.isAbsolute(request) && !request.startsWith("node:");
  mod._resolveFilename = function (this: unknown, request, parent, isMain, options) {
    const outside = parent?.filename ? !isInside(parent.filename, REPO_ROOT) : false;
    if (!outside || !bare(request)) return original.call(this, request, parent, isMain, options);
    if (request.startsWith("@pulumi/")) return original.call(this, request, parent, isMain, fromHere);
    try {
      return original.call(this, request, parent, isMain, options);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
      return original.call(this, request, parent, isMain, fromHere);
    }
  };
  return () => {
    mod._resolveFilename = original;
  };
}

/**
 * esbuild's compile errors (tsx compiles the program), as `file:line:column: text`; undefined
 * for any other error. tsx rethrows them as a plain Error "Transform failed with N error(s):"
 * followed by one `file:line:column: ERROR: text` line each.
 */
function compileErrors(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : "";
  const match = /^Transform failed with \d+ errors?:\n([\s\S]*)$/.exec(message);
  if (!match) return undefined;
  return match[1]
    .split("\n")
    .map((line) => line.trim().replace(/: ERROR: /, ": "))
    .filter(Boolean)
    .join("; ");
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
    const compile = compileErrors(err);
    if (compile) throw new Error(`the program ${program} does not compile: ${compile}`, { cause: err });
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
