/**
 * S3 policies. In @pulumi/aws v7 a bucket's lifecycle, encryption, versioning, public access
 * block and policy are separate resources that name the bucket in their `bucket` input, so
 * both policies are stack policies that join those resources to their bucket.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { AWS_TYPES, S3_BUCKET_TYPES, S3_OBJECT_TYPES } from "../lib/aws-types";
import { withExceptions } from "./exceptions";
import {
  actionMatches,
  allowsAny,
  isPublicAllow,
  policyDocument,
  S3_WRITE_ACTIONS,
  type Statement,
  statements,
} from "./policy-document";
import { profileOf } from "./stack-profile";
import {
  asNumber,
  asString,
  attachedTo,
  configOf,
  elements,
  entries,
  label,
  type Maybe,
  ofTypes,
  path,
  prop,
  referencedBy,
  schemaWithNote,
  strings,
  UNKNOWN,
} from "./util";

const BUCKET_TYPES = S3_BUCKET_TYPES;
const LIFECYCLE_TYPES = [AWS_TYPES.lifecycle, AWS_TYPES.lifecycleV2] as const;
const VERSIONING_TYPES = [AWS_TYPES.versioning, AWS_TYPES.versioningV2] as const;
const ENCRYPTION_TYPES = [AWS_TYPES.encryption, AWS_TYPES.encryptionV2] as const;
/** Objects the stack itself deploys into a bucket (e.g. the dashboard's files). */
const OBJECT_TYPES = S3_OBJECT_TYPES;
const PUBLIC_ACCESS_BLOCK_TYPE = AWS_TYPES.publicAccessBlock;
const BUCKET_POLICY_TYPE = AWS_TYPES.bucketPolicy;

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
  /** Lab stack: objects must expire. Unset: the stack's own `<project>:lab` config decides. */
  lab?: boolean;
  /** Incomplete multipart uploads must be aborted within this many days. */
  maxAbortDays: number;
  /** In a lab stack, objects (and noncurrent versions) must expire within this many days. */
  labExpirationDays: number;
}

export const S3_LIFECYCLE_DEFAULTS: S3LifecycleConfig = { maxAbortDays: 7, labExpirationDays: 30 };

const ABORT_FIX =
  'add an aws.s3.BucketLifecycleConfiguration for it with an enabled whole-bucket rule: { id: "abort-incomplete-uploads", ' +
  'status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: N } }';

