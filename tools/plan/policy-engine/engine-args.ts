/**
 * The arguments the analyzer hands a policy, built the way @pulumi/policy 1.21.0 builds them
 * (node_modules/@pulumi/policy/server.js: makeAnalyzeRpcFun, makeAnalyzeStackRpcFun,
 * getResourceOptions, getProviderResource, isTypeOf, makeReportViolationFun), and the loop that
 * runs a pack's policies over one resource or a whole stack with the same enforcement-level
 * rules, unknown-value handling and not-applicable handling as the server.
 *
 * This is engine machinery, not part of the pack: the pack (policies/) holds only the rules and the
 * Pulumi CLI runs it through @pulumi/policy's real analyzer server (tests/policies/grpc.test.ts
 * checks the pack that way). The offline runner (./offline.ts) and the tests
 * (tests/policies/harness.ts) both go through this module, so what a test asserts is what
 * `npm run plan` reports.
 *
 * Fidelity notes:
 *  - props travel as the engine sends them: a protobuf Struct, deserialised by @pulumi/policy's
 *    own `deserializeProperties` (assets and archives become asset objects, undefined top-level
 *    keys vanish) and wrapped in `unknownCheckingProxy`. Unknown values are the engine's sentinel
 *    strings (see `unknownValue`).
 *  - resource policies see a resource's inputs; stack policies see its outputs (the engine
 *    analyses the stack after the provider has filled in computed properties).
 *  - the stack's project, name and configuration reach the pack through the environment
 *    (PULUMI_CONFIG, PULUMI_NODEJS_PROJECT / _STACK), as the CLI starts a pack process
 *    (policies/stack-profile.ts); `withStackEnvironment` sets exactly those variables while a
 *    pack runs in this process.
 */
import type {
  EnforcementLevel,
  Policies,
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import * as policyModule from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import type { StackEnvironment } from "../../../policies/stack-profile";

// Runtime pieces of @pulumi/policy that its .d.ts files do not declare.
const unknownCheckingProxy = (policyModule as unknown as { unknownCheckingProxy: <T>(v: T) => T }).unknownCheckingProxy;
const { UnknownValueError } = policyModule as unknown as { UnknownValueError: new (...a: unknown[]) => Error };
const deserialize = require("@pulumi/policy/deserialize") as {
  deserializeProperties(struct: unknown, proxySecrets: boolean): Record<string, unknown>;
};
const proxyInternals = require("@pulumi/policy/proxy") as Record<string, string>;
const structpb = require("google-protobuf/google/protobuf/struct_pb") as {
  Struct: { fromJavaScript(v: Record<string, unknown>): unknown };
};

/** The engine's sentinel for a value that is unknown during preview (what `pulumi preview` sends). */
export function unknownValue(
  kind: "string" | "number" | "boolean" | "array" | "object" | "asset" | "archive" = "string",
): string {
  const key = {
    string: "unknownStringValue",
    number: "unknownNumberValue",
    boolean: "unknownBooleanValue",
    array: "unknownArrayValue",
    object: "unknownObjectValue",
    asset: "unknownAssetValue",
    archive: "unknownArchiveValue",
  }[kind];
  return proxyInternals[key];
}

/** A resource as the engine describes it to an analyzer. */
export interface ResourceDescription {
  type: string;
  /** Logical name; defaults to the last URN segment. */
  name?: string;
  /** Defaults to a URN built from type and name in project `media-pipeline`, stack `test`. */
  urn?: string;
  /** Inputs (resource policies) or outputs (stack policies), plain JSON plus unknown sentinels. */
  props?: Record<string, unknown>;
  opts?: Partial<PolicyResourceOptions>;
  provider?: ProviderDescription;
}

export interface ProviderDescription {
  type: string;
  name: string;
  urn: string;
  props: Record<string, unknown>;
}

/** A resource in a stack: what AnalyzeStack receives per resource. */
export interface StackResourceDescription extends ResourceDescription {
  /** URN of the parent. */
  parent?: string;
  /** URNs of the resource's dependencies. */
  dependencies?: string[];
  /** Property name -> URNs the property's value came from. */
  propertyDependencies?: Record<string, string[]>;
}

export type StackTags = ReadonlyMap<string, string>;

/** Config of one policy after the engine reconciled defaults and the config file. */
export interface PolicyConfigEntry {
  enforcementLevel?: EnforcementLevel;
  properties?: Record<string, unknown>;
}
export type PackConfig = Record<string, PolicyConfigEntry>;

export function urnFor(type: string, name: string, project = "media-pipeline", stack = "test"): string {
  return `urn:pulumi:${stack}::${project}::${type}::${name}`;
}

function nameOf(r: ResourceDescription): string {
  if (r.name) return r.name;
  if (r.urn) return r.urn.slice(r.urn.lastIndexOf("::") + 2);
  return r.type.split(":").pop() ?? r.type;
}

/** Drops undefined (the wire format has none) and resolves values Struct cannot carry. */
function toWire(value: unknown): unknown {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toWire(v)));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const w = toWire(v);
    if (w !== undefined) out[k] = w;
  }
  return out;
}

