/**
 * S3 policies. In @pulumi/aws v7 a bucket's lifecycle, encryption, versioning, public access
 * block and policy are separate resources that name the bucket in their `bucket` input, so
 * both policies are stack policies that join those resources to their bucket.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import {
  asNumber,
  asString,
  attachedTo,
  configOf,
  elements,
  label,
  type Maybe,
  ofTypes,
  path,
  prop,
  schemaWithNote,
  UNKNOWN,
} from "./util";

export const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"] as const;
export const LIFECYCLE_TYPES = [
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
] as const;
export const VERSIONING_TYPES = [
  "aws:s3/bucketVersioning:BucketVersioning",
  "aws:s3/bucketVersioningV2:BucketVersioningV2",
] as const;
export const ENCRYPTION_TYPES = [
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
] as const;
/** Objects the stack itself deploys into a bucket (e.g. the dashboard's files). */
export const OBJECT_TYPES = ["aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject"] as const;
export const PUBLIC_ACCESS_BLOCK_TYPE = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
export const BUCKET_POLICY_TYPE = "aws:s3/bucketPolicy:BucketPolicy";

/** How a bucket-level resource names its bucket: `bucket` is the bucket's id (= its name). */
const BUCKET_KEYS = ["id", "bucket"] as const;

function attachments(bucket: PolicyResource, all: readonly PolicyResource[], types: readonly string[]) {
  return attachedTo(bucket, ofTypes(all, types), "bucket", BUCKET_KEYS, ofTypes(all, BUCKET_TYPES));
}

/** A rule filter that selects every object of the bucket (no prefix, tag or size restriction). */
function coversWholeBucket(rule: unknown): boolean {
  const prefix = asString(prop(rule, "prefix"));
  if (prefix === UNKNOWN || (prefix !== undefined && prefix !== "")) return false;
  const filter = prop(rule, "filter");
  if (filter === UNKNOWN) return false;
  if (filter === undefined || filter === null) return true;
  const fPrefix = asString(prop(filter, "prefix"));
  if (fPrefix === UNKNOWN || (fPrefix !== undefined && fPrefix !== "")) return false;
  const tag = prop(filter, "tag");
  if (tag === UNKNOWN || (tag !== undefined && tag !== null)) return false;
  const and = prop(filter, "and");
  if (and === UNKNOWN || (and !== undefined && and !== null)) return false;
  const larger = asNumber(prop(filter, "objectSizeGreaterThan"));
  if (larger === UNKNOWN || (larger !== undefined && larger > 0)) return false;
  const smaller = prop(filter, "objectSizeLessThan");
  return smaller === undefined || smaller === null;
}

interface NormalRule {
  enabled: boolean;
  wholeBucket: boolean;
  abortDays?: number;
  expirationDays?: number;
  noncurrentDays?: number;
}

/** Rules of a BucketLifecycleConfiguration (`rules`), normalised. */
function configurationRules(config: PolicyResource): Maybe<NormalRule[]> {
  const rules = elements(prop(config.props, "rules"));
  if (rules === UNKNOWN) return UNKNOWN;
  return rules.map((rule) => ({
    enabled: asString(prop(rule, "status")) === "Enabled",
    wholeBucket: coversWholeBucket(rule),
    abortDays: knownNumber(path(rule, "abortIncompleteMultipartUpload", "daysAfterInitiation")),
    expirationDays: knownNumber(path(rule, "expiration", "days")),
    noncurrentDays: knownNumber(path(rule, "noncurrentVersionExpiration", "noncurrentDays")),
  }));
}

/** Rules given inline on the bucket (`lifecycleRules`, deprecated in v7 but still honoured by AWS). */
function inlineRules(bucket: PolicyResource): NormalRule[] {
  const rules = elements(prop(bucket.props, "lifecycleRules"));
  if (rules === UNKNOWN) return [];
  return rules.map((rule) => {
    const prefix = asString(prop(rule, "prefix"));
    const tags = prop(rule, "tags");
    return {
      enabled: prop(rule, "enabled") === true,
      wholeBucket:
        (prefix === undefined || prefix === "") &&
        (tags === undefined || tags === null || (typeof tags === "object" && Object.keys(tags).length === 0)),
      abortDays: knownNumber(prop(rule, "abortIncompleteMultipartUploadDays")),
      expirationDays: knownNumber(path(rule, "expiration", "days")),
      noncurrentDays: knownNumber(path(rule, "noncurrentVersionExpiration", "days")),
    };
  });
}

