/**
 * Named exceptions: a stack's policy config file can allow-list one resource for one policy with a
 * reason, instead of disabling the policy for the whole stack:
 *
 *   "s3-secure": { "exceptions": [{ "resource": "partner-drop", "reason": "SEC-123: partner pushes over SFTP gateway" }] }
 *
 * `resource` is the resource's logical name or its full URN. The violation is then not reported;
 * an entry that covers no violation (the resource is gone, renamed, or fixed) is itself reported,
 * so a stale entry cannot silently cover a later resource that takes the same name.
 *
 * `withExceptions(policy)` wraps a policy: it adds `exceptions` to its configSchema and filters its
 * reports. For a resource policy it also adds a validateStack, which replays the policy over the
 * stack's resources to find unused entries (@pulumi/policy runs validateResource and validateStack
 * of one policy independently: server.js isResourcePolicy / isStackPolicy).
 */
import type {
  Policy,
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { isUnknownValueError } from "./util";

export interface PolicyException {
  /** Logical name or URN of the resource. */
  resource: string;
  /** Why the exception is justified (a ticket, an owner, a date). */
  reason: string;
}

export const EXCEPTIONS_SCHEMA: PolicyConfigJSONSchema = {
  type: "array",
  items: {
    type: "object",
    properties: {
      resource: { type: "string", minLength: 1, description: "Logical name or URN of the resource." },
      reason: {
        type: "string",
        minLength: 10,
        description: "Why this resource may break the policy (ticket, owner, review date).",
      },
    },
    required: ["resource", "reason"],
    additionalProperties: false,
  },
  default: [],
  description:
    "Resources allowed to break this policy, each with a reason. An entry that covers no violation is reported.",
};

export function exceptionsOf(config: unknown): PolicyException[] {
  const list = (config as { exceptions?: unknown } | undefined)?.exceptions;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (e): e is PolicyException =>
      !!e && typeof e === "object" && typeof e.resource === "string" && typeof e.reason === "string",
  );
}

function nameOfUrn(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** Index of the first exception covering the resource `urn` (by URN or logical name); -1 when none. */
export function exceptionFor(exceptions: readonly PolicyException[], urn: string | undefined): number {
  if (!urn) return -1;
  const name = nameOfUrn(urn);
  return exceptions.findIndex((e) => e.resource === urn || e.resource === name);
}

type ReportInfo = { message?: string; urn?: string };

/** The URN a report is about: the object form's urn, the string form's second argument, else `fallback`. */
function reportedUrn(message: unknown, urn: unknown, fallback?: string): string | undefined {
  if (message !== null && typeof message === "object") return (message as ReportInfo).urn ?? fallback;
  return typeof urn === "string" ? urn : fallback;
}

/** A reportViolation that drops reports covered by an exception and records which were used. */
function filtering(
  report: ReportViolation,
  exceptions: readonly PolicyException[],
  used: Set<number>,
  fallbackUrn?: string,
): ReportViolation {
  return ((message: unknown, urn?: string) => {
    const i = exceptionFor(exceptions, reportedUrn(message, urn, fallbackUrn));
    if (i >= 0) {
      used.add(i);
      return;
    }
    (report as unknown as (m: unknown, u?: string) => void)(message, urn);
  }) as ReportViolation;
}

function reportUnused(
  policyName: string,
  exceptions: readonly PolicyException[],
  used: ReadonlySet<number>,
  resources: readonly PolicyResource[],
  report: ReportViolation,
): void {
  exceptions.forEach((e, i) => {
    if (used.has(i)) return;
    const target = resources.find((r) => r.urn === e.resource || r.name === e.resource);
    const why = target
      ? `${target.name} (${target.type}) does not violate ${policyName}`
      : "no resource of this stack has that name or URN";
    report(
      `unused exception for ${JSON.stringify(e.resource)} (reason: ${e.reason}): ${why}; remove it from the ` +
        `${policyName} exceptions in the stack's policy config, so it cannot silently cover a later resource.`,
      target?.urn,
    );
  });
}

/** The args a resource policy would get for a resource of the stack (to replay it in validateStack). */
function resourceArgsOf(r: PolicyResource, stack: StackValidationArgs): ResourceValidationArgs {
  return {
    type: r.type,
    props: r.props,
    urn: r.urn,
    name: r.name,
    opts: r.opts,
    provider: r.provider,
    stackTags: stack.stackTags,
    isType: r.isType,
    asType: r.asType,
    getConfig: stack.getConfig,
    notApplicable: (reason?: string) => {
      throw new NotApplicable(reason);
    },
  } as ResourceValidationArgs;
}

class NotApplicable extends Error {}

function wrapResource(policy: ResourceValidationPolicy): ResourceValidationPolicy & StackValidationPolicy {
  const validate = policy.validateResource;
  if (typeof validate !== "function") throw new Error(`${policy.name}: withExceptions needs one validateResource`);
  return {
    ...policy,
    validateResource: async (args, report) => {
      const exceptions = exceptionsOf(args.getConfig());
      if (exceptions.length === 0) return validate(args, report);
      return validate(args, filtering(report, exceptions, new Set(), args.urn));
    },
    validateStack: async (args, report) => {
      const exceptions = exceptionsOf(args.getConfig());
      if (exceptions.length === 0) return;
      const used = new Set<number>();
      for (const r of args.resources) {
        const i = exceptionFor(exceptions, r.urn);
        if (i < 0 || used.has(i)) continue;
        let reported = false;
        try {
          await validate(resourceArgsOf(r, args), () => {
            reported = true;
          });
        } catch (e) {
          // Unknown during preview: cannot tell, so the entry counts as used.
          if (isUnknownValueError(e)) reported = true;
          else if (!(e instanceof NotApplicable)) throw e;
        }
        if (reported) used.add(i);
      }
      reportUnused(policy.name, exceptions, used, args.resources, report);
    },
  };
}

function wrapStack(policy: StackValidationPolicy): StackValidationPolicy {
  const validate = policy.validateStack;
  return {
    ...policy,
    validateStack: async (args, report) => {
      const exceptions = exceptionsOf(args.getConfig());
      if (exceptions.length === 0) return validate(args, report);
      const used = new Set<number>();
      await validate(args, filtering(report, exceptions, used));
      reportUnused(policy.name, exceptions, used, args.resources, report);
    },
  };
}

/** The policy with named exceptions (see the module comment). */
export function withExceptions<P extends ResourceValidationPolicy | StackValidationPolicy>(policy: P): P {
  const configSchema = {
    ...(policy.configSchema ?? {}),
    properties: { ...(policy.configSchema?.properties ?? {}), exceptions: structuredClone(EXCEPTIONS_SCHEMA) },
  } as NonNullable<Policy["configSchema"]>;
  const withSchema = { ...policy, configSchema };
  const wrapped =
    "validateResource" in withSchema && withSchema.validateResource
      ? wrapResource(withSchema as ResourceValidationPolicy)
      : wrapStack(withSchema as StackValidationPolicy);
  return wrapped as unknown as P;
}
