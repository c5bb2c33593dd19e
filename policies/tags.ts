/**
 * required-tags: every taggable AWS resource carries the configured tags with non-empty values,
 * counting the tags its provider applies by default; the tags whose value the pack knows
 * (Environment = the stack, Project = the project, by default) carry that value; and the provider
 * does not ignore a required tag.
 *
 * Taggability comes from the installed @pulumi/aws (taggable-types.ts); a type it does not know is
 * checked as taggable.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { AWS_TYPES } from "../lib/aws-types";
import { missingTags, REQUIRED_TAG_KEYS } from "../lib/tags";
import { withExceptions } from "./exceptions";
import { stackEnvironment, urnParts } from "./stack-profile";
import { mustBeTagged } from "./taggable-types";
import { configOf, entries, type Maybe, prop, schemaWithNote, strings, UNKNOWN } from "./util";

export interface RequiredTagsConfig {
  /** Tag keys every taggable resource must carry with a non-empty value. */
  requiredTags: string[];
  /** Tag key -> required value; `{stack}` and `{project}` stand for the stack's and the project's names. */
  tagValues: Record<string, string>;
}

export const REQUIRED_TAGS_DEFAULTS: RequiredTagsConfig = {
  requiredTags: [...REQUIRED_TAG_KEYS],
  tagValues: { Environment: "{stack}", Project: "{project}" },
};

/** A tag map read from props: tag values that are unknown during preview are kept as UNKNOWN. */
type TagMap = Record<string, Maybe<string | undefined>>;

function readTags(value: Maybe<unknown>): Maybe<TagMap | undefined> {
  if (value === UNKNOWN) return UNKNOWN;
  if (value === undefined || value === null) return undefined;
  const list = entries(value);
  if (list === UNKNOWN) return UNKNOWN;
  const out: TagMap = {};
  for (const [k, v] of list) out[k] = v === UNKNOWN ? UNKNOWN : typeof v === "string" ? v : undefined;
  return out;
}

/**
 * The default tags an AWS provider resource applies. The aws provider serialises its
 * `defaultTags` input as a JSON string (`{"tags":{...}}`); stack config of a default provider
 * may arrive the same way or as an object.
 */
function providerDefaultTags(provider: { type: string; props: Record<string, unknown> } | undefined): TagMap {
  if (provider?.type !== AWS_TYPES.provider) return {};
  let value = prop(provider.props, "defaultTags");
  if (value === UNKNOWN || value === undefined || value === null) return {};
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return {};
    }
  }
  const tags = readTags(prop(value, "tags"));
  return tags === UNKNOWN || tags === undefined ? {} : tags;
}

/** Stand-in for a tag value that is unknown during preview: it will have a value, so it counts as set. */
const UNKNOWN_TAG_VALUE = "(known after apply)";

/**
 * The tags the resource ends up with: the provider's default tags, overlaid by `tagsAll` when
 * the provider already computed it, overlaid by the resource's own `tags` (AWS gives resource
 * tags precedence over default tags).
 */
export function effectiveTags(
  props: Record<string, unknown>,
  provider: { type: string; props: Record<string, unknown> } | undefined,
): Record<string, string | undefined> | typeof UNKNOWN {
  const merged: TagMap = { ...providerDefaultTags(provider) };
  const tagsAll = readTags(prop(props, "tagsAll"));
  if (tagsAll !== UNKNOWN && tagsAll) Object.assign(merged, tagsAll);
  const tags = readTags(prop(props, "tags"));
  // The whole tags map unknown (computed from outputs not yet known): nothing to check yet.
  if (tags === UNKNOWN) return UNKNOWN;
  if (tags) Object.assign(merged, tags);
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(merged)) out[k] = v === UNKNOWN ? UNKNOWN_TAG_VALUE : v;
  return out;
}

/**
 * The provider's `ignoreTags` ({ keys, keyPrefixes }): tags it never writes nor reads back
 * (Terraform AWS provider "Resource Tagging" guide, hashicorp/terraform-provider-aws#13779), so a
 * required tag matching it would not reach AWS. The provider serialises it as a JSON string.
 */
