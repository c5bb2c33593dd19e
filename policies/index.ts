/**
 * Entry point the Pulumi CLI runs (`pulumi preview --policy-pack policies`). Constructing the
 * PolicyPack starts the analyzer's gRPC server and prints its port, so this file does nothing
 * else and nothing imports it: tests and the offline runner import ./pack.
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, POLICIES } from "./pack";

new PolicyPack(PACK_NAME, {
  policies: POLICIES,
  enforcementLevel: PACK_ENFORCEMENT_LEVEL,
  description:
    "Guardrails for the media-pipeline stacks: tagging, S3 hygiene and security, budgets, the pinned ffprobe layer, log retention, API authorization, destroyability.",
  displayName: "media-pipeline policies",
  provider: "aws",
  tags: ["aws", "media-pipeline"],
});
