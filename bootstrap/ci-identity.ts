/**
 * CiIdentity: what GitHub Actions needs to deploy media-pipeline into an AWS account without
 * long-lived keys. Created once per account by a person with IAM rights (`bootstrap/`,
 * docs/ci.md), separately from the pipeline's stacks:
 *
 * - GitHub's OIDC provider (or the account's existing one, by ARN);
 * - the permissions boundary every role of the pipeline must carry;
 * - a review/staging deploy role (pull requests, the `review` and `staging` environments),
 *   kept off the production stack's resources;
 * - a production deploy role, assumable only from the `production` environment (which has
 *   required reviewers in GitHub).
 * The documents are built in bootstrap/policies.ts and proven with the IAM simulator in
 * tests/bootstrap/ci-identity.test.ts.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { boundaryPolicy, deployPolicy, GITHUB_OIDC_HOST, trustPolicy } from "./policies";

export interface CiIdentityArgs {
  /** The AWS account id (ARNs in the documents are built from it). */
  accountId: string;
  /** "owner/name" of the GitHub repository whose workflows may deploy. */
  repository: string;
  /** Physical-name prefix of the pipeline's resources (default "mp-", lib/naming.ts). */
  namePrefix?: string;
  /** Stack whose resources only the production role may touch (default "prod"). */
  productionStack?: string;
  /** The Project tag value (default "media-pipeline", lib/naming.ts PROJECT_NAME). */
  projectTag?: string;
  /** ARN of an existing GitHub OIDC provider in the account; by default one is created (one per account). */
  existingOidcProviderArn?: string;
  /** Self-managed Pulumi backend, s3://bucket/prefix, that the roles may read and write. */
  stateBucket?: string;
  /** Longest session, in seconds (default 3600: a review stack's up + smoke fits). */
  maxSessionSeconds?: number;
  tags?: Record<string, string>;
}

export class CiIdentity extends pulumi.ComponentResource {
  public readonly oidcProviderArn: pulumi.Output<string>;
  public readonly boundary: aws.iam.Policy;
  /** Role for pull-request previews, review stacks and staging. */
  public readonly reviewRole: aws.iam.Role;
  /** Role for the production stack (environment `production` only). */
  public readonly productionRole: aws.iam.Role;

  constructor(name: string, args: CiIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:bootstrap:CiIdentity", name, {}, opts);
    const namePrefix = args.namePrefix ?? "mp-";
    const projectTag = args.projectTag ?? "media-pipeline";
    const prodPrefix = `${namePrefix}${args.productionStack ?? "prod"}-`;
    const scope = { accountId: args.accountId, namePrefix, projectTag };
    const tags = { Project: projectTag, ...args.tags };

    if (args.existingOidcProviderArn) {
      this.oidcProviderArn = pulumi.output(args.existingOidcProviderArn);
    } else {
      // IAM no longer needs the thumbprint for this provider, but the API still requires the field.
      const provider = new aws.iam.OpenIdConnectProvider(
        `${name}-github`,
        { url: `https://${GITHUB_OIDC_HOST}`, clientIdLists: ["sts.amazonaws.com"], tags },
        { parent: this },
      );
      this.oidcProviderArn = provider.arn;
    }

    // A fixed name: the deploy policy refers to it by ARN, and stacks set it as config.
    this.boundary = new aws.iam.Policy(
      `${name}-boundary`,
      {
        name: `${namePrefix}permissions-boundary`,
        description: "Ceiling of every role media-pipeline stacks create (set by the CI deploy roles).",
        policy: JSON.stringify(boundaryPolicy(scope)),
        tags,
      },
      { parent: this },
    );

    const role = (suffix: string, subjects: string[], excluded: boolean) =>
      new aws.iam.Role(
        `${name}-${suffix}`,
        {
          name: `${namePrefix}ci-${suffix}`,
          description: `GitHub Actions (${args.repository}) deploying media-pipeline: ${subjects.join(", ")}`,
          assumeRolePolicy: JSON.stringify(
            trustPolicy({ accountId: args.accountId, repository: args.repository, subjects }),
          ),
          maxSessionDuration: args.maxSessionSeconds ?? 3600,
          // The deploy role itself carries the boundary too: it cannot shed it.
          permissionsBoundary: this.boundaryForDeployRoles(name, args, namePrefix).arn,
          inlinePolicies: [
            {
              name: "deploy",
              policy: this.boundary.arn.apply((boundaryArn) =>
                JSON.stringify(
                  deployPolicy({
                    ...scope,
                    namePrefix: excluded ? namePrefix : prodPrefix,
                    boundaryArn,
                    stateBucket: args.stateBucket,
                    excludedNamePrefixes: excluded ? [prodPrefix] : [],
                    excludedEnvironments: excluded ? [args.productionStack ?? "prod"] : [],
                  }),
                ),
              ),
            },
          ],
          tags,
        },
        { parent: this },
      );
    this.reviewRole = role("review", ["pull_request", "environment:review", "environment:staging"], true);
    this.productionRole = role("production", [`environment:production`], false);

    this.registerOutputs({
      oidcProviderArn: this.oidcProviderArn,
      boundaryArn: this.boundary.arn,
      reviewRoleArn: this.reviewRole.arn,
      productionRoleArn: this.productionRole.arn,
    });
  }

  private deployBoundary?: aws.iam.Policy;

  /**
   * The boundary of the deploy roles themselves: everything their own policy may grant
   * (so it takes nothing away), minus IAM beyond the project's roles. A deploy role that
   * somehow got a broader policy attached still could not touch other IAM.
   */
  private boundaryForDeployRoles(name: string, args: CiIdentityArgs, namePrefix: string): aws.iam.Policy {
    this.deployBoundary ??= new aws.iam.Policy(
      `${name}-deploy-boundary`,
      {
        name: `${namePrefix}ci-deploy-boundary`,
        description: "Ceiling of the media-pipeline CI deploy roles.",
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Sid: "NotIam", Effect: "Allow", NotAction: "iam:*", Resource: "*" },
            {
              Sid: "ProjectRolesAndPolicyReads",
              Effect: "Allow",
              Action: "iam:*",
              Resource: [
                `arn:aws:iam::${args.accountId}:role/${namePrefix}*`,
                `arn:aws:iam::${args.accountId}:policy/*`,
              ],
            },
            {
              Sid: "NotTheCiIdentity",
              Effect: "Deny",
              NotAction: ["iam:Get*", "iam:List*"],
              Resource: [
                `arn:aws:iam::${args.accountId}:role/${namePrefix}ci-*`,
                `arn:aws:iam::${args.accountId}:policy/${namePrefix}*`,
                `arn:aws:iam::${args.accountId}:oidc-provider/*`,
              ],
            },
          ],
        }),
        tags: { Project: args.projectTag ?? "media-pipeline", ...args.tags },
      },
      { parent: this },
    );
    return this.deployBoundary;
  }
}