export function ignoredTagKeys(
  provider: { type: string; props: Record<string, unknown> } | undefined,
  keys: readonly string[],
): string[] {
  if (provider?.type !== AWS_TYPES.provider) return [];
  let value = prop(provider.props, "ignoreTags");
  if (value === UNKNOWN || value === undefined || value === null) return [];
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return [];
    }
  }
  const exact = strings(prop(value, "keys"));
  const prefixes = strings(prop(value, "keyPrefixes"));
  return keys.filter(
    (k) =>
      (exact !== UNKNOWN && exact.includes(k)) ||
      (prefixes !== UNKNOWN && prefixes.some((p) => typeof p === "string" && k.startsWith(p))),
  );
}

function expand(template: string, names: { stack?: string; project?: string }): string | undefined {
  if (template.includes("{stack}") && !names.stack) return undefined;
  if (template.includes("{project}") && !names.project) return undefined;
  return template.replaceAll("{stack}", names.stack ?? "").replaceAll("{project}", names.project ?? "");
}

export const requiredTags: ResourceValidationPolicy = withExceptions({
  name: "required-tags",
  description:
    "Every taggable AWS resource carries the required tags (Project, Environment, Owner, CostCenter by default) " +
    "with non-empty values, counting the provider's defaultTags; Environment is the stack's name and Project the " +
    "project's; the provider's ignoreTags does not strip a required tag.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithNote({
    properties: {
      requiredTags: {
        type: "array",
        items: { type: "string", minLength: 1 },
        uniqueItems: true,
        default: [...REQUIRED_TAGS_DEFAULTS.requiredTags],
        description: "Tag keys every taggable resource must carry with a non-empty value.",
      },
      tagValues: {
        type: "object",
        default: { ...REQUIRED_TAGS_DEFAULTS.tagValues },
        description:
          'Tag key -> the value it must have; "{stack}" and "{project}" stand for the stack\'s and the project\'s names. ' +
          "Set {} to check presence only.",
      },
    },
  }),
  remediationSteps:
    "Set the missing keys in the AWS provider's defaultTags (index.ts builds them with lib/tags.ts standardTags), " +
    "or in the resource's own `tags`, with Environment = the stack name and Project = the project name; remove " +
    "required keys from the provider's ignoreTags.",
  validateResource: (args, reportViolation) => {
    // Components, providers and the stack itself are not cloud resources; only AWS types are checked.
    if (!args.type.startsWith("aws:")) args.notApplicable("Policy only applies to AWS resources");
    if (!mustBeTagged(args.type)) args.notApplicable(`${args.type} does not support tags`);
    const cfg = configOf(args, REQUIRED_TAGS_DEFAULTS);
    const required = cfg.requiredTags;
    const problems: string[] = [];
    const ignored = ignoredTagKeys(args.provider, required);
    if (ignored.length > 0) {
      problems.push(`its provider's ignoreTags strips required tags: ${ignored.join(", ")}`);
    }
    const tags = effectiveTags(args.props, args.provider);
    if (tags !== UNKNOWN) {
      const missing = missingTags(tags, required);
      const empty = missing.filter((k) => k in tags);
      const absent = missing.filter((k) => !(k in tags));
      if (absent.length > 0) problems.push(`missing required tags: ${absent.join(", ")}`);
      if (empty.length > 0) problems.push(`empty required tags: ${empty.join(", ")}`);
      const env = stackEnvironment();
      const fromUrn = urnParts(args.urn);
      const names = { stack: env.stack ?? fromUrn.stack, project: env.project ?? fromUrn.project };
      for (const [key, template] of Object.entries(cfg.tagValues ?? {})) {
        const value = tags[key];
        if (typeof template !== "string" || value === undefined || value === "" || value === UNKNOWN_TAG_VALUE) {
          continue;
        }
        const expected = expand(template, names);
        if (expected !== undefined && value !== expected) {
          problems.push(`tag ${key} is ${JSON.stringify(value)}, expected ${JSON.stringify(expected)}`);
        }
      }
    }
    if (problems.length === 0) return;
    reportViolation(
      `${args.name} (${args.type}): ${problems.join("; ")}. Set them in the AWS provider's defaultTags ` +
        "(lib/tags.ts standardTags) or in the resource's tags.",
    );
  },
});
