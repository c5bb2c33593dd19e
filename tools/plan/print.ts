/**
 * The plan as text: a tree of resources under their parents, with the inputs worth reading
 * for each type (the rest is in --json).
 */
import { AWS_TYPES } from "../../lib/aws-types";
import type { PlanResult } from "./run-program";
import type { PlannedResource } from "./types";

export const MOCKED_NOTICE =
  "MOCKED PLAN: the program ran under Pulumi's mock runtime. This is not `pulumi preview`: no engine, " +
  "no AWS provider, no AWS account; ids, ARNs and URLs are invented by tools/plan/mocks.ts.";

/** Inputs shown per type; other custom resources show none. */
const KEY_INPUTS: Record<string, string[]> = {
  [AWS_TYPES.provider]: ["region", "defaultTags"],
  [AWS_TYPES.bucket]: ["forceDestroy"],
  [AWS_TYPES.lifecycle]: ["rules"],
  [AWS_TYPES.encryption]: ["rules"],
  [AWS_TYPES.publicAccessBlock]: ["blockPublicAcls", "restrictPublicBuckets"],
  [AWS_TYPES.versioning]: ["versioningConfiguration"],
  [AWS_TYPES.notification]: ["queues"],
  [AWS_TYPES.cors]: ["corsRules"],
  [AWS_TYPES.object]: ["key", "contentType"],
  [AWS_TYPES.table]: ["billingMode", "hashKey", "deletionProtectionEnabled", "pointInTimeRecovery", "ttl"],
  [AWS_TYPES.layer]: ["layerName", "compatibleArchitectures", "description", "skipDestroy"],
  [AWS_TYPES.function]: ["runtime", "architectures", "memorySize", "timeout", "reservedConcurrentExecutions", "layers"],
  [AWS_TYPES.eventSourceMapping]: ["eventSourceArn", "batchSize", "functionResponseTypes", "scalingConfig"],
  [AWS_TYPES.queue]: ["visibilityTimeoutSeconds", "messageRetentionSeconds", "redrivePolicy"],
  [AWS_TYPES.ssmParameter]: ["name", "type"],
  [AWS_TYPES.eventRule]: ["scheduleExpression"],
  [AWS_TYPES.logGroup]: ["retentionInDays"],
  [AWS_TYPES.httpApi]: ["protocolType"],
  [AWS_TYPES.route]: ["routeKey", "authorizationType", "authorizationScopes"],
  [AWS_TYPES.authorizer]: ["authorizerType", "jwtConfiguration"],
  [AWS_TYPES.stage]: ["name", "defaultRouteSettings"],
  [AWS_TYPES.userPool]: ["deletionProtection", "mfaConfiguration", "emailConfiguration"],
  [AWS_TYPES.userPoolDomain]: ["managedLoginVersion"],
  [AWS_TYPES.userPoolClient]: ["allowedOauthFlows", "generateSecret", "callbackUrls"],
  [AWS_TYPES.distribution]: ["priceClass", "defaultRootObject"],
  [AWS_TYPES.originAccessControl]: ["originAccessControlOriginType", "signingBehavior"],
};

function brief(value: unknown, max = 160): string {
  const text = JSON.stringify(value) ?? "undefined";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A function's environment by name only: values may be long, and none should be a secret. */
function environmentNames(r: PlannedResource): string[] {
  if (r.type !== AWS_TYPES.function) return [];
  const variables = (r.inputs.environment as { variables?: Record<string, unknown> } | undefined)?.variables;
  return variables ? [`env=${brief(Object.keys(variables))}`] : [];
}

/** The options that decide what a deploy may do to the resource, when set. */
function optionFlags(r: PlannedResource): string[] {
  const o = r.options;
  if (!o) return [];
  return [
    ...(o.protect ? ["protect"] : []),
    ...(o.retainOnDelete ? ["retainOnDelete"] : []),
    ...(o.ignoreChanges.length ? [`ignoreChanges=${brief(o.ignoreChanges)}`] : []),
  ];
}

function line(r: PlannedResource): string {
  const keys = KEY_INPUTS[r.type] ?? [];
  const shown = [
    ...keys.filter((k) => r.inputs[k] !== undefined).map((k) => `${k}=${brief(r.inputs[k])}`),
    ...environmentNames(r),
    ...optionFlags(r),
  ];
  return `${r.type}  ${r.name}${shown.length ? `  ${shown.join(" ")}` : ""}`;
}

/** The plan as a tree (children indented under their parent, in registration order). */
export function formatPlanTree(plan: PlanResult): string {
  const byParent = new Map<string | undefined, PlannedResource[]>();
  const urns = new Set(plan.resources.map((r) => r.urn));
  for (const r of plan.resources) {
    const parent = r.parent && urns.has(r.parent) ? r.parent : undefined;
    byParent.set(parent, [...(byParent.get(parent) ?? []), r]);
  }
  const out: string[] = [];
  const walk = (parent: string | undefined, prefix: string) => {
    const children = byParent.get(parent) ?? [];
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      out.push(`${prefix}${last ? "└─ " : "├─ "}${line(child)}`);
      walk(child.urn, `${prefix}${last ? "   " : "│  "}`);
    });
  };
  walk(undefined, "");
  const custom = plan.resources.filter((r) => r.custom).length;
  const header = [
    MOCKED_NOTICE,
    `project ${plan.project}, stack ${plan.stack}: ${custom} resources, ${plan.resources.length - custom} components`,
    "",
  ];
  const outputs = Object.entries(plan.outputs).map(([k, v]) => `  ${k}: ${brief(v)}`);
  return [...header, ...out, "", "Outputs (mocked):", ...outputs].join("\n");
}
