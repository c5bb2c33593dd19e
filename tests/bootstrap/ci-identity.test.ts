/**
 * The CI identity (bootstrap/): the component under Pulumi's mocks (what it creates, with
 * which documents), then those documents evaluated by @cloud-copilot/iam-simulate, boundary
 * included: the review/staging role can create the stack's roles only with the boundary, not
 * without it nor with another one, cannot touch other projects' resources nor production's,
 * cannot loosen its own trust or the boundary; roles created under the boundary can do the
 * pipeline's work and no IAM at all.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { expect } from "chai";
import { CiIdentity } from "../../bootstrap/ci-identity";
import { boundaryPolicy, deployPolicy, type PolicyDocument, trustPolicy } from "../../bootstrap/policies";
import type { PlannedResource } from "../../tools/plan/types";
import { type Resources, settled, startMocks } from "../components/helpers";

const ACCOUNT = "123456789012";
const REPO = "example-org/media-pipeline";
const T = {
  role: "aws:iam/role:Role",
  policy: "aws:iam/policy:Policy",
  oidc: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
};

type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

async function decide(req: {
  identity: PolicyDocument;
  boundary?: PolicyDocument;
  action: string;
  resource: string;
  principal?: string;
  context?: Record<string, string | string[]>;
}): Promise<Decision> {
  const result = await runSimulation(
    {
      identityPolicies: [{ name: "identity", policy: req.identity }],
      permissionBoundaryPolicies: req.boundary ? [{ name: "boundary", policy: req.boundary }] : undefined,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        principal: req.principal ?? `arn:aws:iam::${ACCOUNT}:role/mp-ci-review`,
        action: req.action,
        resource: { resource: req.resource, accountId: ACCOUNT },
        contextVariables: { "aws:SecureTransport": "true", ...req.context },
      },
    },
    {},
  );
  if (result.resultType === "error") throw new Error(`iam-simulate: ${JSON.stringify(result.errors)}`);
  return result.overallResult as Decision;
}

const inputs = (r: PlannedResource) => r.inputs as Record<string, unknown>;

describe("bootstrap: the CI identity", () => {
  let res: Resources;
  let review: PlannedResource;
  let production: PlannedResource;
  let boundaryArn: string;
  let reviewPolicy: PolicyDocument;
  let productionPolicy: PolicyDocument;
  let stackBoundary: PolicyDocument;
  let deployBoundary: PolicyDocument;

  before(async () => {
    await startMocks();
    new CiIdentity("ci", {
      accountId: ACCOUNT,
      repository: REPO,
      stateBucket: "s3://example-pulumi-state/media-pipeline",
    });
    res = await settled();
    review = res.one(T.role, "-review");
    production = res.one(T.role, "-production");
    const boundary = res.all.find((r) => r.type === T.policy && inputs(r).name === "mp-permissions-boundary");
    const deploy = res.all.find((r) => r.type === T.policy && inputs(r).name === "mp-ci-deploy-boundary");
    if (!boundary || !deploy) throw new Error("the boundaries are missing");
    boundaryArn = boundary.state.arn as string;
    stackBoundary = JSON.parse(inputs(boundary).policy as string);
    deployBoundary = JSON.parse(inputs(deploy).policy as string);
    const inline = (r: PlannedResource) =>
      JSON.parse((inputs(r).inlinePolicies as { policy: string }[])[0].policy) as PolicyDocument;
    reviewPolicy = inline(review);
    productionPolicy = inline(production);
  });

  it("creates GitHub's OIDC provider, a boundary, and two deploy roles that carry a boundary themselves", () => {
    expect(inputs(res.one(T.oidc))).to.deep.include({
      url: "https://token.actions.githubusercontent.com",
      clientIdLists: ["sts.amazonaws.com"],
    });
    for (const role of [review, production]) {
      expect(inputs(role).permissionsBoundary, role.name)
        .to.be.a("string")
        .and.match(/ci-deploy-boundary/);
    }
    expect(reviewPolicy).to.deep.equal(
      deployPolicy({
        accountId: ACCOUNT,
        namePrefix: "mp-",
        projectTag: "media-pipeline",
        boundaryArn,
        stateBucket: "s3://example-pulumi-state/media-pipeline",
        excludedNamePrefixes: ["mp-prod-"],
        excludedEnvironments: ["prod"],
      }),
    );
  });

  it("trusts only this repository's pull requests and environments (review/staging), production only from its environment", () => {
    const trust = (r: PlannedResource) => JSON.parse(inputs(r).assumeRolePolicy as string) as PolicyDocument;
    const subs = (r: PlannedResource) =>
      trust(r).Statement[0].Condition?.StringEquals["token.actions.githubusercontent.com:sub"];
    expect(subs(review)).to.deep.equal([
      `repo:${REPO}:pull_request`,
      `repo:${REPO}:environment:review`,
      `repo:${REPO}:environment:staging`,
    ]);
    expect(subs(production)).to.deep.equal([`repo:${REPO}:environment:production`]);
    expect(trust(review).Statement[0].Condition?.StringEquals["token.actions.githubusercontent.com:aud"]).to.equal(
      "sts.amazonaws.com",
    );
  });

  it("never allows iam:* (or *) on *", () => {
    for (const doc of [reviewPolicy, productionPolicy, stackBoundary]) {
      for (const s of doc.Statement.filter((st) => st.Effect === "Allow")) {
        const actions = ([] as string[]).concat(s.Action);
        const resources = ([] as string[]).concat(s.Resource ?? []);
        const wildcard = actions.some((a) => a === "*" || a === "iam:*");
        expect(wildcard && resources.includes("*"), JSON.stringify(s)).to.equal(false);
      }
    }
  });

  describe("the review/staging role (iam-simulate, with its own boundary)", () => {
    const as = (action: string, resource: string, context?: Record<string, string | string[]>) =>
      decide({ identity: reviewPolicy, boundary: deployBoundary, action, resource, context });
    const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

    it("can create the stack's roles with the boundary", async () => {
      expect(
        await as("iam:CreateRole", role("mp-pr-42-extractor-role-1a2b3c"), { "iam:PermissionsBoundary": boundaryArn }),
      ).to.equal("Allowed");
      expect(
        await as("iam:PutRolePolicy", role("mp-pr-42-extractor-role-1a2b3c"), {
          "iam:PermissionsBoundary": boundaryArn,
        }),
      ).to.equal("Allowed");
      expect(
        await as("iam:PassRole", role("mp-staging-api-role-9f8e7d"), { "iam:PassedToService": "lambda.amazonaws.com" }),
      ).to.equal("Allowed");
    });

    it("cannot create one without the boundary, or with another boundary", async () => {
      expect(await as("iam:CreateRole", role("mp-pr-42-extractor-role-1a2b3c"))).to.not.equal("Allowed");
      expect(
        await as("iam:CreateRole", role("mp-pr-42-extractor-role-1a2b3c"), {
          "iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess",
        }),
      ).to.not.equal("Allowed");
      expect(await as("iam:DeleteRolePermissionsBoundary", role("mp-pr-42-extractor-role-1a2b3c"))).to.equal(
        "ExplicitlyDenied",
      );
      expect(await as("iam:CreatePolicyVersion", boundaryArn)).to.equal("ExplicitlyDenied");
    });

    it("cannot touch other projects' resources, nor production's", async () => {
      for (const [action, resource, context] of [
        ["iam:CreateRole", role("other-app-role"), { "iam:PermissionsBoundary": boundaryArn }],
        ["s3:DeleteBucket", "arn:aws:s3:::other-team-data", {}],
        ["s3:GetObject", "arn:aws:s3:::other-team-data/secrets.csv", {}],
        ["dynamodb:DeleteTable", `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/orders`, {}],
        ["lambda:UpdateFunctionCode", `arn:aws:lambda:us-east-1:${ACCOUNT}:function:billing`, {}],
        ["s3:DeleteBucket", "arn:aws:s3:::mp-prod-ingest-1a2b3c", {}],
        ["lambda:UpdateFunctionCode", `arn:aws:lambda:us-east-1:${ACCOUNT}:function:mp-prod-extractor-1a2b3c`, {}],
        ["iam:PutRolePolicy", role("mp-prod-extractor-role-1a2b3c"), { "iam:PermissionsBoundary": boundaryArn }],
        [
          "cognito-idp:AdminCreateUser",
          `arn:aws:cognito-idp:us-east-1:${ACCOUNT}:userpool/us-east-1_abc`,
          { "aws:ResourceTag/Project": "billing" },
        ],
      ] as [string, string, Record<string, string>][]) {
        expect(await as(action, resource, context), `${action} ${resource}`).to.not.equal("Allowed");
      }
    });

    it("can manage the review and staging stacks' resources", async () => {
      expect(await as("s3:CreateBucket", "arn:aws:s3:::mp-pr-42-ingest-1a2b3c")).to.equal("Allowed");
      expect(
        await as("dynamodb:CreateTable", `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/mp-staging-metadata-1a2b`),
      ).to.equal("Allowed");
      expect(
        await as("lambda:CreateFunction", `arn:aws:lambda:us-east-1:${ACCOUNT}:function:mp-pr-42-extractor-1a2b`),
      ).to.equal("Allowed");
      expect(
        await as("cognito-idp:AdminCreateUser", `arn:aws:cognito-idp:us-east-1:${ACCOUNT}:userpool/us-east-1_abc`, {
          "aws:ResourceTag/Project": "media-pipeline",
          "aws:ResourceTag/Environment": "pr-42",
        }),
      ).to.equal("Allowed");
      expect(
        await as("s3:PutObject", "arn:aws:s3:::example-pulumi-state/media-pipeline/.pulumi/stacks/pr-42.json"),
      ).to.equal("Allowed");
    });

    it("cannot loosen its own trust or policies", async () => {
      expect(await as("iam:UpdateAssumeRolePolicy", role("mp-ci-review"))).to.equal("ExplicitlyDenied");
      expect(await as("iam:PutRolePolicy", role("mp-ci-review"), { "iam:PermissionsBoundary": boundaryArn })).to.equal(
        "ExplicitlyDenied",
      );
      expect(
        await as("iam:AttachRolePolicy", role("mp-ci-production"), { "iam:PermissionsBoundary": boundaryArn }),
      ).to.equal("ExplicitlyDenied");
    });
  });

  it("the production role manages production's resources only", async () => {
    const as = (action: string, resource: string, context?: Record<string, string>) =>
      decide({
        identity: productionPolicy,
        boundary: deployBoundary,
        action,
        resource,
        context,
        principal: `arn:aws:iam::${ACCOUNT}:role/mp-ci-production`,
      });
    expect(await as("s3:CreateBucket", "arn:aws:s3:::mp-prod-ingest-1a2b3c")).to.equal("Allowed");
    expect(await as("s3:CreateBucket", "arn:aws:s3:::mp-staging-ingest-1a2b3c")).to.not.equal("Allowed");
    expect(
      await as("iam:CreateRole", `arn:aws:iam::${ACCOUNT}:role/mp-prod-api-role-1a2b`, {
        "iam:PermissionsBoundary": boundaryArn,
      }),
    ).to.equal("Allowed");
    expect(await as("iam:CreateRole", `arn:aws:iam::${ACCOUNT}:role/mp-prod-api-role-1a2b`)).to.not.equal("Allowed");
  });

  it("a role created under the boundary does the pipeline's work and no IAM, even with a policy of *", async () => {
    const everything: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
    };
    const as = (action: string, resource: string) =>
      decide({
        identity: everything,
        boundary: stackBoundary,
        action,
        resource,
        principal: `arn:aws:iam::${ACCOUNT}:role/mp-pr-42-extractor-role`,
      });
    expect(await as("s3:GetObject", "arn:aws:s3:::mp-pr-42-ingest-1a2b3c/uploads/clip.mp4")).to.equal("Allowed");
    expect(await as("dynamodb:PutItem", `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/mp-pr-42-metadata`)).to.equal(
      "Allowed",
    );
    expect(await as("iam:CreateRole", `arn:aws:iam::${ACCOUNT}:role/mp-anything`)).to.equal("ExplicitlyDenied");
    expect(await as("iam:PassRole", `arn:aws:iam::${ACCOUNT}:role/mp-ci-production`)).to.equal("ExplicitlyDenied");
    expect(await as("s3:GetObject", "arn:aws:s3:::other-team-data/secrets.csv")).to.not.equal("Allowed");
  });

  it("boundaryPolicy and trustPolicy are what the component attached", () => {
    expect(stackBoundary).to.deep.equal(
      boundaryPolicy({ accountId: ACCOUNT, namePrefix: "mp-", projectTag: "media-pipeline" }),
    );
    expect(JSON.parse(inputs(production).assumeRolePolicy as string)).to.deep.equal(
      trustPolicy({ accountId: ACCOUNT, repository: REPO, subjects: ["environment:production"] }),
    );
  });
});
