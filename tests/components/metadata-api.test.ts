import { expect } from "chai";
import { API_GATEWAY_ROUTES, MetadataApi, type MetadataApiArgs, routeSlug } from "../../components/metadata-api";
import { cognitoDomainPrefix } from "../../components/user-directory";
import { API_SCOPES, DASHBOARD_SCOPES, RESOURCE_SERVER_IDENTIFIER } from "../../lib/auth";
import { ENV } from "../../lib/runtime-env";
import { policyOf, promiseOf, settled, startMocks, statement, T, testCode } from "./helpers";

const DASHBOARD = "https://d111111abcdef8.cloudfront.net";
const TABLE = {
  name: "docs",
  arn: "arn:aws:dynamodb:us-east-1:123456789012:table/docs",
  listIndexArn: "arn:aws:dynamodb:us-east-1:123456789012:table/docs/index/byProcessedAt",
};

function apiArgs(overrides: Partial<MetadataApiArgs> = {}): MetadataApiArgs {
  return {
    table: TABLE,
    ingestBucket: { name: "ingest-bucket", arn: "arn:aws:s3:::ingest-bucket" },
    metadataBucket: { name: "metadata-bucket", arn: "arn:aws:s3:::metadata-bucket" },
    dashboardUrl: DASHBOARD,
    extraOrigins: ["http://localhost:5173"],
    architecture: "x86_64",
    throttle: { rateLimit: 10, burstLimit: 20 },
    logRetentionDays: 30,
    deletionProtection: false,
    code: testCode(),
    ...overrides,
  };
}

