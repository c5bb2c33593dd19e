/**
 * Runs the policy pack over an offline plan (tools/plan: a Pulumi program run under mocks),
 * the way the Pulumi engine runs it over a preview:
 *
 *  - every registered resource goes through the resource policies with its inputs, and with
 *    its provider (the explicit provider resource it was given, or the default AWS provider
 *    the engine would create from the stack's `aws:` config);
 *  - the whole stack goes through the stack policies with every resource's state (inputs plus
 *    what the mocks computed), parents and dependencies resolved;
 *  - enforcement levels and parameters come from the stack's policy config file
 *    (policies/config/<stack>.json when it exists), reconciled with the policies' defaults
 *    and validated against their configSchemas exactly as `--policy-pack-config` is.
 *
 * Arguments are built by ./engine-args.ts, the same builder the tests use.
 */
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, PACK_VERSION, POLICIES } from "../../../policies/pack";
import type { PlannedResource, PlanViolation } from "../types";
import {
  analyzeResource,
  analyzeStack,
  type Diagnostic,
  type PackConfig,
  type ProviderDescription,
  type StackResourceDescription,
  stackTagsOf,
} from "./engine-args";
import {
  type PolicyConfigFile,
  parseConfigFile,
  readConfigFile,
  reconcileConfig,
  stackConfigFile,
} from "./pack-config";

export interface EvaluateOptions {
  /** Stack name: selects policies/config/<stack>.json. */
  stack: string;
  /**
   * Policy config instead of the stack's file: a path to a config file, or its parsed JSON.
   * `false`: no file, the policies' defaults only.
   */
  config?: string | PolicyConfigFile | false;
  /**
   * The stack's configuration, namespaced (PlanResult.config). Its `aws:` keys configure the
   * default AWS provider, which resources without an explicit provider get (e.g. aws:defaultTags).
   */
  stackConfig?: Record<string, string>;
  /** Project name; defaults to the one in the resources' URNs. */
  project?: string;
  /** Stack tags (what the engine sends with ConfigureStack). */
  stackTags?: Record<string, string>;
}

export interface Evaluation {
  violations: PlanViolation[];
  /** The config the pack ran with (defaults, then the file). */
  config: PackConfig;
  /** The config file used, if any. */
  configFile?: string;
}

// The wire signatures of assets and archives (@pulumi/pulumi runtime/rpc).
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17";
const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";

/**
 * The plan describes assets and archives as `{ asset: "file", path }` / `{ archive: "file", path }`
 * / `{ archive: "assets", assets }`; the engine sends them in their wire form, which the pack
 * deserialises into asset objects. Turn the former into the latter.
 */
