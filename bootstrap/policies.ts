/**
 * The CI identity's IAM documents, as plain functions (tests/bootstrap evaluates them with
 * @cloud-copilot/iam-simulate; bootstrap/ci-identity.ts attaches them):
 *
 * - trustPolicy: who may assume a deploy role: GitHub's OIDC tokens for one repository, with
 *   audience sts.amazonaws.com and a `sub` naming the pull-request context or a GitHub
 *   environment (a job with `environment: staging` gets `repo:OWNER/REPO:environment:staging`).
 *   https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services
 * - deployPolicy: what a deploy role may do: the pipeline's services on resources NAMED for
 *   this project (`mp-<stack>-...`, lib/naming.ts resourceName) or, where AWS names resources
 *   by id (API Gateway, Cognito, CloudFront), TAGGED for it (Project=media-pipeline); IAM
 *   roles only under that name AND only with the permissions boundary (the condition key
 *   iam:PermissionsBoundary on CreateRole, Put/AttachRolePolicy, PutRolePermissionsBoundary:
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html); never
 *   iam:* on *. The review/staging role is also denied the production stack's resources.
 * - boundaryPolicy: the ceiling of every role the stack creates: the pipeline's services on
 *   the project's resources, and nothing of IAM, STS role-assumption or Organizations.
 */

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  /** Absent in a role's trust policy. */
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
  Principal?: Record<string, string | string[]>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

export interface ScopeArgs {
  accountId: string;
  /** Physical-name prefix of this project's resources ("mp-": lib/naming.ts resourceName). */
  namePrefix: string;
  /** Value of the Project tag on every resource (lib/tags.ts). */
  projectTag: string;
  /** Prefixes this role must not touch (the production stack's, for the review/staging role). */
  excludedNamePrefixes?: string[];
  /** Environment tag values this role must not touch ("prod" for the review/staging role). */
  excludedEnvironments?: string[];
}

/** ARN patterns of the project's named resources, per service. */
export function projectArns(a: Pick<ScopeArgs, "accountId" | "namePrefix">, prefix = a.namePrefix): string[] {
  const acct = a.accountId;
  const p = prefix;
  return [
    `arn:aws:s3:::${p}*`,
    `arn:aws:s3:::${p}*/*`,
    `arn:aws:dynamodb:*:${acct}:table/${p}*`,
    `arn:aws:sqs:*:${acct}:${p}*`,
    `arn:aws:sns:*:${acct}:${p}*`,
    `arn:aws:lambda:*:${acct}:function:${p}*`,
    `arn:aws:lambda:*:${acct}:layer:${p}*`,
    `arn:aws:logs:*:${acct}:log-group:/aws/lambda/${p}*`,
    `arn:aws:logs:*:${acct}:log-group:/aws/vendedlogs/states/${p}*`,
    `arn:aws:logs:*:${acct}:log-group:${p}*`,
    `arn:aws:states:*:${acct}:stateMachine:${p}*`,
    `arn:aws:states:*:${acct}:execution:${p}*`,
    `arn:aws:states:*:${acct}:mapRun:${p}*`,
    `arn:aws:cloudwatch::${acct}:dashboard/${p}*`,
    `arn:aws:cloudwatch:*:${acct}:alarm:${p}*`,
    `arn:aws:synthetics:*:${acct}:canary:${p}*`,
    `arn:aws:budgets::${acct}:budget/${p}*`,
  ];
}

/** The services the pipeline's resources belong to (their actions are scoped by projectArns). */
export const PIPELINE_SERVICES = [
  "s3:*",
  "dynamodb:*",
  "sqs:*",
  "sns:*",
  "lambda:*",
  "logs:*",
  "states:*",
  "cloudwatch:*",
  "synthetics:*",
  "budgets:*",
];

/** Services whose resources AWS names by id: scoped by the Project tag instead. */
export const TAGGED_SERVICES = ["apigateway:*", "cognito-idp:*", "cloudfront:*"];

/** Role-management actions that carry iam:PermissionsBoundary (only allowed with the boundary). */
export const BOUNDED_ROLE_ACTIONS = [
  "iam:CreateRole",
  "iam:PutRolePolicy",
  "iam:DeleteRolePolicy",
  "iam:AttachRolePolicy",
  "iam:DetachRolePolicy",
  "iam:PutRolePermissionsBoundary",
];

/** Other actions on the project's roles (read, tag, delete, pass to a service). */
export const ROLE_ACTIONS = [
  "iam:GetRole",
  "iam:GetRolePolicy",
  "iam:ListRolePolicies",
  "iam:ListAttachedRolePolicies",
  "iam:ListInstanceProfilesForRole",
  "iam:TagRole",
  "iam:UntagRole",
  "iam:UpdateRole",
  "iam:UpdateRoleDescription",
  "iam:UpdateAssumeRolePolicy",
  "iam:DeleteRole",
];

export interface DeployPolicyArgs extends ScopeArgs {
  /** ARN of the boundary every created role must carry. */
  boundaryArn: string;
  /** Self-managed Pulumi state: s3://<bucket>/<prefix> the role may read and write. */
  stateBucket?: string;
}

