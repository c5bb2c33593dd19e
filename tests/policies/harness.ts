/**
 * Test harness for the policy pack: builds the arguments the analyzer gives a policy and
 * runs policies the way the analyzer server does, through tools/plan/policy-engine/engine-args.ts (the same
 * code the offline runner uses, so a test sees what `npm run plan` reports).
 *
 *   const { messages } = await runResource(requiredTags, bucket("logs", { tags: {} }));
 *   const { messages } = await runStack(s3Secure, [bucket("b"), ...]);
 */
import type { EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, PACK_VERSION } from "../../policies/pack";
import {
  analyzeResource,
  analyzeStack,
  buildResourceArgs,
  buildStackArgs,
  type Diagnostic,
  type ProviderDescription,
  type ResourceDescription,
  type StackResourceDescription,
  stackTagsOf,
  unknownValue,
  urnFor,
} from "../../tools/plan/policy-engine/engine-args";
import { reconcileConfig } from "../../tools/plan/policy-engine/pack-config";

export type { Diagnostic, ResourceDescription, StackResourceDescription };
export { buildResourceArgs, buildStackArgs, stackTagsOf, unknownValue, urnFor };

/** The engine's sentinel for a string unknown during preview. */
export const UNKNOWN_STRING = unknownValue("string");

export interface RunOptions {
  /** The policy's config properties (validated against its configSchema, defaults filled in). */
  config?: Record<string, unknown>;
  enforcementLevel?: EnforcementLevel;
  stackTags?: Record<string, string>;
  /**
   * The stack's own configuration (namespaced keys), as the CLI gives the pack in PULUMI_CONFIG;
   * e.g. { "media-pipeline:lab": "true" }. Default: none (a production stack).
   */
  stackConfig?: Record<string, string>;
  /** Stack name the pack sees (PULUMI_NODEJS_STACK); default "test", as in urnFor. */
  stack?: string;
}

export interface RunResult {
  diagnostics: Diagnostic[];
  /** The text each violation reported (without the policy description the engine prepends). */
  messages: string[];
  /** The enforcement level of each violation, in the same order. */
  levels: EnforcementLevel[];
  notApplicable: { policyName: string; reason?: string }[];
}

function context(policy: ResourceValidationPolicy | StackValidationPolicy, options: RunOptions) {
  const given = {
    [policy.name]: {
      ...(options.enforcementLevel ? { enforcementLevel: options.enforcementLevel } : {}),
      ...(options.config ? { properties: options.config } : {}),
    },
  };
  return {
    packName: PACK_NAME,
    packVersion: PACK_VERSION,
    packEnforcementLevel: PACK_ENFORCEMENT_LEVEL,
    config: reconcileConfig([policy], PACK_ENFORCEMENT_LEVEL, given),
    stackTags: stackTagsOf(options.stackTags ?? {}),
    stackEnvironment: { project: "media-pipeline", stack: options.stack ?? "test", config: options.stackConfig ?? {} },
  };
}

/** The stack config of a lab stack (Pulumi.<stack>.yaml with `lab: true`). */
export const LAB_STACK = { "media-pipeline:lab": "true" };

function result(r: { diagnostics: Diagnostic[]; notApplicable: RunResult["notApplicable"] }): RunResult {
  return {
    diagnostics: r.diagnostics,
    messages: r.diagnostics.map((d) => d.detail),
    levels: r.diagnostics.map((d) => d.enforcementLevel),
    notApplicable: r.notApplicable,
  };
}

/** Runs one resource policy on one resource (its inputs), like the analyzer's Analyze RPC. */
export async function runResource(
  policy: ResourceValidationPolicy,
  resource: ResourceDescription,
  options: RunOptions = {},
): Promise<RunResult> {
  return result(await analyzeResource([policy], resource, context(policy, options)));
}

/** Runs one stack policy over resources (their outputs), like the analyzer's AnalyzeStack RPC. */
export async function runStack(
  policy: StackValidationPolicy,
  resources: StackResourceDescription[],
  options: RunOptions = {},
): Promise<RunResult> {
  return result(await analyzeStack([policy], resources, context(policy, options)));
}

// ---------------------------------------------------------------------------------------------
// Resource builders
// ---------------------------------------------------------------------------------------------

/** A resource of `type` named `name`, with its URN built the way the engine builds it. */
export function res(
  type: string,
  name: string,
  props: Record<string, unknown> = {},
  extra: Partial<StackResourceDescription> = {},
): StackResourceDescription {
  return { type, name, urn: urnFor(type, name), props, ...extra };
}

/** An explicit AWS provider, its defaultTags serialised the way @pulumi/aws serialises them. */
export function awsProvider(defaultTags?: Record<string, string>, name = "aws"): ProviderDescription {
  const type = "pulumi:providers:aws";
  return {
    type,
    name,
    urn: urnFor(type, name),
    props: { region: "us-east-1", ...(defaultTags ? { defaultTags: JSON.stringify({ tags: defaultTags }) } : {}) },
  };
}

export const STANDARD_TAGS = {
  Project: "media-pipeline",
  Environment: "test",
  Owner: "team-media",
  CostCenter: "cc-42",
};

/** `resource` refers to `target` through property `key`: what the engine records when an Output of target flows into it. */
export function dependsThrough(
  resource: StackResourceDescription,
  key: string,
  ...targets: StackResourceDescription[]
): StackResourceDescription {
  const urns = targets.map((t) => t.urn as string);
  return {
    ...resource,
    dependencies: [...new Set([...(resource.dependencies ?? []), ...urns])],
    propertyDependencies: { ...(resource.propertyDependencies ?? {}), [key]: urns },
  };
}

// Assets and archives in their wire form (what the engine sends; the pack turns them into asset objects).
const SIG = "4dabf18193072939515e22adb298388d";

export function fileArchive(path: string): Record<string, unknown> {
  return { [SIG]: "0def7320c3a5731c473e5ecbe6d01bc7", path };
}

export function fileAsset(path: string): Record<string, unknown> {
  return { [SIG]: "c44067f5952c0a294b673a41bacd8c17", path };
}

export function assetArchive(assets: Record<string, Record<string, unknown>>): Record<string, unknown> {
  return { [SIG]: "0def7320c3a5731c473e5ecbe6d01bc7", assets };
}