/** Props exactly as a policy sees them: Struct round trip, @pulumi/policy deserialisation, unknown-checking proxy. */
export function policyProps(props: Record<string, unknown> | undefined): Record<string, unknown> {
  const struct = structpb.Struct.fromJavaScript((toWire(props ?? {}) ?? {}) as Record<string, unknown>);
  return unknownCheckingProxy(deserialize.deserializeProperties(struct, false));
}

/** server.js getResourceOptions: the option bag with its defaults. */
export function resourceOptions(opts: Partial<PolicyResourceOptions> = {}): PolicyResourceOptions {
  const result: PolicyResourceOptions = {
    protect: opts.protect ?? false,
    ignoreChanges: opts.ignoreChanges ?? [],
    aliases: opts.aliases ?? [],
    customTimeouts: {
      createSeconds: opts.customTimeouts?.createSeconds ?? 0,
      updateSeconds: opts.customTimeouts?.updateSeconds ?? 0,
      deleteSeconds: opts.customTimeouts?.deleteSeconds ?? 0,
    },
    additionalSecretOutputs: opts.additionalSecretOutputs ?? [],
  };
  if (opts.deleteBeforeReplace !== undefined) result.deleteBeforeReplace = opts.deleteBeforeReplace;
  if (opts.parent) result.parent = opts.parent;
  return result;
}

function providerResource(p: ProviderDescription | undefined): PolicyProviderResource | undefined {
  if (!p) return undefined;
  return { type: p.type, props: policyProps(p.props), urn: p.urn, name: p.name };
}

