/**
 * The pack's contents: its name and every policy, in one list. index.ts serves them by
 * constructing the PolicyPack; the offline runner and the tests import this module instead, so
 * they never start the analyzer server.
 */
import type { EnforcementLevel, Policies } from "@pulumi/policy";
import { apiAuthorized } from "./api";
import { budgetRequired } from "./budget";
import { noEscapeHatches } from "./escape-hatches";
import { ffmpegLayerPinned } from "./ffmpeg-layer";
import { labDestroyable } from "./lab-destroyable";
import { lambdaLogRetention } from "./lambda-logs";
import packageJson from "./package.json";
import { s3Lifecycle, s3Secure } from "./s3";
import { requiredTags } from "./tags";

export const PACK_NAME = "media-pipeline-policies";

/** Level for a policy that sets none (every policy here sets its own). */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "advisory";

export const POLICIES: Policies = [
  requiredTags,
  s3Lifecycle,
  s3Secure,
  budgetRequired,
  ffmpegLayerPinned,
  lambdaLogRetention,
  apiAuthorized,
  labDestroyable,
  noEscapeHatches,
];

/** The pack's version: the CLI and @pulumi/policy read it from the pack's package.json. */
export const PACK_VERSION: string = packageJson.version;