export function toEngineProperties(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toEngineProperties);
  if (value === null || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  if (obj.asset === "file" || obj.asset === "string" || obj.asset === "remote") {
    const { asset: _a, ...rest } = obj;
    return { [SIG_KEY]: ASSET_SIG, ...rest };
  }
  if (obj.archive === "assets") {
    return { [SIG_KEY]: ARCHIVE_SIG, assets: toEngineProperties(obj.assets) };
  }
  if (obj.archive === "file" || obj.archive === "remote") {
    const { archive: _a, ...rest } = obj;
    return { [SIG_KEY]: ARCHIVE_SIG, ...rest };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = toEngineProperties(v);
  return out;
}

function props(value: Record<string, unknown>): Record<string, unknown> {
  return toEngineProperties(value) as Record<string, unknown>;
}

function awsProviderVersion(): string {
  try {
    return (require("@pulumi/aws/package.json") as { version: string }).version;
  } catch {
    return "0.0.0";
  }
}

/** The default provider the engine creates for a package, configured from the stack's `<pkg>:` keys. */
function defaultProvider(pkg: string, stack: string, project: string, stackConfig: Record<string, string>) {
  const version = pkg === "aws" ? awsProviderVersion() : "0.0.0";
  const name = `default_${version.replace(/\./g, "_")}`;
  const type = `pulumi:providers:${pkg}`;
  const providerProps: Record<string, unknown> = { version };
  for (const [key, value] of Object.entries(stackConfig)) {
    if (key.startsWith(`${pkg}:`)) providerProps[key.slice(pkg.length + 1)] = value;
  }
  return { type, name, urn: `urn:pulumi:${stack}::${project}::${type}::${name}`, props: providerProps };
}

/** The options the engine sends with a resource: its parent and `protect` (retainOnDelete is not in the protocol). */
function engineOptions(r: PlannedResource): { parent?: string; protect?: boolean } {
  return { ...(r.parent ? { parent: r.parent } : {}), ...(r.options?.protect ? { protect: true } : {}) };
}

function projectOf(urn: string): string {
  // urn:pulumi:<stack>::<project>::<type>::<name>
  return urn.split("::")[1] ?? "project";
}

/** Evaluates the pack over a plan: every violation, with its policy's enforcement level. */
export async function evaluatePlan(
  resources: readonly PlannedResource[],
  options: EvaluateOptions,
): Promise<Evaluation> {
  let configFile: string | undefined;
  let given: PackConfig = {};
  if (typeof options.config === "string") {
    configFile = options.config;
    given = readConfigFile(configFile);
  } else if (options.config && typeof options.config === "object") {
    given = parseConfigFile(options.config);
  } else if (options.config !== false) {
    configFile = stackConfigFile(options.stack);
    if (configFile) given = readConfigFile(configFile);
  }
  const config = reconcileConfig(POLICIES, PACK_ENFORCEMENT_LEVEL, given);
  const project = options.project ?? (resources[0] ? projectOf(resources[0].urn) : undefined);
  const ctx = {
    packName: PACK_NAME,
    packVersion: PACK_VERSION,
    packEnforcementLevel: PACK_ENFORCEMENT_LEVEL,
    config,
    stackTags: stackTagsOf(options.stackTags ?? {}),
    // What the CLI gives the pack process in PULUMI_CONFIG / PULUMI_NODEJS_PROJECT / _STACK.
    stackEnvironment: { project, stack: options.stack, config: options.stackConfig ?? {} },
  };

  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const defaults = new Map<string, ProviderDescription>();
  const providerOf = (r: PlannedResource): ProviderDescription | undefined => {
    if (r.type.startsWith("pulumi:providers:") || !r.custom) return undefined;
    if (r.provider) {
      const p = byUrn.get(r.provider);
      if (p) return { type: p.type, name: p.name, urn: p.urn, props: props(p.inputs) };
      return undefined;
    }
    const pkg = r.type.split(":")[0] ?? "";
    if (!defaults.has(pkg))
      defaults.set(pkg, defaultProvider(pkg, options.stack, projectOf(r.urn), options.stackConfig ?? {}));
    return defaults.get(pkg);
  };

  const violations: PlanViolation[] = [];
  const add = (d: Diagnostic, urn: string | undefined) => {
    const level = d.enforcementLevel;
    violations.push({ policy: d.policyName, ...(urn ? { resource: urn } : {}), level, message: d.detail });
  };

  for (const r of resources) {
    const result = await analyzeResource(
      POLICIES,
      {
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: props(r.inputs),
        opts: engineOptions(r),
        provider: providerOf(r),
      },
      ctx,
    );
    for (const d of result.diagnostics) add(d, r.urn);
  }

  const stackResources: StackResourceDescription[] = resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    // Bridged providers report `id` among a resource's outputs; the mocks return it apart.
    props: props(r.custom && r.id !== undefined && !("id" in r.state) ? { ...r.state, id: r.id } : r.state),
    opts: engineOptions(r),
    provider: providerOf(r),
    parent: r.parent,
    dependencies: r.dependencies,
    propertyDependencies: r.propertyDependencies,
  }));
  const stack = await analyzeStack(POLICIES, stackResources, ctx);
  for (const d of stack.diagnostics) add(d, d.urn);

  return { violations, config, configFile };
}

/** The violations of the pack over a plan (see evaluatePlan). */
export async function evaluatePolicies(
  resources: readonly PlannedResource[],
  options: EvaluateOptions,
): Promise<PlanViolation[]> {
  return (await evaluatePlan(resources, options)).violations;
}

/** True when a violation blocks a deployment (what makes `pulumi preview` fail). */
export function isBlocking(v: PlanViolation): boolean {
  return v.level === "mandatory" || v.level === "remediate";
}

/** `type::name` of a URN, for a short label. */
function shortUrn(urn: string): string {
  const parts = urn.split("::");
  const type = (parts[parts.length - 2] ?? "").split("$").pop();
  return `${type}::${parts[parts.length - 1]}`;
}

/**
 * The violations as text, after a plan's resource tree: one block per violation with its
 * level, policy, resource and message, then a verdict line.
 */
export function formatViolations(violations: readonly PlanViolation[], configFile?: string): string {
  const where = configFile ? `, config ${configFile.replace(`${process.cwd()}/`, "")}` : ", default config";
  const head = `Policy violations (${PACK_NAME}@${PACK_VERSION}${where}):`;
  if (violations.length === 0) return `${head} none.`;
  const order = { mandatory: 0, remediate: 0, advisory: 1, disabled: 2 } as const;
  const sorted = [...violations].sort((a, b) => order[a.level] - order[b.level]);
  const lines = [head];
  for (const v of sorted) {
    lines.push(`  [${v.level}] ${v.policy}  ${v.resource ? shortUrn(v.resource) : "(stack)"}`);
    lines.push(`      ${v.message}`);
  }
  const blocking = violations.filter(isBlocking).length;
  lines.push(
    blocking > 0
      ? `${blocking} mandatory violation(s): \`pulumi preview --policy-pack policies\` would refuse this program.`
      : `No mandatory violation (${violations.length} advisory).`,
  );
  return lines.join("\n");
}
