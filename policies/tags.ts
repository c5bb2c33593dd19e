/**
 * required-tags: every taggable AWS resource carries the configured tags with non-empty values,
 * counting the tags its provider applies by default.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { missingTags, REQUIRED_TAG_KEYS } from "../lib/tags";
import { NON_TAGGABLE_TYPES, TAGGABLE_TYPES } from "./taggable-types";
import { configOf, prop, providerDefaultTags, readTags, reportAt, schemaWithNote, type TagMap, UNKNOWN } from "./util";

export interface RequiredTagsConfig {
  /** Tag keys every taggable resource must carry with a non-empty value. */
  requiredTags: string[];
}

export const REQUIRED_TAGS_DEFAULTS: RequiredTagsConfig = { requiredTags: [...REQUIRED_TAG_KEYS] };

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

export const requiredTags: ResourceValidationPolicy = {
  name: "required-tags",
  description:
    "Every taggable AWS resource carries the required tags (Project, Environment, Owner, CostCenter by default) " +
    "with non-empty values, counting the provider's defaultTags.",
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
    },
  }),
  remediationSteps:
    "Set the missing keys in the AWS provider's defaultTags (index.ts builds them with lib/tags.ts standardTags), " +
    "or in the resource's own `tags`.",
  validateResource: (args, reportViolation) => {
    // Components, providers and the stack itself are not cloud resources; only AWS types are checked.
    if (!args.type.startsWith("aws:")) args.notApplicable("Policy only applies to AWS resources");
    if (NON_TAGGABLE_TYPES.has(args.type)) args.notApplicable(`${args.type} does not support tags`);
    if (!TAGGABLE_TYPES.has(args.type)) {
      reportAt(
        reportViolation,
        "advisory",
        `type ${args.type} is not in the taggable-types list, so its tags were not checked; ` +
          "add it to TAGGABLE_TYPES or NON_TAGGABLE_TYPES in policies/taggable-types.ts.",
      );
      return;
    }
    const { requiredTags: required } = configOf(args, REQUIRED_TAGS_DEFAULTS);
    const tags = effectiveTags(args.props, args.provider);
    if (tags === UNKNOWN) return;
    const missing = missingTags(tags, required);
    if (missing.length === 0) return;
    const empty = missing.filter((k) => k in tags);
    const absent = missing.filter((k) => !(k in tags));
    const parts = [
      absent.length > 0 ? `missing required tags: ${absent.join(", ")}` : "",
      empty.length > 0 ? `empty required tags: ${empty.join(", ")}` : "",
    ].filter(Boolean);
    reportViolation(
      `${args.name} (${args.type}): ${parts.join("; ")}. Set them in the AWS provider's defaultTags ` +
        "(lib/tags.ts standardTags) or in the resource's tags.",
    );
  },
};