describe("MetadataApi", () => {
  beforeEach(startMocks);

  it("routes GET /files, GET /files/{key+} and POST /uploads through the JWT authorizer with their scopes; GET /health is public", async () => {
    new MetadataApi("api", apiArgs());
    const res = await settled();
    const api = res.one(T.httpApi);
    const authorizer = res.one(T.authorizer);
    const integration = res.one(T.integration);
    const routes = new Map(res.ofType(T.route).map((r) => [r.inputs.routeKey as string, r]));
    expect([...routes.keys()]).to.have.members([
      "GET /health",
      "GET /files",
      "GET /files/{key+}",
      "GET /stats",
      "POST /uploads",
    ]);
    for (const route of routes.values()) {
      expect(route.inputs.apiId).to.equal(api.id);
      expect(route.inputs.target).to.equal(`integrations/${integration.id}`);
    }
    expect(routes.get("GET /health")?.inputs).to.include({ authorizationType: "NONE" });
    expect(routes.get("GET /health")?.inputs.authorizerId).to.equal(undefined);
    for (const [key, scope] of [
      ["GET /files", API_SCOPES.read],
      ["GET /files/{key+}", API_SCOPES.read],
      ["POST /uploads", API_SCOPES.upload],
    ] as const) {
      expect(routes.get(key)?.inputs, key).to.deep.include({
        authorizationType: "JWT",
        authorizerId: authorizer.id,
        authorizationScopes: [scope],
      });
    }
  });

  it("validates tokens of the Cognito pool for the dashboard's public app client (code flow + PKCE, no secret)", async () => {
    const component = new MetadataApi("api", apiArgs());
    const res = await settled();
    const pool = res.one(T.userPool);
    const client = res.one(T.userPoolClient);
    const authorizer = res.one(T.authorizer);
    expect(authorizer.inputs).to.deep.include({ authorizerType: "JWT" });
    expect(authorizer.inputs.identitySources).to.deep.equal(["$request.header.Authorization"]);
    expect(authorizer.inputs.jwtConfiguration).to.deep.equal({
      issuer: `https://cognito-idp.us-east-1.amazonaws.com/${pool.id}`,
      audiences: [client.id],
    });
    expect(await promiseOf(component.issuer)).to.equal(`https://${pool.state.endpoint}`);

    expect(client.inputs).to.deep.include({
      userPoolId: pool.id,
      generateSecret: false,
      allowedOauthFlowsUserPoolClient: true,
    });
    expect(client.inputs.allowedOauthFlows).to.deep.equal(["code"]);
    expect(client.inputs.allowedOauthScopes).to.deep.equal([...DASHBOARD_SCOPES]);
    expect(client.inputs.callbackUrls).to.deep.equal([`${DASHBOARD}/`, "http://localhost:5173/"]);
    expect(client.inputs.supportedIdentityProviders).to.deep.equal(["COGNITO"]);
    expect(client.dependencies).to.include(res.one(T.resourceServer).urn);

    const server = res.one(T.resourceServer);
    expect(server.inputs.identifier).to.equal(RESOURCE_SERVER_IDENTIFIER);
    expect(
      (server.inputs.scopes as { scopeName: string }[]).map((s) => `${RESOURCE_SERVER_IDENTIFIER}/${s.scopeName}`),
    ).to.have.members(Object.values(API_SCOPES));

    expect(pool.inputs).to.deep.include({ deletionProtection: "INACTIVE" });
    expect(pool.inputs.adminCreateUserConfig).to.deep.equal({ allowAdminCreateUserOnly: true });
    const domain = res.one(T.userPoolDomain);
    expect(domain.inputs.domain).to.match(/^api-[0-9a-f]{10}$/);
    expect(await promiseOf(component.authDomainUrl)).to.equal(
      `https://${domain.inputs.domain}.auth.us-east-1.amazoncognito.com`,
    );
  });

  it("protects the user pool from deletion when asked", async () => {
    new MetadataApi("api", apiArgs({ deletionProtection: true }));
    expect((await settled()).one(T.userPool).inputs.deletionProtection).to.equal("ACTIVE");
  });

  it("throttles, access-logs and allows the dashboard's origin; only this API may invoke the function", async () => {
    new MetadataApi("api", apiArgs());
    const res = await settled();
    const api = res.one(T.httpApi);
    expect(api.inputs.protocolType).to.equal("HTTP");
    expect((api.inputs.corsConfiguration as { allowOrigins: string[] }).allowOrigins).to.deep.equal([
      DASHBOARD,
      "http://localhost:5173",
    ]);
    const stage = res.one(T.stage);
    expect(stage.inputs).to.deep.include({ name: "$default", autoDeploy: true });
    expect(stage.inputs.defaultRouteSettings).to.deep.equal({ throttlingRateLimit: 10, throttlingBurstLimit: 20 });
    const access = stage.inputs.accessLogSettings as { destinationArn: string; format: string };
    expect(access.destinationArn).to.equal(res.one(T.logGroup, "-access-logs").state.arn);
    expect(JSON.parse(access.format)).to.include({ requestId: "$context.requestId", status: "$context.status" });

    const fn = res.one(T.function);
    const integration = res.one(T.integration);
    expect(integration.inputs).to.deep.include({
      integrationType: "AWS_PROXY",
      integrationUri: fn.state.invokeArn,
      payloadFormatVersion: "2.0",
    });
    const permission = res.one(T.permission);
    expect(permission.inputs).to.deep.include({
      action: "lambda:InvokeFunction",
      function: fn.state.name,
      principal: "apigateway.amazonaws.com",
      sourceArn: `${api.state.executionArn}/*/*`,
    });
    const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    expect(env).to.deep.include({
      [ENV.tableName]: "docs",
      [ENV.metadataBucket]: "metadata-bucket",
      [ENV.ingestBucket]: "ingest-bucket",
      [ENV.serviceName]: "api",
    });
    expect(fn.inputs.tracingConfig).to.deep.equal({ mode: "Active" });
    expect(fn.inputs.reservedConcurrentExecutions).to.equal(-1);
  });

  it("grants the function only its reads, its presigned links and its upload prefix", async () => {
    new MetadataApi("api", apiArgs());
    const res = await settled();
    const policy = policyOf(res.one(T.rolePolicy));
    expect(statement(policy, "ListNewestFirst")).to.deep.include({
      Action: "dynamodb:Query",
      Resource: TABLE.listIndexArn,
    });
    expect(statement(policy, "ReadOneDocument")).to.deep.include({ Action: "dynamodb:GetItem", Resource: TABLE.arn });
    expect(statement(policy, "PresignRawMetadataLinks")).to.deep.include({
      Action: "s3:GetObject",
      Resource: "arn:aws:s3:::metadata-bucket/ffprobe/*",
    });
    expect(statement(policy, "PresignUploads")).to.deep.include({
      Action: "s3:PutObject",
      Resource: "arn:aws:s3:::ingest-bucket/uploads/*",
    });
    expect(statement(policy, "ReadCursorSecret")).to.deep.include({
      Action: "ssm:GetParameter",
      Resource: res.one("aws:ssm/parameter:Parameter").state.arn,
    });
    expect(policy.Statement).to.have.length(7);
  });

  it("creates exactly the routes of the handler's ROUTE_TABLE, with its scopes", async () => {
    const { ROUTE_TABLE } = await import("../../lib/api-routes");
    new MetadataApi("api", apiArgs());
    const routes = (await settled()).ofType(T.route);
    expect(routes.map((r) => r.inputs.routeKey)).to.have.members(ROUTE_TABLE.map((r) => r.routeKey));
    for (const declared of ROUTE_TABLE) {
      const route = routes.find((r) => r.inputs.routeKey === declared.routeKey);
      expect(route?.inputs.authorizationType, declared.routeKey).to.equal(declared.public ? "NONE" : "JWT");
      if (!declared.public)
        expect(route?.inputs.authorizationScopes, declared.routeKey).to.deep.equal([...declared.scopes]);
    }
    expect(API_GATEWAY_ROUTES).to.equal(ROUTE_TABLE);
  });

  it("keeps the cursor secret in an SSM SecureString, not in the function's environment", async () => {
    new MetadataApi("api", apiArgs());
    let res = await settled();
    const generated = res.one("random:index/randomPassword:RandomPassword");
    expect(generated.parent).to.equal(res.one(T.api).urn);
    expect(generated.inputs).to.deep.include({ length: 48, special: false });
    const parameter = () => res.one("aws:ssm/parameter:Parameter");
    expect(parameter().inputs).to.deep.include({ type: "SecureString", value: "[secret]", name: "/api/cursor-secret" });
    const env = () => (res.one(T.function).inputs.environment as { variables: Record<string, string> }).variables;
    expect(env()[ENV.cursorSecretParameter]).to.equal(parameter().state.name);
    expect(env(), "no secret value in the environment").to.not.have.property(ENV.cursorSecret);

    await startMocks();
    new MetadataApi("api2", apiArgs({ cursorSecret: "x".repeat(40) }));
    res = await settled();
    expect(res.ofType("random:index/randomPassword:RandomPassword")).to.have.length(0);
    expect(parameter().inputs.value).to.equal("[secret]");
    expect(env()).to.not.have.property(ENV.cursorSecret);
  });

  it("protects and retains the user pool when asked, pins the managed-login version, and can send through SES", async () => {
    new MetadataApi("api", apiArgs());
    let res = await settled();
    expect(res.one(T.userPool).options).to.deep.include({ protect: false, retainOnDelete: false });
    expect(res.one(T.userPool).inputs.emailConfiguration).to.equal(undefined);
    expect(res.one(T.userPoolDomain).inputs.managedLoginVersion).to.equal(1);
    expect(res.one(T.function).options?.ignoreChanges).to.deep.equal(["reservedConcurrentExecutions"]);

    await startMocks();
    const sesIdentityArn = "arn:aws:ses:us-east-1:123456789012:identity/example.com";
    new MetadataApi(
      "api",
      apiArgs({ protect: true, invitationSender: { sesIdentityArn, fromAddress: "media@example.com" } }),
    );
    res = await settled();
    expect(res.one(T.userPool).options).to.deep.include({ protect: true, retainOnDelete: true });
    expect(res.one(T.userPool).inputs.emailConfiguration).to.deep.equal({
      emailSendingAccount: "DEVELOPER",
      sourceArn: sesIdentityArn,
      fromEmailAddress: "media@example.com",
    });
  });

  it("names routes and the sign-in domain safely", () => {
    expect(routeSlug("GET /files/{key+}")).to.equal("get-files-key");
    expect(cognitoDomainPrefix("MP_dev-AWS-Cognito-api")).to.equal("mp-dev-api");
    expect(cognitoDomainPrefix("aws")).to.equal("media");
  });
});
