/**
 * Helpers every policy module shares: reading values that may be unknown during a
 * preview, reading a policy's config with its defaults, and joining stack resources by the
 * reference one holds to another.
 *
 * Policy props come wrapped in @pulumi/policy's `unknownCheckingProxy`: touching a value
 * that is unknown during `pulumi preview` throws `UnknownValueError`, which the analyzer
 * turns into an advisory "can't run policy during preview" for the WHOLE policy. The
 * policies here read through `peek` instead, so one unknown value only skips the check
 * that needs it.
 */
import type { EnforcementLevel, PolicyConfigSchema, PolicyResource, ReportViolation } from "@pulumi/policy";
import * as policy from "@pulumi/policy";

/** `UnknownValueError` is exported at runtime, but its type is not in @pulumi/policy's .d.ts. */
const UnknownValueError = (policy as unknown as { UnknownValueError: new (...args: unknown[]) => Error })
  .UnknownValueError;

/** Marks a value that cannot be known until the update runs. */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");
export type Unknown = typeof UNKNOWN;
export type Maybe<T> = T | Unknown;

export function isUnknownValueError(e: unknown): boolean {
  return e instanceof UnknownValueError;
}

/** Reads a value, returning UNKNOWN instead of throwing when it is unknown during preview. */
export function peek<T>(read: () => T): Maybe<T> {
  try {
    return read();
  } catch (e) {
    if (isUnknownValueError(e)) return UNKNOWN;
    throw e;
  }
}

/** Reads `obj[key]`; UNKNOWN when unknown, undefined when absent. */
export function prop(obj: unknown, key: string): Maybe<unknown> {
  if (obj === UNKNOWN) return UNKNOWN;
  if (obj === null || typeof obj !== "object") return undefined;
  return peek(() => (obj as Record<string, unknown>)[key]);
}

/** Follows a path of keys; UNKNOWN as soon as one step is unknown. */
export function path(obj: unknown, ...keys: string[]): Maybe<unknown> {
  let current: Maybe<unknown> = obj;
  for (const key of keys) {
    current = prop(current, key);
    if (current === UNKNOWN || current === undefined || current === null) return current;
  }
  return current;
}

/** The elements of an array value (each possibly UNKNOWN); UNKNOWN when the array itself is. */
export function elements(value: Maybe<unknown>): Maybe<Maybe<unknown>[]> {
  if (value === UNKNOWN) return UNKNOWN;
  if (!Array.isArray(value)) return [];
  const length = peek(() => value.length);
  if (length === UNKNOWN) return UNKNOWN;
  const out: Maybe<unknown>[] = [];
  for (let i = 0; i < length; i++) out.push(peek(() => value[i]));
  return out;
}

/** The entries of an object value (values possibly UNKNOWN); UNKNOWN when the object itself is. */
export function entries(value: Maybe<unknown>): Maybe<[string, Maybe<unknown>][]> {
  if (value === UNKNOWN) return UNKNOWN;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [];
  return Object.keys(value).map((k) => [k, peek(() => (value as Record<string, unknown>)[k])]);
}

export function asString(value: Maybe<unknown>): Maybe<string | undefined> {
  if (value === UNKNOWN) return UNKNOWN;
  return typeof value === "string" ? value : undefined;
}

