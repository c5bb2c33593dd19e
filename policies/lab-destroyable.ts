/**
 * lab-destroyable: a lab stack can be torn down by `pulumi destroy` (buckets force-destroy, no
 * deletion protection of any kind, no S3 Object Lock retention, nothing protected); a production
 * stack's tables keep deletion protection and point-in-time recovery.
 *
 * Lab or production follows the stack's own configuration (`<project>:lab`, stack-profile.ts)
 * unless the policy config sets `lab` explicitly, so a review stack named after a pull request is
 * judged by the stack file it was made from.
 *
 * What it cannot see: `retainOnDelete` (the analyzer protocol of @pulumi/policy 1.21 carries
 * `protect` but not `retainOnDelete`), and deletion guards outside the stack (SCPs, Object Lock set
 * on a bucket by hand).
 */
import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { AWS_TYPES, S3_BUCKET_TYPES, S3_OBJECT_TYPES } from "../lib/aws-types";
import { withExceptions } from "./exceptions";
import { profileOf } from "./stack-profile";
import { asString, configOf, path, prop, reportAt, schemaWithNote, UNKNOWN } from "./util";

const TABLE_TYPE = AWS_TYPES.table;
const OBJECT_LOCK_TYPES = [AWS_TYPES.objectLock, AWS_TYPES.objectLockV2] as const;

export interface LabDestroyableConfig {
  /** True for a lab stack, false for production; unset: the stack's own `<project>:lab` config decides. */
  lab?: boolean;
}

export const LAB_DESTROYABLE_DEFAULTS: LabDestroyableConfig = {};

/**
 * Inputs that, set this way, make a delete fail until they are turned off and applied: AWS's
 * deletion protection flags across services (DynamoDB, CloudWatch Logs, RDS, ELB, Cognito, QLDB,
 * Neptune, DocDB...) and EC2's termination protection.
 */
const DELETION_GUARDS: Record<string, (v: unknown) => boolean> = {
  deletionProtection: (v) => v === true || v === "ACTIVE" || v === "ENABLED",
  deletionProtectionEnabled: (v) => v === true,
  disableApiTermination: (v) => v === true,
  enableDeletionProtection: (v) => v === true,
};

/**
 * Object Lock retention in COMPLIANCE mode: no user, not even the root user, can delete a locked
 * object version until its retention period ends (S3 user guide, "Object Lock retention modes").
 * GOVERNANCE mode can be bypassed with s3:BypassGovernanceRetention, which the provider's
 * forceDestroy uses ("including any locked objects", aws.s3.Bucket forceDestroy).
 */
function complianceRetention(rule: unknown): string | undefined {
  const retention = prop(rule, "defaultRetention");
  const mode = asString(prop(retention, "mode"));
  if (mode !== "COMPLIANCE") return undefined;
  const days = prop(retention, "days");
  const years = prop(retention, "years");
  return typeof years === "number" ? `${years} year(s)` : typeof days === "number" ? `${days} day(s)` : "its period";
}

function labProblems(args: ResourceValidationArgs): string[] {
  const out: string[] = [];
  const what = `${args.name} (${args.type})`;
  if (args.opts.protect) {
    out.push(`${what} is protected (protect: true), so \`pulumi destroy\` fails in this lab stack; remove protect.`);
  }
  for (const [key, isOn] of Object.entries(DELETION_GUARDS)) {
    const v = prop(args.props, key);
    if (v !== UNKNOWN && isOn(v)) {
      out.push(
        `${what} sets ${key}: ${JSON.stringify(v)}, so \`pulumi destroy\` fails in this lab stack; turn it off.`,
      );
    }
  }
  if ((S3_BUCKET_TYPES as readonly string[]).includes(args.type)) {
    const force = prop(args.props, "forceDestroy");
    if (force !== UNKNOWN && force !== true) {
      out.push(
        `bucket ${what} does not set forceDestroy: true, so \`pulumi destroy\` fails while it holds objects in this lab stack.`,
      );
    }
    // The deprecated inline object lock configuration.
    const inline = path(args.props, "objectLockConfiguration", "rule");
    const period = inline !== UNKNOWN ? complianceRetention(inline) : undefined;
    if (period) out.push(objectLockMessage(what, period));
  }
  if ((OBJECT_LOCK_TYPES as readonly string[]).includes(args.type)) {
    const period = complianceRetention(prop(args.props, "rule"));
    if (period) out.push(objectLockMessage(what, period));
  }
  if ((S3_OBJECT_TYPES as readonly string[]).includes(args.type)) {
    const mode = prop(args.props, "objectLockMode");
    const hold = prop(args.props, "objectLockLegalHoldStatus");
    if (mode === "COMPLIANCE") out.push(objectLockMessage(what, "its retain-until date"));
    if (hold === "ON") {
      out.push(
        `${what} has an Object Lock legal hold, so it cannot be deleted by \`pulumi destroy\` in this lab stack.`,
      );
    }
  }
  return out;
}

