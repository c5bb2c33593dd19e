/**
 * lambda-log-retention: every function's log group is declared in the stack with a retention of
 * at most the configured days. A function without a declared log group gets one from Lambda on
 * first invocation, /aws/lambda/<name>, which never expires and which `pulumi destroy` leaves behind.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { FUNCTION_TYPE } from "./ffmpeg-layer";
import {
  asNumber,
  asString,
  configOf,
  label,
  ofTypes,
  path,
  prop,
  referencedBy,
  reportAt,
  schemaWithNote,
  UNKNOWN,
} from "./util";

export const LOG_GROUP_TYPE = "aws:cloudwatch/logGroup:LogGroup";

export interface LogRetentionConfig {
  maxRetentionDays: number;
}

export const LOG_RETENTION_DEFAULTS: LogRetentionConfig = { maxRetentionDays: 30 };

/** The retention values CloudWatch Logs accepts. */
export const CLOUDWATCH_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * The declared log groups a function writes to: the one its loggingConfig names, else
 * /aws/lambda/<name>. UNKNOWN when that cannot be told before the update.
 */
function logGroupOf(fn: PolicyResource, groups: readonly PolicyResource[]): PolicyResource[] | typeof UNKNOWN {
  const loggingConfig = prop(fn.props, "loggingConfig");
  const configured = path(fn.props, "loggingConfig", "logGroup");
  if (typeof configured === "string") return referencedBy(fn, "loggingConfig", groups, ["name", "id"], configured);
  if (configured === UNKNOWN || (loggingConfig !== undefined && loggingConfig !== null)) {
    // Named by a group's output (e.g. logGroup.name of a namePrefix group), not known yet.
    const found = referencedBy(fn, "loggingConfig", groups, ["name", "id"], UNKNOWN);
    if (found.length > 0) return found;
    if (configured === UNKNOWN) return UNKNOWN;
  }
  const name = asString(prop(fn.props, "name"));
  // A group whose name was computed from this function (e.g. interpolate`/aws/lambda/${fn.name}`).
  const derived = groups.filter((g) => referencedBy(g, "name", [fn], ["name", "id", "arn"]).includes(fn));
  if (name === UNKNOWN) return derived.length > 0 ? derived : UNKNOWN;
  if (name === undefined) return derived;
  const expected = `/aws/lambda/${name}`;
  const byName = groups.filter((g) => prop(g.props, "name") === expected);
  return byName.length > 0 ? byName : derived;
}

export const lambdaLogRetention: StackValidationPolicy = {
  name: "lambda-log-retention",
  description:
    "Every Lambda function's log group is declared in the stack with a retention of at most the configured days " +
    "(an undeclared /aws/lambda/<name> group is created by Lambda and never expires).",
  enforcementLevel: "advisory",
  configSchema: schemaWithNote({
    properties: {
      maxRetentionDays: {
        type: "integer",
        enum: [...CLOUDWATCH_RETENTION_DAYS],
        default: LOG_RETENTION_DEFAULTS.maxRetentionDays,
        description: "Longest retention (days) a function's log group may have; one of CloudWatch's allowed values.",
      },
    },
  }),
  remediationSteps:
    'Declare an aws.cloudwatch.LogGroup named "/aws/lambda/<function name>" (or pass one in the function\'s ' +
    "loggingConfig.logGroup) with retentionInDays at most the configured maximum.",
  validateStack: (args, reportViolation) => {
    const { maxRetentionDays } = configOf(args, LOG_RETENTION_DEFAULTS);
    const groups = ofTypes(args.resources, [LOG_GROUP_TYPE]);
    for (const fn of ofTypes(args.resources, [FUNCTION_TYPE])) {
      const found = logGroupOf(fn, groups);
      if (found === UNKNOWN) continue;
      const fnName = asString(prop(fn.props, "name"));
      const groupName = typeof fnName === "string" ? `/aws/lambda/${fnName}` : "/aws/lambda/<function name>";
      const configured = path(fn.props, "loggingConfig", "logGroup");
      if (found.length === 0 && typeof configured === "string") {
        reportAt(
          reportViolation,
          "advisory",
          `function ${label(fn)} logs to ${configured}, which this stack does not declare, so its retention cannot be ` +
            `checked; make sure it keeps logs at most ${maxRetentionDays} days.`,
          fn.urn,
        );
        continue;
      }
      if (found.length === 0) {
        reportViolation(
          `function ${label(fn)} has no log group declared, so Lambda creates ${groupName} with unlimited retention; ` +
            `declare an aws.cloudwatch.LogGroup named ${groupName} (or set loggingConfig.logGroup) with ` +
            `retentionInDays <= ${maxRetentionDays}.`,
          fn.urn,
        );
        continue;
      }
      for (const group of found) {
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
};
