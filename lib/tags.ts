/**
 * Tagging: the tag keys every resource carries. The AWS provider's default tags
 * (index.ts), explicit tags on resources that need them, and the policy pack's
 * required-tags rule all use this list.
 */
export const REQUIRED_TAG_KEYS = ["Project", "Environment", "Owner", "CostCenter"] as const;

export type RequiredTagKey = (typeof REQUIRED_TAG_KEYS)[number];
export type StandardTags = Record<RequiredTagKey, string>;

export interface TagInputs {
  project: string;
  environment: string;
  owner: string;
  costCenter: string;
}

/** The standard tag set for a stack. Throws when a value is empty, so a stack cannot go out untagged. */
export function standardTags(inputs: TagInputs): StandardTags {
  const tags: StandardTags = {
    Project: inputs.project,
    Environment: inputs.environment,
    Owner: inputs.owner,
    CostCenter: inputs.costCenter,
  };
  for (const key of REQUIRED_TAG_KEYS) {
    if (!tags[key] || tags[key].trim() === "") {
      throw new Error(`tag ${key} must not be empty`);
    }
  }
  return tags;
}

/** Keys of `required` that `tags` lacks or leaves empty. */
export function missingTags(
  tags: Record<string, string | undefined> | undefined,
  required: readonly string[] = REQUIRED_TAG_KEYS,
): string[] {
  return required.filter((key) => {
    const value = tags?.[key];
    return typeof value !== "string" || value.trim() === "";
  });
}

/**
 * Prefix of the tags the kill switch puts on the functions it pauses
 * (handlers/kill-switch/lambda-control.ts PAUSE_TAGS). The AWS provider ignores tags with
 * this prefix (index.ts `ignoreTags`), so a `pulumi up` never removes a pause's record.
 */
export const KILL_SWITCH_TAG_PREFIX = "media-pipeline:";
