/**
 * lambda-log-retention: every function's log group is declared in the stack with a retention of
 * at most the configured days. A function without a declared log group gets one from Lambda on
 * first invocation, /aws/lambda/<name>, which never expires and which `pulumi destroy` leaves behind.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { AWS_TYPES } from "../lib/aws-types";
import { withExceptions } from "./exceptions";
import { PROFILE_LIMITS, profileOf } from "./stack-profile";
import { asNumber, asString, configOf, label, ofTypes, path, prop, schemaWithNote, UNKNOWN } from "./util";

const LOG_GROUP_TYPE = AWS_TYPES.logGroup;
const FUNCTION_TYPE = AWS_TYPES.function;

export interface LogRetentionConfig {
  /** Unset: the stack profile's (lab 14, production 365). */
  maxRetentionDays?: number;
}

export const LOG_RETENTION_DEFAULTS: LogRetentionConfig = {};

/** The retention values CloudWatch Logs accepts. */
export const CLOUDWATCH_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Where a function's logs go, as far as the stack tells. */
type LogTarget =
  /** Declared groups of the stack the function writes to. */
  | { kind: "declared"; groups: PolicyResource[] }
  /** A group name the stack does not declare (Lambda or someone else creates it). */
  | { kind: "undeclared"; name: string }
  /** Named from other resources' outputs that are not log groups: cannot be identified before the update. */
  | { kind: "unidentified"; from: string[] }
  | { kind: "unknown" };

function groupsNamed(groups: readonly PolicyResource[], name: string): PolicyResource[] {
  return groups.filter((g) => prop(g.props, "name") === name || prop(g.props, "id") === name);
}

/**
 * The log group a function writes to:
 *  - loggingConfig.logGroup when it is a known string: the program's custom group, or, after an
 *    update, what AWS reports (the default /aws/lambda/<name> even when the program set none);
 *  - when it is unknown (a preview), the log groups its value came from (the engine's property
 *    dependencies of loggingConfig). With no property dependency at all, the value is the
 *    provider's own computed default, i.e. /aws/lambda/<name>;
 *  - otherwise /aws/lambda/<name>.
 * A log group that is merely in the function's plain dependsOn is never taken for its group.
 */
function logTargetOf(fn: PolicyResource, groups: readonly PolicyResource[]): LogTarget {
  const configured = path(fn.props, "loggingConfig", "logGroup");
  if (typeof configured === "string" && configured !== "") {
    const found = groupsNamed(groups, configured);
    return found.length > 0 ? { kind: "declared", groups: found } : { kind: "undeclared", name: configured };
  }
  if (configured === UNKNOWN) {
    const deps = fn.propertyDependencies?.loggingConfig ?? [];
    const fromGroups = deps.filter((d) => groups.includes(d));
    if (fromGroups.length > 0) return { kind: "declared", groups: fromGroups };
    if (deps.length > 0) return { kind: "unidentified", from: deps.map((d) => label(d)) };
  }
  const name = asString(prop(fn.props, "name"));
  // A group whose name was computed from this function (e.g. interpolate`/aws/lambda/${fn.name}`).
  const derived = groups.filter((g) => (g.propertyDependencies?.name ?? []).includes(fn));
  if (derived.length > 0) return { kind: "declared", groups: derived };
  if (name === UNKNOWN) return { kind: "unknown" };
  if (name === undefined) return { kind: "unknown" };
  const expected = `/aws/lambda/${name}`;
  const byName = groupsNamed(groups, expected);
  return byName.length > 0 ? { kind: "declared", groups: byName } : { kind: "undeclared", name: expected };
}

export const lambdaLogRetention: StackValidationPolicy = withExceptions({
  name: "lambda-log-retention",
  description:
    "Every Lambda function's log group is declared in the stack with a retention of at most the configured days " +
    "(an undeclared /aws/lambda/<name> group is created by Lambda and never expires).",
  enforcementLevel: "mandatory",
  configSchema: schemaWithNote({
    properties: {
      maxRetentionDays: {
        type: "integer",
        enum: [...CLOUDWATCH_RETENTION_DAYS],
        description:
          "Longest retention (days) a function's log group may have; one of CloudWatch's allowed values. Unset: 14 " +
          "in a lab stack, 365 in production (the stack's own `lab` config decides).",
      },
    },
  }),
  remediationSteps:
    'Declare an aws.cloudwatch.LogGroup named "/aws/lambda/<function name>" (or pass one in the function\'s ' +
    "loggingConfig.logGroup) with retentionInDays at most the configured maximum.",
  validateStack: (args, reportViolation) => {
    const given = configOf(args, LOG_RETENTION_DEFAULTS);
    const profile = profileOf(undefined, args.resources[0]?.urn).profile;
    const maxRetentionDays = given.maxRetentionDays ?? PROFILE_LIMITS[profile].logMaxRetentionDays;
    const groups = ofTypes(args.resources, [LOG_GROUP_TYPE]);
    for (const fn of ofTypes(args.resources, [FUNCTION_TYPE])) {
      const target = logTargetOf(fn, groups);
      if (target.kind === "unknown") continue;
      if (target.kind === "unidentified") {
        reportViolation(
          `function ${label(fn)} logs to a group named from ${target.from.join(", ")}, none of which is a log group ` +
            "of this stack, so its retention cannot be checked; pass a declared aws.cloudwatch.LogGroup's name in " +
            `loggingConfig.logGroup, with retentionInDays <= ${maxRetentionDays}.`,
          fn.urn,
        );
        continue;
      }
      if (target.kind === "undeclared") {
        // Lambda creates the default group on first invocation, and a custom group that does not
        // exist under the name given (Lambda developer guide, "Configuring CloudWatch log groups");
        // a group created that way never expires.
        reportViolation(
          `function ${label(fn)} logs to ${target.name}, which this stack does not declare, so Lambda creates it ` +
            `with unlimited retention (and \`pulumi destroy\` leaves it); declare an aws.cloudwatch.LogGroup named ` +
            `${target.name} (or pass a declared group in loggingConfig.logGroup) with retentionInDays <= ${maxRetentionDays}.`,
          fn.urn,
        );
        continue;
      }
      for (const group of target.groups) {
        const days = asNumber(prop(group.props, "retentionInDays"));
        if (days === UNKNOWN) continue;
        if (days === undefined || days === 0) {
          reportViolation(
            `log group ${label(group)} of function ${fn.name} never expires; set retentionInDays <= ${maxRetentionDays}.`,
            group.urn,
          );
        } else if (days > maxRetentionDays) {
          reportViolation(
            `log group ${label(group)} of function ${fn.name} keeps logs ${days} days; the limit is ${maxRetentionDays}.`,
            group.urn,
          );
        }
      }
    }
  },
});