export function asNumber(value: Maybe<unknown>): Maybe<number | undefined> {
  if (value === UNKNOWN) return UNKNOWN;
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

/** The string elements of an array; unknown elements are kept as UNKNOWN. */
export function strings(value: Maybe<unknown>): Maybe<Maybe<string>[]> {
  const items = elements(value);
  if (items === UNKNOWN) return UNKNOWN;
  const out: Maybe<string>[] = [];
  for (const item of items) {
    if (item === UNKNOWN) out.push(UNKNOWN);
    else if (typeof item === "string") out.push(item);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

/**
 * A policy's config with its defaults applied. The engine already fills in schema defaults
 * before it sends config to the pack, but an older CLI (or a harness) may send none, so the
 * policy applies the same defaults itself.
 */
export function configOf<T extends object>(args: { getConfig<C extends object>(): C }, defaults: T): T {
  const given = (args.getConfig<Partial<T>>() ?? {}) as Partial<T>;
  const out = { ...defaults } as T;
  for (const [k, v] of Object.entries(given)) {
    if (v !== undefined && v !== null) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** The schema property every policy accepts: free text saying why a stack's config differs from the defaults. */
export const NOTE_PROPERTY = {
  type: "string",
  description: "Documentation only, ignored by the policy: why this stack's setting differs from the default.",
} as const;

/** A configSchema whose `default`s are the given defaults (so `pulumi preview` shows and validates them). */
export function schemaWithNote(schema: PolicyConfigSchema): PolicyConfigSchema {
  return { ...schema, properties: { ...schema.properties, note: { ...NOTE_PROPERTY } } };
}

// ---------------------------------------------------------------------------------------------
// Reporting
// ---------------------------------------------------------------------------------------------

/**
 * Reports a violation at a level other than the policy's own. @pulumi/policy's reportViolation
 * accepts an object with `message`, `urn` and `enforcementLevel` (server.js makeReportViolationFun),
 * though its type declares only the string form.
 */
export function reportAt(report: ReportViolation, level: EnforcementLevel, message: string, urn?: string): void {
  (report as unknown as (info: { message: string; enforcementLevel: EnforcementLevel; urn?: string }) => void)({
    message,
    enforcementLevel: level,
    ...(urn ? { urn } : {}),
  });
}

/** Human-friendly label of a resource in a message: its logical name and type. */
export function label(r: { name: string; type: string }): string {
  return `${r.name} (${r.type})`;
}

// ---------------------------------------------------------------------------------------------
// Stack joins
// ---------------------------------------------------------------------------------------------

export function ofTypes(resources: readonly PolicyResource[], types: readonly string[]): PolicyResource[] {
  return resources.filter((r) => types.includes(r.type));
}

/**
 * The resources among `targets` that `from.props[key]` refers to. A known value refers to the
 * targets one of whose `matchOn` properties equals it (a bucket's id or name, a layer's ARN).
 * A value unknown during preview (an id or ARN of a resource not created yet) refers to the
 * targets the engine lists as the property's dependencies.
 *
 * `value` is the referring value itself (one element of an array property, say) when it is
 * not `from.props[key]` as a whole.
 */
export function referencedBy(
  from: PolicyResource,
  key: string,
  targets: readonly PolicyResource[],
  matchOn: readonly string[],
  value: Maybe<unknown> = prop(from.props, key),
): PolicyResource[] {
  // A known value is compared with the targets' values. (A value computed from a target's
  // attribute is known exactly when that attribute is, so there is nothing else to try.)
  if (value !== UNKNOWN && value !== undefined && value !== null) {
    return typeof value === "string" && value !== ""
      ? targets.filter((t) => matchOn.some((m) => prop(t.props, m) === value))
      : [];
  }
  const deps = from.propertyDependencies?.[key] ?? [];
  const viaDeps = targets.filter((t) => deps.includes(t));
  if (viaDeps.length > 0) return viaDeps;
  // Plans without property dependencies (the offline runner's) leave unknowns undefined:
  // fall back to plain dependencies when exactly one candidate fits.
  const plain = targets.filter((t) => from.dependencies.includes(t));
  return plain.length === 1 ? plain : [];
}

/**
 * The child resources whose `key` refers to `target` (e.g. the lifecycle configurations of a
 * bucket). `peers` are all the resources such a key could refer to (every bucket), so a
 * reference is resolved among them before it is attributed to `target`.
 */
export function attachedTo(
  target: PolicyResource,
  candidates: readonly PolicyResource[],
  key: string,
  matchOn: readonly string[],
  peers: readonly PolicyResource[] = [target],
): PolicyResource[] {
  return candidates.filter((c) => referencedBy(c, key, peers, matchOn).includes(target));
}