function objectLockMessage(what: string, period: string): string {
  return (
    `${what} sets S3 Object Lock retention in COMPLIANCE mode for ${period}: no one can delete locked object ` +
    "versions (or the bucket) until it expires, so `pulumi destroy` fails in this lab stack; use no default " +
    "retention (or GOVERNANCE mode) in a lab."
  );
}

export const labDestroyable: ResourceValidationPolicy = withExceptions({
  name: "lab-destroyable",
  description:
    "In lab stacks, `pulumi destroy` removes everything: buckets force-destroy, no resource has deletion or " +
    "termination protection or S3 Object Lock retention in COMPLIANCE mode, nothing is protected (resources with " +
    "skipDestroy are reported as advisories). In production stacks, DynamoDB tables have deletion protection and " +
    "point-in-time recovery. Lab or production follows the stack's own `lab` config.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithNote({
    properties: {
      lab: {
        type: "boolean",
        description:
          "True for a lab stack, false for production. Leave unset to follow the stack's own configuration " +
          "(<project>:lab in Pulumi.<stack>.yaml).",
      },
    },
  }),
  remediationSteps:
    "Lab: set forceDestroy: true on buckets, turn off deletion protection, drop `protect`, skipDestroy and " +
    "COMPLIANCE-mode Object Lock retention. Production: set deletionProtectionEnabled: true and " +
    "pointInTimeRecovery: { enabled: true } on tables.",
  validateResource: (args, reportViolation) => {
    if (!args.type.startsWith("aws:")) args.notApplicable("Policy only applies to AWS resources");
    const { lab } = configOf(args, LAB_DESTROYABLE_DEFAULTS);
    const { profile, source } = profileOf(lab, args.urn);
    const what = `${args.name} (${args.type})`;

    if (profile === "lab") {
      for (const message of labProblems(args)) reportViolation(message);
      if (prop(args.props, "skipDestroy") === true) {
        // Advisory only: skipDestroy is sometimes deliberate (the FfprobeLayer keeps old layer
        // versions that functions may still reference, pulumi/pulumi-aws#1448); it costs storage, not a failed destroy.
        reportAt(
          reportViolation,
          "advisory",
          `${what} sets skipDestroy, so \`pulumi destroy\` leaves it behind in this lab stack; delete it by hand afterwards or drop skipDestroy.`,
        );
      }
      return;
    }

    if (args.type !== TABLE_TYPE) return;
    const protection = prop(args.props, "deletionProtectionEnabled");
    if (protection !== UNKNOWN && protection !== true) {
      reportViolation(
        `table ${what} has no deletion protection in this production stack (${source}); set deletionProtectionEnabled: true.`,
      );
    }
    const pitr = path(args.props, "pointInTimeRecovery", "enabled");
    if (pitr !== UNKNOWN && pitr !== true) {
      reportViolation(
        `table ${what} has no point-in-time recovery in this production stack (${source}); set pointInTimeRecovery: { enabled: true }.`,
      );
    }
  },
});