/** server.js isTypeOf. */
function isTypeOf(type: string, resourceClass: unknown): boolean {
  const pulumiType = getPulumiType(resourceClass);
  if (pulumiType) return type === pulumiType;
  const isInstance = (resourceClass as { isInstance?: (o: unknown) => boolean } | undefined)?.isInstance;
  return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

function getPulumiType(obj: unknown): string | undefined {
  const t = (obj as { __pulumiType?: unknown } | undefined)?.__pulumiType;
  return typeof t === "string" && t.length > 0 ? t : undefined;
}

/** Thrown by `args.notApplicable` (server.js NotApplicableError, which it does not export). */
export class NotApplicableError extends Error {
  constructor(readonly reason?: string) {
    super(reason ?? "Policy does not apply");
  }
}

function throwNotApplicable(reason?: string): never {
  throw new NotApplicableError(reason);
}

function freezeMap(map: Map<string, string>): StackTags {
  return Object.freeze({
    entries: map.entries.bind(map),
    forEach: map.forEach.bind(map),
    get: map.get.bind(map),
    has: map.has.bind(map),
    keys: map.keys.bind(map),
    size: map.size,
    values: map.values.bind(map),
    [Symbol.iterator]: map[Symbol.iterator].bind(map),
  }) as unknown as StackTags;
}

export function stackTagsOf(tags: Record<string, string> | ReadonlyMap<string, string> = {}): StackTags {
  const map = new Map<string, string>(tags instanceof Map ? tags : Object.entries(tags));
  return freezeMap(map);
}

/** server.js makeGetConfigFun: the policy's config properties, without enforcementLevel. */
function getConfigFun(properties: Record<string, unknown> | undefined) {
  return <T extends object>(): T => ({ ...(properties ?? {}) }) as T;
}

/** The `args` of a resource validation (server.js makeAnalyzeRpcFun). */
export function buildResourceArgs(
  r: ResourceDescription,
  context: { config?: Record<string, unknown>; stackTags?: StackTags } = {},
): ResourceValidationArgs {
  const type = r.type;
  const name = nameOf(r);
  const props = policyProps(r.props);
  const args: ResourceValidationArgs = {
    type,
    props,
    urn: r.urn ?? urnFor(type, name),
    name,
    opts: resourceOptions(r.opts),
    stackTags: context.stackTags ?? stackTagsOf(),
    isType: (resourceClass) => isTypeOf(type, resourceClass),
    asType: ((resourceClass: unknown) => (isTypeOf(type, resourceClass) ? props : undefined)) as never,
    getConfig: getConfigFun(context.config),
    notApplicable: throwNotApplicable,
  };
  const provider = providerResource(r.provider);
  if (provider) args.provider = provider;
  return args;
}

/** The `args` of a stack validation (server.js makeAnalyzeStackRpcFun): parents and dependencies resolved to objects. */
export function buildStackArgs(
  resources: readonly StackResourceDescription[],
  context: { config?: Record<string, unknown>; stackTags?: StackTags } = {},
): StackValidationArgs {
  const intermediates = resources.map((r) => {
    const type = r.type;
    const name = nameOf(r);
    const props = policyProps(r.props);
    const resource: PolicyResource = {
      type,
      props,
      urn: r.urn ?? urnFor(type, name),
      name,
      opts: resourceOptions(r.opts),
      dependencies: [],
      propertyDependencies: {},
      isType: (resourceClass) => isTypeOf(type, resourceClass),
      asType: ((resourceClass: unknown) => (isTypeOf(type, resourceClass) ? props : undefined)) as never,
    };
    const provider = providerResource(r.provider);
    if (provider) resource.provider = provider;
    return {
      resource,
      parent: r.parent ?? r.opts?.parent,
      dependencies: r.dependencies ?? [],
      propertyDependencies: r.propertyDependencies ?? {},
    };
  });
  const byUrn = new Map(intermediates.map((i) => [i.resource.urn, i.resource]));
  for (const i of intermediates) {
    if (i.parent) {
      const parent = byUrn.get(i.parent);
      if (parent) i.resource.parent = parent;
    }
    i.resource.dependencies = i.dependencies.map((d) => byUrn.get(d)).filter((d): d is PolicyResource => !!d);
    for (const [k, urns] of Object.entries(i.propertyDependencies)) {
      i.resource.propertyDependencies[k] = urns.map((d) => byUrn.get(d)).filter((d): d is PolicyResource => !!d);
    }
  }
  return {
    resources: intermediates.map((i) => i.resource),
    getConfig: getConfigFun(context.config),
    stackTags: context.stackTags ?? stackTagsOf(),
    notApplicable: throwNotApplicable,
  };
}

/** The variables through which the CLI gives a policy pack its stack (policies/stack-profile.ts). */
const STACK_ENV_KEYS = [
  "PULUMI_CONFIG",
  "PULUMI_NODEJS_PROJECT",
  "PULUMI_NODEJS_STACK",
  "PULUMI_PROJECT",
  "PULUMI_STACK",
] as const;

/**
 * Runs `fn` with the process environment a pack process started by the CLI for `env` has
 * (PULUMI_CONFIG, PULUMI_NODEJS_PROJECT / _STACK), restoring the previous values afterwards.
 * Policies run one at a time (every RPC here is awaited in turn), so nothing else sees them.
 */
export async function withStackEnvironment<T>(env: StackEnvironment | undefined, fn: () => Promise<T>): Promise<T> {
  if (!env) return fn();
  // @pulumi/pulumi copies PULUMI_CONFIG and the project/stack variables into its runtime state
  // the first time that state is read; read it now, so a program or test that runs in this
  // process later never inherits the values set here.
  pulumi.runtime.allConfig();
  const saved = STACK_ENV_KEYS.map((k) => [k, process.env[k]] as const);
  for (const k of STACK_ENV_KEYS) delete process.env[k];
  process.env.PULUMI_CONFIG = JSON.stringify(env.config);
  if (env.project) process.env.PULUMI_NODEJS_PROJECT = env.project;
  if (env.stack) process.env.PULUMI_NODEJS_STACK = env.stack;
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Running a pack the way the analyzer server does
// ---------------------------------------------------------------------------------------------

/** One diagnostic, as the server returns it in AnalyzeResponse. */
export interface Diagnostic {
  policyName: string;
  policyPackName: string;
  policyPackVersion: string;
  description: string;
  /** What the engine prints: the policy description, a newline, then the reported text. */
  message: string;
  /** The text the policy reported (the part after the description). */
  detail: string;
  urn?: string;
  enforcementLevel: EnforcementLevel;
}

export interface AnalyzeResult {
  diagnostics: Diagnostic[];
  notApplicable: { policyName: string; reason?: string }[];
}

export interface PackContext {
  packName: string;
  packVersion: string;
  /** The pack-wide default enforcement level (PolicyPackArgs.enforcementLevel, "advisory" when unset). */
  packEnforcementLevel?: EnforcementLevel;
  /** Reconciled per-policy config (what the engine sends with Configure). */
  config?: PackConfig;
  stackTags?: StackTags;
  /**
   * The stack's project, name and configuration: what the CLI puts in the pack process's
   * environment (PULUMI_CONFIG, PULUMI_NODEJS_PROJECT / _STACK; see policies/stack-profile.ts).
   */
  stackEnvironment?: StackEnvironment;
}

function isResourcePolicy(p: ResourceValidationPolicy | StackValidationPolicy): p is ResourceValidationPolicy {
  const v = (p as ResourceValidationPolicy).validateResource;
  if (typeof v === "function") return true;
  if (Array.isArray(v)) return v.every((f) => typeof f === "function");
  return typeof (p as ResourceValidationPolicy).remediateResource === "function";
}

function isStackPolicy(p: ResourceValidationPolicy | StackValidationPolicy): p is StackValidationPolicy {
  return typeof (p as StackValidationPolicy).validateStack === "function";
}

function levelOf(p: { name: string; enforcementLevel?: EnforcementLevel }, ctx: PackContext): EnforcementLevel {
  return ctx.config?.[p.name]?.enforcementLevel || p.enforcementLevel || ctx.packEnforcementLevel || "advisory";
}

function reportFun(
  p: { name: string; description: string },
  ctx: PackContext,
  level: EnforcementLevel,
  out: Diagnostic[],
  defaultUrn: string | undefined,
): ReportViolation {
  return ((message: unknown, urn?: string) => {
    if (message !== null && typeof message === "object") {
      const info = message as {
        name?: string;
        message?: string;
        description?: string;
        urn?: string;
        enforcementLevel?: EnforcementLevel;
      };
      out.push({
        policyName: info.name || p.name,
        policyPackName: ctx.packName,
        policyPackVersion: ctx.packVersion,
        description: info.description || p.description,
        message: info.message || info.description || p.description,
        detail: info.message || info.description || p.description,
        urn: info.urn ?? defaultUrn,
        enforcementLevel: info.enforcementLevel || level,
      });
      return;
    }
    const text = typeof message === "string" ? message : "";
    out.push({
      policyName: p.name,
      policyPackName: ctx.packName,
      policyPackVersion: ctx.packVersion,
      description: p.description,
      message: text ? `${p.description}\n${text}` : p.description,
      detail: text || p.description,
      urn: urn ?? defaultUrn,
      enforcementLevel: level,
    });
  }) as ReportViolation;
}

function previewDiagnostic(
  p: { name: string; description: string },
  ctx: PackContext,
  e: Error,
  urn: string | undefined,
): Diagnostic {
  const from = `policy '${p.name}' from policy pack '${ctx.packName}@v${ctx.packVersion}'`;
  const message = `can't run ${from} during preview: ${e.message}`;
  return {
    policyName: p.name,
    policyPackName: ctx.packName,
    policyPackVersion: ctx.packVersion,
    description: p.description,
    message,
    detail: message,
    urn,
    enforcementLevel: "advisory",
  };
}

/** Runs every resource policy of `policies` on one resource, like the server's Analyze RPC. */
export async function analyzeResource(
  policies: Policies,
  r: ResourceDescription,
  ctx: PackContext,
): Promise<AnalyzeResult> {
  return withStackEnvironment(ctx.stackEnvironment, () => analyzeResourceNow(policies, r, ctx));
}

async function analyzeResourceNow(
  policies: Policies,
  r: ResourceDescription,
  ctx: PackContext,
): Promise<AnalyzeResult> {
  const diagnostics: Diagnostic[] = [];
  const notApplicable: AnalyzeResult["notApplicable"] = [];
  for (const p of policies) {
    let level = levelOf(p, ctx);
    if (level === "disabled" || !isResourcePolicy(p)) continue;
    if (!p.validateResource) {
      notApplicable.push({ policyName: p.name, reason: "Policy does not implement validateResource" });
      continue;
    }
    if (level === "remediate") level = "mandatory";
    if (!Array.isArray(p.validateResource)) {
      const pulumiType = getPulumiType(p.validateResource);
      if (pulumiType && r.type !== pulumiType) {
        notApplicable.push({ policyName: p.name, reason: `Policy only applies to resources of type '${pulumiType}'` });
        continue;
      }
    }
    const validations = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource];
    for (const validation of validations) {
      // The server builds fresh args (and a fresh props proxy) for every validation.
      const args = buildResourceArgs(r, { config: ctx.config?.[p.name]?.properties, stackTags: ctx.stackTags });
      // For resource policies the server ignores a reported urn; the resource's own urn is used.
      const report = reportFun(p, ctx, level, diagnostics, undefined);
      try {
        await Promise.resolve(validation(args, report));
      } catch (e) {
        if (e instanceof UnknownValueError) diagnostics.push(previewDiagnostic(p, ctx, e as Error, undefined));
        else if (e instanceof NotApplicableError) notApplicable.push({ policyName: p.name, reason: e.reason });
        else throw new Error(`Error validating resource with policy '${p.name}': ${(e as Error)?.stack ?? e}`);
      }
    }
  }
  return { diagnostics, notApplicable };
}

/** Runs every stack policy of `policies` over a stack, like the server's AnalyzeStack RPC. */
export async function analyzeStack(
  policies: Policies,
  resources: readonly StackResourceDescription[],
  ctx: PackContext,
): Promise<AnalyzeResult> {
  return withStackEnvironment(ctx.stackEnvironment, () => analyzeStackNow(policies, resources, ctx));
}

async function analyzeStackNow(
  policies: Policies,
  resources: readonly StackResourceDescription[],
  ctx: PackContext,
): Promise<AnalyzeResult> {
  const diagnostics: Diagnostic[] = [];
  const notApplicable: AnalyzeResult["notApplicable"] = [];
  for (const p of policies) {
    let level = levelOf(p, ctx);
    if (level === "disabled" || !isStackPolicy(p)) continue;
    if (level === "remediate") level = "mandatory";
    const pulumiType = getPulumiType(p.validateStack);
    if (pulumiType && !resources.some((r) => r.type === pulumiType)) {
      notApplicable.push({ policyName: p.name, reason: `Policy only applies to resources of type '${pulumiType}'` });
      continue;
    }
    const report = reportFun(p, ctx, level, diagnostics, undefined);
    try {
      const args = buildStackArgs(resources, { config: ctx.config?.[p.name]?.properties, stackTags: ctx.stackTags });
      await Promise.resolve(p.validateStack(args, report));
    } catch (e) {
      if (e instanceof UnknownValueError) diagnostics.push(previewDiagnostic(p, ctx, e as Error, undefined));
      else if (e instanceof NotApplicableError) notApplicable.push({ policyName: p.name, reason: e.reason });
      else throw new Error(`Error validating stack with policy '${p.name}': ${(e as Error)?.stack ?? e}`);
    }
  }
  return { diagnostics, notApplicable };
}
