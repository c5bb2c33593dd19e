/**
 * The CI identity program (bootstrap/Pulumi.yaml): `cd bootstrap && pulumi up` once per AWS
 * account, by someone allowed to create IAM roles. Its outputs are what docs/ci.md puts into
 * the GitHub repository's variables (AWS_REVIEW_ROLE_ARN, AWS_PRODUCTION_ROLE_ARN) and into each
 * stack's config (media-pipeline:permissionsBoundaryArn).
 */
import * as pulumi from "@pulumi/pulumi";
import { CiIdentity } from "./ci-identity";

const config = new pulumi.Config();

const identity = new CiIdentity("media-pipeline-ci", {
  // The account is configuration, not looked up: the documents are then known at preview.
  accountId: config.require("accountId"),
  repository: config.require("repository"),
  existingOidcProviderArn: config.get("existingOidcProviderArn") || undefined,
  stateBucket: config.get("stateBucket") || undefined,
  productionStack: config.get("productionStack") || undefined,
});

export const oidcProviderArn = identity.oidcProviderArn;
export const permissionsBoundaryArn = identity.boundary.arn;
export const reviewRoleArn = identity.reviewRole.arn;
export const productionRoleArn = identity.productionRole.arn;