export function deployPolicy(a: DeployPolicyArgs): PolicyDocument {
  const roleArn = `arn:aws:iam::${a.accountId}:role/${a.namePrefix}*`;
  const statements: PolicyStatement[] = [
    { Sid: "ProjectResources", Effect: "Allow", Action: PIPELINE_SERVICES, Resource: projectArns(a) },
    {
      Sid: "CreateTaggedResources",
      Effect: "Allow",
      Action: TAGGED_SERVICES,
      Resource: "*",
      Condition: { StringEquals: { "aws:RequestTag/Project": a.projectTag } },
    },
    {
      Sid: "TaggedResources",
      Effect: "Allow",
      Action: TAGGED_SERVICES,
      Resource: "*",
      Condition: { StringEquals: { "aws:ResourceTag/Project": a.projectTag } },
    },
    {
      // Event source mappings are named by UUID; they are allowed for the project's functions.
      Sid: "EventSourceMappings",
      Effect: "Allow",
      Action: [
        "lambda:CreateEventSourceMapping",
        "lambda:GetEventSourceMapping",
        "lambda:UpdateEventSourceMapping",
        "lambda:DeleteEventSourceMapping",
        "lambda:ListEventSourceMappings",
      ],
      Resource: "*",
      Condition: { ArnLike: { "lambda:FunctionArn": `arn:aws:lambda:*:${a.accountId}:function:${a.namePrefix}*` } },
    },
    {
      Sid: "RolesOnlyWithTheBoundary",
      Effect: "Allow",
      Action: BOUNDED_ROLE_ACTIONS,
      Resource: roleArn,
      Condition: { StringEquals: { "iam:PermissionsBoundary": a.boundaryArn } },
    },
    { Sid: "ProjectRoles", Effect: "Allow", Action: ROLE_ACTIONS, Resource: roleArn },
    {
      Sid: "PassProjectRolesToThePipelineServices",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: roleArn,
      Condition: {
        StringEquals: {
          "iam:PassedToService": ["lambda.amazonaws.com", "states.amazonaws.com", "synthetics.amazonaws.com"],
        },
      },
    },
    {
      // Reads the engine needs that have no resource scope.
      Sid: "ReadOnlyUnscoped",
      Effect: "Allow",
      Action: [
        "sts:GetCallerIdentity",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "lambda:GetLayerVersion",
        "lambda:ListLayerVersions",
        "cloudfront:ListDistributions",
        "cloudfront:GetCachePolicy",
        "cloudfront:ListCachePolicies",
        "logs:DescribeLogGroups",
        "tag:GetResources",
      ],
      Resource: "*",
    },
    {
      Sid: "NoBoundaryRemoval",
      Effect: "Deny",
      Action: [
        "iam:DeleteRolePermissionsBoundary",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:DeletePolicy",
      ],
      Resource: "*",
    },
  ];
  for (const prefix of a.excludedNamePrefixes ?? []) {
    statements.push({
      Sid: `NotThe${sidPart(prefix)}Resources`,
      Effect: "Deny",
      Action: [...PIPELINE_SERVICES, "iam:*"],
      Resource: [...projectArns(a, prefix), `arn:aws:iam::${a.accountId}:role/${prefix}*`],
    });
  }
  if ((a.excludedEnvironments ?? []).length > 0) {
    statements.push({
      Sid: "NotTheExcludedEnvironments",
      Effect: "Deny",
      Action: TAGGED_SERVICES,
      Resource: "*",
      Condition: { StringEquals: { "aws:ResourceTag/Environment": a.excludedEnvironments as string[] } },
    });
  }
  if (a.stateBucket) {
    const [bucket, ...rest] = a.stateBucket.replace(/^s3:\/\//, "").split("/");
    const prefix = rest.join("/");
    statements.push(
      { Sid: "PulumiStateList", Effect: "Allow", Action: "s3:ListBucket", Resource: `arn:aws:s3:::${bucket}` },
      {
        Sid: "PulumiState",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        Resource: `arn:aws:s3:::${bucket}/${prefix ? `${prefix}/` : ""}*`,
      },
    );
  }
  return { Version: "2012-10-17", Statement: statements };
}

export function boundaryPolicy(a: Pick<ScopeArgs, "accountId" | "namePrefix" | "projectTag">): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ProjectResources", Effect: "Allow", Action: PIPELINE_SERVICES, Resource: projectArns(a) },
      {
        Sid: "TaggedResources",
        Effect: "Allow",
        Action: TAGGED_SERVICES,
        Resource: "*",
        Condition: { StringEquals: { "aws:ResourceTag/Project": a.projectTag } },
      },
      {
        // Metrics, traces and the kill switch's event source mapping (named by UUID).
        Sid: "Unscoped",
        Effect: "Allow",
        Action: [
          "cloudwatch:PutMetricData",
          "xray:PutTraceSegments",
          "xray:PutTelemetryRecords",
          "lambda:GetEventSourceMapping",
          "lambda:UpdateEventSourceMapping",
        ],
        Resource: "*",
      },
      {
        Sid: "NoEscalation",
        Effect: "Deny",
        Action: ["iam:*", "sts:AssumeRole", "organizations:*", "account:*"],
        Resource: "*",
      },
    ],
  };
}

export interface TrustArgs {
  accountId: string;
  /** "owner/name" of the GitHub repository. */
  repository: string;
  /** OIDC `sub` suffixes allowed: "pull_request", "environment:staging", "ref:refs/heads/main"... */
  subjects: string[];
}

export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

export function trustPolicy(a: TrustArgs): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: `arn:aws:iam::${a.accountId}:oidc-provider/${GITHUB_OIDC_HOST}` },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${GITHUB_OIDC_HOST}:aud`]: "sts.amazonaws.com",
            [`${GITHUB_OIDC_HOST}:sub`]: a.subjects.map((s) => `repo:${a.repository}:${s}`),
          },
        },
      },
    ],
  };
}

function sidPart(prefix: string): string {
  return prefix.replace(/[^A-Za-z0-9]/g, "").replace(/^./, (c) => c.toUpperCase());
}
