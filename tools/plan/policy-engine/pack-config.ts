/**
 * Policy pack config the way the Pulumi CLI handles `--policy-pack-config FILE`
 * (pkg/resource/analyzer/config.go): parse the file (a policy name maps to an enforcement level
 * string or to an object of `enforcementLevel` plus properties; `all` sets every policy's level;
 * `environments` is reserved), start from each policy's defaults (its enforcement level and the
 * `default`s of its configSchema), apply the file, then validate every policy's properties
 * against its configSchema. The offline runner uses this to get the exact config the engine
 * would send the pack; the real CLI does this itself, so it is not part of the pack.
 *
 * The config files stay with the pack, in policies/config/<stack>.json: they are what CI passes
 * to `pulumi up --policy-pack policies --policy-pack-config policies/config/<stack>.json`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { EnforcementLevel, Policies } from "@pulumi/policy";
import type { PackConfig } from "./engine-args";

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

/** policies/config: one file per stack, `<stack>.json`. */
export const CONFIG_DIR = resolve(__dirname, "..", "..", "..", "policies", "config");

export function configFileFor(stack: string): string {
  return join(CONFIG_DIR, `${stack}.json`);
}

export type PolicyConfigFile = Record<string, unknown>;

export class PolicyConfigError extends Error {}

/** Parses a config file's JSON into per-policy entries (config.go parsePolicyPackConfig). */
export function parseConfigFile(json: PolicyConfigFile): PackConfig {
  const out: PackConfig = {};
  for (const [name, value] of Object.entries(json)) {
    if (name === "environments") continue;
    if (typeof value === "string") {
      if (!LEVELS.includes(value as EnforcementLevel)) {
        throw new PolicyConfigError(
          `parsing enforcement level for "${name}": "${value}" is not a valid enforcement level`,
        );
      }
      out[name] = { enforcementLevel: value as EnforcementLevel };
    } else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const { enforcementLevel, ...properties } = value as Record<string, unknown>;
      if (enforcementLevel !== undefined && !LEVELS.includes(enforcementLevel as EnforcementLevel)) {
        throw new PolicyConfigError(
          `parsing enforcement level for "${name}": ${JSON.stringify(enforcementLevel)} is not a valid enforcement level`,
        );
      }
      const entry: PackConfig[string] = {};
      if (enforcementLevel) entry.enforcementLevel = enforcementLevel as EnforcementLevel;
      if (Object.keys(properties).length > 0) entry.properties = properties;
      if (entry.enforcementLevel || entry.properties) out[name] = entry;
    } else {
      throw new PolicyConfigError(
        `parsing "${name}": ${JSON.stringify(value)} is not a valid value; must be a string or object`,
      );
    }
  }
  return out;
}

export function readConfigFile(file: string): PackConfig {
  const text = readFileSync(file, "utf8");
  if (text.trim() === "") return {};
  return parseConfigFile(JSON.parse(text) as PolicyConfigFile);
}

/** The config file of a stack, when policies/config/<stack>.json exists. */
export function stackConfigFile(stack: string): string | undefined {
  const file = configFileFor(stack);
  return existsSync(file) ? file : undefined;
}

/**
 * Defaults, then `given`, then validation (config.go ReconcilePolicyPackConfig). Throws
 * PolicyConfigError listing every validation error, as the CLI refuses to run.
 */
export function reconcileConfig(
  policies: Policies,
  packEnforcementLevel: EnforcementLevel,
  given: PackConfig = {},
): PackConfig {
  const result: PackConfig = {};
  for (const p of policies) {
    const properties: Record<string, unknown> = {};
    for (const [k, schema] of Object.entries(p.configSchema?.properties ?? {})) {
      if ("default" in schema) properties[k] = structuredClone(schema.default);
    }
    result[p.name] = {
      enforcementLevel: p.enforcementLevel || packEnforcementLevel,
      ...(Object.keys(properties).length > 0 ? { properties } : {}),
    };
  }
  const all = given.all?.enforcementLevel;
  if (all) for (const k of Object.keys(result)) result[k] = { ...result[k], enforcementLevel: all };
  for (const [name, entry] of Object.entries(given)) {
    const current = result[name] ?? {};
    result[name] = {
      enforcementLevel: entry.enforcementLevel ?? current.enforcementLevel,
      ...(entry.properties || current.properties
        ? { properties: { ...(current.properties ?? {}), ...(entry.properties ?? {}) } }
        : {}),
    };
  }
  const errors: string[] = [];
  for (const p of policies) {
    if (!p.configSchema) continue;
    const schema = { type: "object", properties: p.configSchema.properties, required: p.configSchema.required };
    for (const e of validate(schema, result[p.name]?.properties ?? {}, "")) errors.push(`${p.name}: ${e}`);
  }
  if (errors.length > 0) {
    throw new PolicyConfigError(`policy pack configuration is invalid:\n  ${errors.join("\n  ")}`);
  }
  return result;
}

type Schema = Record<string, unknown>;

/** The JSON-schema keywords the pack's configSchemas use. */
export function validate(schema: Schema, value: unknown, at: string): string[] {
  const where = at === "" ? "" : `${at}: `;
  const errors: string[] = [];
  const type = schema.type as string | undefined;
  if (type && !hasType(value, type)) {
    return [`${where}Invalid type. Expected: ${type}, given: ${typeName(value)}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errors.push(`${where}must be one of the following: ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  }
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) {
      errors.push(`${where}Must be greater than or equal to ${schema.minimum}`);
    }
    if (typeof schema.maximum === "number" && value > schema.maximum) {
      errors.push(`${where}Must be less than or equal to ${schema.maximum}`);
    }
  }
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength) {
      errors.push(`${where}String length must be greater than or equal to ${schema.minLength}`);
    }
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern).test(value)) {
      errors.push(`${where}Does not match pattern '${schema.pattern}'`);
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === "number" && value.length < schema.minItems) {
      errors.push(`${where}Array must have at least ${schema.minItems} items`);
    }
    if (schema.uniqueItems === true && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) {
      errors.push(`${where}array items must be unique`);
    }
    if (schema.items && typeof schema.items === "object") {
      value.forEach((v, i) => {
        errors.push(...validate(schema.items as Schema, v, at === "" ? String(i) : `${at}.${i}`));
      });
    }
  }
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of (schema.required as string[] | undefined) ?? []) {
      if (!(key in obj)) errors.push(`${where}${key} is required`);
    }
    for (const [k, v] of Object.entries(obj)) {
      const child = at === "" ? k : `${at}.${k}`;
      if (props[k]) errors.push(...validate(props[k], v, child));
      else if (schema.additionalProperties === false) errors.push(`${child}: Additional property ${k} is not allowed`);
    }
  }
  return errors;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    case "array":
      return Array.isArray(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    case "null":
      return value === null;
    default:
      return true;
  }
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}
