/**
 * What the pack knows about the stack it judges, and the lab / production profile that follows
 * from it.
 *
 * How the pack learns the stack's own configuration: the Pulumi CLI starts a policy pack with the
 * stack's configuration in the environment, exactly as it starts a program: `PULUMI_CONFIG` (a JSON
 * object of namespaced keys to string values, e.g. {"media-pipeline:lab":"true"}), with the project
 * and stack in `PULUMI_NODEJS_PROJECT` / `PULUMI_NODEJS_STACK` (and `PULUMI_PROJECT` /
 * `PULUMI_STACK`). The older analyzer plugin host sets them in constructEnv
 * (pkg/resource/plugin/analyzer_plugin.go); the newer language-host path waits for the engine's
 * ConfigureStack request and copies its `config` map into PULUMI_CONFIG
 * (sdk/nodejs/cmd/pulumi-language-nodejs RunPlugin). @pulumi/policy 1.21 itself reads only the
 * stack tags from ConfigureStack, so the environment is the one channel a Node.js pack can read.
 *
 * So a stack is a lab stack when its own `<project>:lab` is "true", whatever its name: a review
 * stack named after a pull request is judged by the stack file it was created from. A stack whose
 * configuration does not say (another project, or no config at all) is judged as production, the
 * stricter profile. A policy config file that sets `lab` explicitly still wins.
 *
 * The offline runner and the tests run the pack in-process and set the same variables
 * (tools/plan/policy-engine/engine-args.ts withStackEnvironment).
 */

import type { ConfigKey } from "../lib/config-schema";

/** The stack's `lab` key (lib/config-schema.ts defines it; a type-only import: the pack loads no schema). */
const LAB_KEY = "lab" satisfies ConfigKey;

export interface StackEnvironment {
  project?: string;
  stack?: string;
  /** The stack's configuration: namespaced key -> string value. */
  config: Record<string, string>;
}

function parseConfig(text: string | undefined): Record<string, string> {
  if (!text) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) out[k] = typeof v === "string" ? v : JSON.stringify(v);
    return out;
  } catch {
    return {};
  }
}

/** The stack's environment: what the CLI put in process.env. */
export function stackEnvironment(): StackEnvironment {
  const env = process.env;
  return {
    project: env.PULUMI_NODEJS_PROJECT || env.PULUMI_PROJECT || undefined,
    stack: env.PULUMI_NODEJS_STACK || env.PULUMI_STACK || undefined,
    config: parseConfig(env.PULUMI_CONFIG),
  };
}

/** `urn:pulumi:<stack>::<project>::<type>::<name>` -> stack and project. */
export function urnParts(urn: string | undefined): { stack?: string; project?: string } {
  if (!urn?.startsWith("urn:pulumi:")) return {};
  const parts = urn.slice("urn:pulumi:".length).split("::");
  return { stack: parts[0] || undefined, project: parts[1] || undefined };
}

export type Profile = "lab" | "production";

export interface ProfileChoice {
  profile: Profile;
  /** Where the choice came from, for messages. */
  source: string;
}

/**
 * Lab or production: the policy config's explicit `lab` when set, else the stack's own
 * `<project>:lab` config, else production.
 */
export function profileOf(explicitLab: boolean | undefined, urn?: string): ProfileChoice {
  if (typeof explicitLab === "boolean") {
    return { profile: explicitLab ? "lab" : "production", source: "the policy config's `lab`" };
  }
  const env = stackEnvironment();
  const project = env.project ?? urnParts(urn).project;
  const value = project ? env.config[`${project}:${LAB_KEY}`] : undefined;
  if (value !== undefined) {
    return {
      profile: value.trim().toLowerCase() === "true" ? "lab" : "production",
      source: `the stack's config ${project}:lab=${value}`,
    };
  }
  return { profile: "production", source: "no lab setting in the stack's config (production by default)" };
}

/**
 * Limits that differ between the profiles, used when the stack's policy config file does not set
 * them. They are what policies/config/dev.json and prod.json used to spell out, so a stack with
 * no config file of its own (a review stack) is judged like dev or prod.
 */
export const PROFILE_LIMITS: Record<Profile, { budgetMaxLimit: number; logMaxRetentionDays: number }> = {
  lab: { budgetMaxLimit: 25, logMaxRetentionDays: 14 },
  production: { budgetMaxLimit: 300, logMaxRetentionDays: 365 },
};
