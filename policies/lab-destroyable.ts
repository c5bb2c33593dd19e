/**
 * lab-destroyable: a lab stack can be torn down by `pulumi destroy` (buckets force-destroy, no
 * deletion protection, nothing protected or retained); a production stack's tables keep deletion
 * protection and point-in-time recovery.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { BUCKET_TYPES } from "./s3";
import { configOf, path, prop, reportAt, schemaWithNote, UNKNOWN } from "./util";

export const TABLE_TYPE = "aws:dynamodb/table:Table";
export const USER_POOL_TYPE = "aws:cognito/userPool:UserPool";

export interface LabDestroyableConfig {
  /** True for a lab (throw-away) stack, false for production. */
  lab: boolean;
}

export const LAB_DESTROYABLE_DEFAULTS: LabDestroyableConfig = { lab: false };

export const labDestroyable: ResourceValidationPolicy = {
  name: "lab-destroyable",
  description:
    "In lab stacks, `pulumi destroy` removes everything: buckets force-destroy, tables, log groups and user pools " +
    "have no deletion protection, nothing is protected (resources with skipDestroy are reported as advisories). In production stacks, DynamoDB tables have deletion " +
    "protection and point-in-time recovery.",
  enforcementLevel: "advisory",
  configSchema: schemaWithNote({
    properties: {
      lab: {
        type: "boolean",
        default: LAB_DESTROYABLE_DEFAULTS.lab,
        description: "True for a lab (throw-away) stack, false for a production stack.",
      },
    },
  }),
  remediationSteps:
    "Lab: set forceDestroy: true on buckets, deletionProtectionEnabled: false on tables, drop `protect`/skipDestroy. " +
    "Production: set deletionProtectionEnabled: true and pointInTimeRecovery: { enabled: true } on tables.",
  validateResource: (args, reportViolation) => {
    if (!args.type.startsWith("aws:")) args.notApplicable("Policy only applies to AWS resources");
    const { lab } = configOf(args, LAB_DESTROYABLE_DEFAULTS);
    const what = `${args.name} (${args.type})`;

    if (lab) {
      if (args.opts.protect) {
        reportViolation(
          `${what} is protected (protect: true), so \`pulumi destroy\` fails in this lab stack; remove protect.`,
        );
      }
      if (prop(args.props, "skipDestroy") === true) {
        // Advisory only: skipDestroy is sometimes deliberate (the FfmpegLayer keeps old layer
        // versions that functions may still reference, pulumi/pulumi-aws#1448); it costs storage, not a failed destroy.
        reportAt(
          reportViolation,
          "advisory",
          `${what} sets skipDestroy, so \`pulumi destroy\` leaves it behind in this lab stack; delete it by hand afterwards or drop skipDestroy.`,
        );
      }
      if ((BUCKET_TYPES as readonly string[]).includes(args.type)) {
        const force = prop(args.props, "forceDestroy");
        if (force !== UNKNOWN && force !== true) {
          reportViolation(
            `bucket ${what} does not set forceDestroy: true, so \`pulumi destroy\` fails while it holds objects in this lab stack.`,
          );
        }
      }
      if (args.type === TABLE_TYPE || args.type === "aws:cloudwatch/logGroup:LogGroup") {
        if (prop(args.props, "deletionProtectionEnabled") === true) {
          reportViolation(
            `${what} has deletion protection, so \`pulumi destroy\` fails in this lab stack; set deletionProtectionEnabled: false.`,
          );
        }
      }
      if (args.type === USER_POOL_TYPE && prop(args.props, "deletionProtection") === "ACTIVE") {
        reportViolation(
          `user pool ${what} has deletion protection, so \`pulumi destroy\` fails in this lab stack; set deletionProtection: "INACTIVE".`,
        );
      }
      return;
    }

    if (args.type !== TABLE_TYPE) return;
    const protection = prop(args.props, "deletionProtectionEnabled");
    if (protection !== UNKNOWN && protection !== true) {
      reportViolation(
        `table ${what} has no deletion protection in this production stack; set deletionProtectionEnabled: true.`,
      );
    }
    const pitr = path(args.props, "pointInTimeRecovery", "enabled");
    if (pitr !== UNKNOWN && pitr !== true) {
      reportViolation(
        `table ${what} has no point-in-time recovery in this production stack; set pointInTimeRecovery: { enabled: true }.`,
      );
    }
  },
};