function knownNumber(v: Maybe<unknown>): number | undefined {
  const n = asNumber(v);
  return n === UNKNOWN ? undefined : n;
}

function versioningEnabled(bucket: PolicyResource, all: readonly PolicyResource[]): boolean {
  for (const v of attachments(bucket, all, VERSIONING_TYPES)) {
    if (path(v.props, "versioningConfiguration", "status") === "Enabled") return true;
  }
  return path(bucket.props, "versioning", "enabled") === true;
}

export interface S3LifecycleConfig {
  /** Lab stack: objects must expire. */
  lab: boolean;
  /** Incomplete multipart uploads must be aborted within this many days. */
  maxAbortDays: number;
  /** In a lab stack, objects (and noncurrent versions) must expire within this many days. */
  labExpirationDays: number;
}

export const S3_LIFECYCLE_DEFAULTS: S3LifecycleConfig = { lab: false, maxAbortDays: 7, labExpirationDays: 30 };

const ABORT_FIX =
  'add an aws.s3.BucketLifecycleConfiguration for it with an enabled whole-bucket rule: { id: "abort-incomplete-uploads", ' +
  'status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: N } }';

export const s3Lifecycle: StackValidationPolicy = {
  name: "s3-lifecycle",
  description:
    "Every S3 bucket has a lifecycle configuration that aborts incomplete multipart uploads; " +
    "in lab stacks, objects also expire within the configured number of days (except in buckets whose objects " +
    "the stack itself deploys, such as a website's).",
  enforcementLevel: "mandatory",
  configSchema: schemaWithNote({
    properties: {
      lab: {
        type: "boolean",
        default: S3_LIFECYCLE_DEFAULTS.lab,
        description: "True for a lab (throw-away) stack: objects must expire.",
      },
      maxAbortDays: {
        type: "integer",
        minimum: 1,
        default: S3_LIFECYCLE_DEFAULTS.maxAbortDays,
        description: "Incomplete multipart uploads must be aborted within this many days.",
      },
      labExpirationDays: {
        type: "integer",
        minimum: 1,
        default: S3_LIFECYCLE_DEFAULTS.labExpirationDays,
        description: "In a lab stack, objects (and noncurrent versions) must expire within this many days.",
      },
    },
  }),
  remediationSteps: `For each bucket, ${ABORT_FIX}; in a lab stack also add expiration: { days: N }.`,
  validateStack: (args, reportViolation) => {
    const cfg = configOf(args, S3_LIFECYCLE_DEFAULTS);
    const buckets = ofTypes(args.resources, BUCKET_TYPES);
    for (const bucket of buckets) {
      const configs = attachments(bucket, args.resources, LIFECYCLE_TYPES);
      const rules: NormalRule[] = [...inlineRules(bucket)];
      let unknownRules = false;
      for (const c of configs) {
        const r = configurationRules(c);
        if (r === UNKNOWN) unknownRules = true;
        else rules.push(...r);
      }
      if (unknownRules) continue; // rules computed from values known only after apply
      const who = `bucket ${label(bucket)}`;
      if (configs.length === 0 && rules.length === 0) {
        reportViolation(
          `${who} has no lifecycle configuration, so incomplete multipart uploads are kept (and billed) forever; ${ABORT_FIX.replace("N", String(cfg.maxAbortDays))}.`,
          bucket.urn,
        );
        continue;
      }
      const live = rules.filter((r) => r.enabled && r.wholeBucket);
      const abort = live.filter((r) => r.abortDays !== undefined);
      if (abort.length === 0) {
        reportViolation(
          `${who} has no enabled whole-bucket lifecycle rule that aborts incomplete multipart uploads; ${ABORT_FIX.replace("N", String(cfg.maxAbortDays))}.`,
          bucket.urn,
        );
      } else if (!abort.some((r) => (r.abortDays as number) <= cfg.maxAbortDays)) {
        reportViolation(
          `${who} aborts incomplete multipart uploads after ${Math.min(...abort.map((r) => r.abortDays as number))} days; ` +
            `the limit is ${cfg.maxAbortDays} (set abortIncompleteMultipartUpload.daysAfterInitiation <= ${cfg.maxAbortDays}).`,
          bucket.urn,
        );
      }
      if (!cfg.lab) continue;
      // A bucket whose content the stack deploys (a website's files, as BucketObjectv2
      // resources) is emptied by `pulumi destroy` itself, and expiring its objects would break
      // what it serves: the lab expiration rule is for buckets filled from outside the stack.
      if (attachments(bucket, args.resources, OBJECT_TYPES).length > 0) continue;
      const expiring = live.filter((r) => r.expirationDays !== undefined && r.expirationDays <= cfg.labExpirationDays);
      if (expiring.length === 0) {
        reportViolation(
          `${who} is in a lab stack but its objects never expire within ${cfg.labExpirationDays} days; add an enabled ` +
            `whole-bucket lifecycle rule with expiration: { days: ${cfg.labExpirationDays} } (or fewer).`,
          bucket.urn,
        );
      }
      if (
        versioningEnabled(bucket, args.resources) &&
        !live.some((r) => r.noncurrentDays !== undefined && r.noncurrentDays <= cfg.labExpirationDays)
      ) {
        reportViolation(
          `${who} is versioned in a lab stack but its noncurrent versions never expire; add ` +
            `noncurrentVersionExpiration: { noncurrentDays: ${cfg.labExpirationDays} } (or fewer) to a whole-bucket rule.`,
          bucket.urn,
        );
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------
// s3-secure
// ---------------------------------------------------------------------------------------------

export interface S3SecureConfig {
  /** Server-side encryption algorithms a bucket's explicit encryption configuration may use. */
  allowedSseAlgorithms: string[];
}

export const S3_SECURE_DEFAULTS: S3SecureConfig = { allowedSseAlgorithms: ["AES256", "aws:kms", "aws:kms:dsse"] };

const PAB_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/** Statement Effect=Deny, Principal=*, Action s3:* / *, Condition Bool aws:SecureTransport=false, on bucket and objects. */
function deniesInsecureTransport(doc: unknown): boolean {
  if (!doc || typeof doc !== "object") return false;
  const raw = (doc as { Statement?: unknown }).Statement;
  const statements = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return statements.some((s) => {
    if (!s || typeof s !== "object") return false;
    const st = s as Record<string, unknown>;
    if (st.Effect !== "Deny") return false;
    const principal = st.Principal;
    const anyone =
      principal === "*" ||
      (principal !== null &&
        typeof principal === "object" &&
        list((principal as Record<string, unknown>).AWS).includes("*"));
    if (!anyone) return false;
    if (!list(st.Action).some((a) => a === "*" || a === "s3:*")) return false;
    const bool = (st.Condition as Record<string, Record<string, unknown>> | undefined)?.Bool;
    const secure = bool ? list(bool["aws:SecureTransport"]).map((v) => String(v).toLowerCase()) : [];
    if (!secure.includes("false")) return false;
    const resources = list(st.Resource);
    const objects = resources.some((r) => r === "*" || r.endsWith("/*"));
    const bucketItself = resources.some((r) => r === "*" || (r.startsWith("arn:") && !r.includes("/")));
    return objects && bucketItself;
  });
}

function list(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (typeof v === "boolean") return [String(v)];
  return Array.isArray(v) ? v.filter((x) => typeof x === "string" || typeof x === "boolean").map(String) : [];
}

/** A policy document from a `policy` prop: a JSON string (or an object); UNKNOWN when not known yet. */
function policyDocument(value: Maybe<unknown>): Maybe<unknown> {
  if (value === UNKNOWN) return UNKNOWN;
  if (typeof value === "string") {
    try {
      return JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (value && typeof value === "object") {
    // A proxied object: copy it to plain JSON, treating any unknown inside as unknown overall.
    try {
      return JSON.parse(JSON.stringify(value));
    } catch {
      return UNKNOWN;
    }
  }
  return undefined;
}

export const s3Secure: StackValidationPolicy = {
  name: "s3-secure",
  description:
    "Every S3 bucket blocks public access (all four public access block settings), declares its server-side " +
    "encryption explicitly, and has a bucket policy that denies requests not made over TLS.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithNote({
    properties: {
      allowedSseAlgorithms: {
        type: "array",
        items: { type: "string", enum: ["AES256", "aws:kms", "aws:kms:dsse"] },
        minItems: 1,
        uniqueItems: true,
        default: [...S3_SECURE_DEFAULTS.allowedSseAlgorithms],
        description: "Server-side encryption algorithms the explicit encryption configuration may use.",
      },
    },
  }),
  remediationSteps:
    "For each bucket add an aws.s3.BucketPublicAccessBlock with all four flags true, an " +
    "aws.s3.BucketServerSideEncryptionConfiguration, and an aws.s3.BucketPolicy with a Deny statement on " +
    "aws:SecureTransport=false for the bucket ARN and ARN/*.",
  validateStack: (args, reportViolation) => {
    const cfg = configOf(args, S3_SECURE_DEFAULTS);
    for (const bucket of ofTypes(args.resources, BUCKET_TYPES)) {
      const who = `bucket ${label(bucket)}`;

      // 1. Public access block.
      const blocks = attachments(bucket, args.resources, [PUBLIC_ACCESS_BLOCK_TYPE]);
      if (blocks.length === 0) {
        reportViolation(
          `${who} has no public access block; add an aws.s3.BucketPublicAccessBlock for it with ` +
            "blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true " +
            "(CloudFront with origin access control still works).",
          bucket.urn,
        );
      } else {
        const off = PAB_FLAGS.filter(
          (f) => !blocks.some((b) => prop(b.props, f) === true || prop(b.props, f) === UNKNOWN),
        );
        if (off.length > 0) {
          reportViolation(`${who}: its public access block does not set ${off.join(", ")} to true.`, bucket.urn);
        }
      }

      // 2. Explicit server-side encryption. S3 encrypts new objects with SSE-S3 by default since
      // January 2023, but the policy demands the configuration be declared so the algorithm (and
      // any KMS key) is reviewed in code and a later account-level change cannot drift it.
      const encryption = attachments(bucket, args.resources, ENCRYPTION_TYPES);
      if (encryption.length === 0) {
        reportViolation(
          `${who} has no explicit server-side encryption configuration (the implicit SSE-S3 default is not accepted); ` +
            'add an aws.s3.BucketServerSideEncryptionConfiguration with rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] ' +
            '(or "aws:kms" with a key).',
          bucket.urn,
        );
      } else {
        const algorithms: Maybe<string | undefined>[] = [];
        for (const e of encryption) {
          const rules = elements(prop(e.props, "rules"));
          if (rules === UNKNOWN) algorithms.push(UNKNOWN);
          else
            for (const r of rules)
              algorithms.push(asString(path(r, "applyServerSideEncryptionByDefault", "sseAlgorithm")));
        }
        const ok = algorithms.some((a) => a === UNKNOWN || (a !== undefined && cfg.allowedSseAlgorithms.includes(a)));
        if (!ok) {
          reportViolation(
            `${who}: its encryption configuration sets no default algorithm among ${cfg.allowedSseAlgorithms.join(", ")}.`,
            bucket.urn,
          );
        }
      }

      // 3. TLS-only bucket policy (a BucketPolicy resource, or the deprecated inline `policy`).
      const docs: Maybe<unknown>[] = attachments(bucket, args.resources, [BUCKET_POLICY_TYPE]).map((p) =>
        policyDocument(prop(p.props, "policy")),
      );
      const inline = prop(bucket.props, "policy");
      if (inline !== undefined && inline !== null && inline !== "") docs.push(policyDocument(inline));
      if (docs.some((d) => d === UNKNOWN)) continue; // policy text computed from values known only after apply
      if (!docs.some(deniesInsecureTransport)) {
        reportViolation(
          `${who} does not deny requests made without TLS; add to its aws.s3.BucketPolicy the statement ` +
            '{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [<bucket ARN>, "<bucket ARN>/*"], ' +
            'Condition: { Bool: { "aws:SecureTransport": "false" } } }.',
          bucket.urn,
        );
      }
    }
  },
};