export const s3Lifecycle: StackValidationPolicy = withExceptions({
  name: "s3-lifecycle",
  description:
    "Every S3 bucket has a lifecycle configuration that aborts incomplete multipart uploads; " +
    "in lab stacks, objects also expire within the configured number of days (except in buckets that only hold " +
    "objects the stack itself deploys, such as a website's, and that nothing else can write to).",
  enforcementLevel: "mandatory",
  configSchema: schemaWithNote({
    properties: {
      lab: {
        type: "boolean",
        description:
          "True for a lab (throw-away) stack: objects must expire. Leave unset to follow the stack's own " +
          "configuration (<project>:lab in Pulumi.<stack>.yaml).",
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
      if (profileOf(cfg.lab, bucket.urn).profile !== "lab") continue;
      // A bucket whose only content is what the stack deploys (a website's files, as
      // BucketObjectv2 resources) is emptied by `pulumi destroy` itself, and expiring its objects
      // would break what it serves. One deployed object proves nothing, though: the exemption
      // holds only while nothing else in the stack can write to the bucket.
      if (attachments(bucket, args.resources, OBJECT_TYPES).length > 0) {
        const writers = writersOf(bucket, args.resources);
        if (writers.length === 0) continue;
        if (!live.some((r) => r.expirationDays !== undefined && r.expirationDays <= cfg.labExpirationDays)) {
          reportViolation(
            `${who} is in a lab stack and its objects never expire within ${cfg.labExpirationDays} days; the stack ` +
              `deploys objects into it, but ${writers.join(", ")} also write(s) to it, so it is not deployed content ` +
              `only; add an enabled whole-bucket rule with expiration: { days: ${cfg.labExpirationDays} } (or fewer).`,
            bucket.urn,
          );
        }
        continue;
      }
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
});

// ---------------------------------------------------------------------------------------------
// Who can write to a bucket besides the stack's own deployments
// ---------------------------------------------------------------------------------------------

const CORS_TYPES = [AWS_TYPES.cors, AWS_TYPES.corsV2] as const;
const NOTIFICATION_TYPE = AWS_TYPES.notification;
/** Resources holding an IAM policy document in `policy`. */
const IAM_POLICY_TYPES = [AWS_TYPES.iamPolicy, AWS_TYPES.rolePolicy, AWS_TYPES.userPolicy, AWS_TYPES.groupPolicy];
/**
 * Resources that deliver objects into a bucket they name (logs, replicas, inventories, exports),
 * and the inputs that name it.
 */
const DELIVERY_KEYS: Record<string, string[]> = {
  [AWS_TYPES.bucketLogging]: ["targetBucket"],
  [AWS_TYPES.bucketLoggingV2]: ["targetBucket"],
  [AWS_TYPES.replication]: ["rules"],
  [AWS_TYPES.inventory]: ["destination"],
  [AWS_TYPES.analytics]: ["storageClassAnalysis"],
  [AWS_TYPES.distribution]: ["loggingConfig"],
  [AWS_TYPES.trail]: ["s3BucketName"],
  [AWS_TYPES.loadBalancer]: ["accessLogs", "connectionLogs"],
  [AWS_TYPES.firehose]: ["extendedS3Configuration", "s3Configuration"],
  [AWS_TYPES.logDeliveryDestination]: ["deliveryDestinationConfiguration"],
};

function bucketIdentifiers(bucket: PolicyResource): string[] {
  return ["id", "bucket", "arn"]
    .map((k) => prop(bucket.props, k))
    .filter((v): v is string => typeof v === "string" && v !== "");
}

/** Whether a statement's resources can cover objects of the bucket. */
function coversObjectsOf(s: Statement, arn: string | undefined): boolean {
  if (s.notResource) return true;
  if (!arn) return s.resources.some((r) => r === "*" || r.includes("/") || r.startsWith("arn:aws:s3:::"));
  return s.resources.some((r) => actionMatches(r, `${arn}/any-key`));
}

/** The names of stack resources that can put objects into `bucket` (besides its deployed objects). */
export function writersOf(bucket: PolicyResource, resources: readonly PolicyResource[]): string[] {
  const out: string[] = [];
  const ids = bucketIdentifiers(bucket);
  const arn = asString(prop(bucket.props, "arn"));
  const knownArn = typeof arn === "string" ? arn : undefined;
  const buckets = ofTypes(resources, BUCKET_TYPES);
  const mine = (r: PolicyResource, key: string) => referencedBy(r, key, buckets, ["id", "bucket"]).includes(bucket);
  // Browser uploads: a CORS rule allowing a method that writes.
  for (const cors of ofTypes(resources, CORS_TYPES).filter((c) => mine(c, "bucket"))) {
    const rules = elements(prop(cors.props, "corsRules"));
    const writes =
      rules === UNKNOWN ||
      rules.some((rule) => {
        const methods = strings(prop(rule, "allowedMethods"));
        return methods === UNKNOWN || methods.some((m) => m === UNKNOWN || ["PUT", "POST", "DELETE"].includes(m));
      });
    if (writes) out.push(`CORS configuration ${cors.name}`);
  }
  // Event notifications: objects are expected to arrive from outside the stack.
  for (const n of ofTypes(resources, [NOTIFICATION_TYPE]).filter((c) => mine(c, "bucket"))) {
    out.push(`event notification ${n.name}`);
  }
  // Bucket policies and IAM policies that allow writing objects of this bucket.
  const docs: { who: string; doc: Maybe<unknown>; r: PolicyResource; key: string }[] = [];
  for (const p of attachments(bucket, resources, [BUCKET_POLICY_TYPE])) {
    docs.push({ who: `bucket policy ${p.name}`, doc: policyDocument(prop(p.props, "policy")), r: p, key: "policy" });
  }
  for (const p of ofTypes(resources, IAM_POLICY_TYPES)) {
    docs.push({ who: `IAM policy ${p.name}`, doc: policyDocument(prop(p.props, "policy")), r: p, key: "policy" });
  }
  for (const role of ofTypes(resources, [AWS_TYPES.role])) {
    const inline = elements(prop(role.props, "inlinePolicies"));
    if (inline === UNKNOWN) continue;
    for (const p of inline) {
      docs.push({ who: `role ${role.name}`, doc: policyDocument(prop(p, "policy")), r: role, key: "inlinePolicies" });
    }
  }
  for (const { who, doc, r, key } of docs) {
    if (doc === UNKNOWN) {
      // Text known only after apply: a writer when it was built from this bucket.
      if ((r.propertyDependencies?.[key] ?? []).includes(bucket)) out.push(who);
      continue;
    }
    const writes = statements(doc).some(
      (s) =>
        allowsAny(s, S3_WRITE_ACTIONS) &&
        coversObjectsOf(s, knownArn) &&
        (s.notResource || s.resources.some((res) => res === "*" || ids.some((id) => res.includes(id)) || !knownArn)),
    );
    if (writes) out.push(who);
  }
  // Services that deliver objects into a bucket they name.
  for (const r of resources) {
    const keys = DELIVERY_KEYS[r.type];
    if (!keys) continue;
    const delivers = keys.some((key) => {
      const value = prop(r.props, key);
      if (value === UNKNOWN) return (r.propertyDependencies?.[key] ?? []).includes(bucket);
      const text = JSON.stringify(plainOf(value)) ?? "";
      return (
        ids.some((id) => text.includes(`"${id}"`) || text.includes(`"${id}.s3`) || text.includes(`${id}/`)) ||
        (r.propertyDependencies?.[key] ?? []).includes(bucket)
      );
    });
    if (delivers) out.push(`${r.type.split(":").pop()} ${r.name}`);
  }
  return [...new Set(out)];
}

/** Props as plain JSON, unknown values dropped (for a text search). */
function plainOf(value: unknown): unknown {
  const list = entries(value);
  if (list === UNKNOWN) return undefined;
  if (Array.isArray(value)) {
    const items = elements(value);
    return items === UNKNOWN ? [] : items.map((v) => (v === UNKNOWN ? null : plainOf(v)));
  }
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(list.map(([k, v]) => [k, v === UNKNOWN ? null : plainOf(v)]));
}

// ---------------------------------------------------------------------------------------------
// s3-secure
// ---------------------------------------------------------------------------------------------

export interface S3SecureConfig {
  /** Server-side encryption algorithms a bucket's explicit encryption configuration may use. */
  allowedSseAlgorithms: string[];
}

export const S3_SECURE_DEFAULTS: S3SecureConfig = { allowedSseAlgorithms: ["AES256", "aws:kms", "aws:kms:dsse"] };

const PAB_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

/**
 * A Deny statement that refuses every request made without TLS: Principal "*" (not NotPrincipal),
 * Action "s3:*" or "*" (not NotAction), and a condition that is exactly
 * Bool aws:SecureTransport = false. Any further condition narrows the deny (it then applies only
 * when that condition also holds), so such a statement does not count.
 */
function isTlsDeny(s: Statement): boolean {
  if (s.effect !== "Deny" || !s.anyone || s.notAction || s.notResource) return false;
  if (!s.actions.some((a) => a === "*" || a.toLowerCase() === "s3:*")) return false;
  const ops = Object.keys(s.condition);
  if (ops.length !== 1 || ops[0] !== "Bool") return false;
  const body = s.condition.Bool ?? {};
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0]?.toLowerCase() !== "aws:securetransport") return false;
  const values = (body[keys[0] as string] ?? []).map((v) => v.toLowerCase());
  return values.length > 0 && values.every((v) => v === "false");
}

/**
 * The bucket's policies deny non-TLS requests on the bucket itself and on every object: the
 * qualifying Deny statements together (one may cover the bucket ARN, another ARN/*) cover both.
 */
function deniesInsecureTransport(docs: readonly unknown[], arn: string | undefined): boolean {
  const denies = docs.flatMap((d) => statements(d)).filter(isTlsDeny);
  const covers = (target: string) => denies.some((s) => s.resources.some((r) => actionMatches(r, target)));
  if (arn) return covers(arn) && covers(`${arn}/any-key`);
  // ARN unknown: the generic shape (a bucket ARN and an ARN/* pattern, or "*").
  const resources = denies.flatMap((s) => s.resources);
  return (
    resources.some((r) => r === "*" || r.endsWith("/*")) &&
    resources.some((r) => r === "*" || (r.startsWith("arn:") && !r.includes("/")))
  );
}

export const s3Secure: StackValidationPolicy = withExceptions({
  name: "s3-secure",
  description:
    "Every S3 bucket blocks public access (all four public access block settings), declares its server-side " +
    "encryption explicitly, and has a bucket policy that denies requests not made over TLS and allows nothing to " +
    'anyone (Principal "*") without a condition that restricts who or from where.',
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
      const open = docs
        .flatMap((d) => statements(d))
        .filter(isPublicAllow)
        .map((st) => (st.notAction ? `NotAction ${st.actions.join(", ")}` : st.actions.join(", ")));
      if (open.length > 0) {
        reportViolation(
          `${who}: its bucket policy allows ${open.join("; ")} to anyone (Principal "*") without a condition that ` +
            "restricts the caller (aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, aws:SourceVpce...); grant " +
            'a named principal (e.g. Service "cloudfront.amazonaws.com" with aws:SourceArn of the distribution).',
          bucket.urn,
        );
      }
      const arn = asString(prop(bucket.props, "arn"));
      if (!deniesInsecureTransport(docs, typeof arn === "string" ? arn : undefined)) {
        reportViolation(
          `${who} does not deny requests made without TLS; add to its aws.s3.BucketPolicy the statement ` +
            '{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [<bucket ARN>, "<bucket ARN>/*"], ' +
            'Condition: { Bool: { "aws:SecureTransport": "false" } } }.',
          bucket.urn,
        );
      }
    }
  },
});
