import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { MetadataApi } from "../../components/metadata-api";
import { MANAGED_LOGIN_VERSION, UserDirectory } from "../../components/user-directory";
import { PROJECT_NAME } from "../../lib/naming";
import { promiseOf, settled, startMocks, T, TEST_STACK, testCode } from "./helpers";

const COGNITO = [T.userPool, T.resourceServer, T.userPoolClient, T.userPoolDomain];

describe("UserDirectory", () => {
  beforeEach(startMocks);

  it("holds the pool, the API's scopes, the dashboard client (callbacks of each origin) and the sign-in domain", async () => {
    const users = new UserDirectory("auth", {
      origins: ["https://d1.cloudfront.net", "http://localhost:5173"],
      deletionProtection: true,
      protect: true,
    });
    const res = await settled();
    const component = res.one("media-pipeline:auth:UserDirectory");
    for (const type of COGNITO) expect(res.one(type).parent, type).to.equal(component.urn);
    const pool = res.one(T.userPool);
    expect(pool.inputs.deletionProtection).to.equal("ACTIVE");
    expect(pool.options).to.deep.include({ protect: true, retainOnDelete: true });
    // Only the pool holds users: the other resources can be replaced without losing any.
    for (const type of [T.resourceServer, T.userPoolClient, T.userPoolDomain])
      expect(res.one(type).options?.protect, type).to.equal(false);
    expect(res.one(T.userPoolClient).inputs.callbackUrls).to.deep.equal([
      "https://d1.cloudfront.net/",
      "http://localhost:5173/",
    ]);
    expect(res.one(T.userPoolDomain).inputs).to.deep.include({ managedLoginVersion: MANAGED_LOGIN_VERSION });
    expect(await promiseOf(users.issuer)).to.equal(`https://${pool.state.endpoint}`);
    // Nothing was created elsewhere before: no aliases.
    for (const type of COGNITO) expect(res.one(type).aliases, type).to.deep.equal([]);
  });

  it("in MetadataApi, each Cognito resource aliases the URN it had as MetadataApi's own child", async () => {
    new MetadataApi("api", {
      table: { name: "docs", arn: "arn:aws:dynamodb:us-east-1:123456789012:table/docs", listIndexArn: "x" },
      ingestBucket: { name: "in", arn: "arn:aws:s3:::in" },
      metadataBucket: { name: "meta", arn: "arn:aws:s3:::meta" },
      dashboardUrl: "https://d1.cloudfront.net",
      architecture: "x86_64",
      throttle: { rateLimit: 10, burstLimit: 20 },
      logRetentionDays: 30,
      deletionProtection: false,
      code: testCode(),
    });
    const res = await settled();
    const api = res.one(T.api);
    const users = res.one("media-pipeline:auth:UserDirectory");
    expect(users.parent).to.equal(api.urn);
    const formerUrn = (type: string, name: string) =>
      `urn:pulumi:${TEST_STACK}::${PROJECT_NAME}::${T.api}$${type}::${name}`;
    for (const [type, name] of [
      [T.userPool, "api-users"],
      [T.resourceServer, "api-scopes"],
      [T.userPoolClient, "api-dashboard-client"],
      [T.userPoolDomain, "api-auth-domain"],
    ] as const) {
      const r = res.one(type);
      expect(r.name, type).to.equal(name);
      expect(r.parent, type).to.equal(users.urn);
      expect(r.aliases, type).to.deep.equal([formerUrn(type, name)]);
    }
    // The alias names a URN nothing else now claims.
    const claimed = res.all.map((r) => r.urn);
    for (const type of COGNITO) expect(claimed).to.not.include(res.one(type).aliases[0]);
  });

  it("aliases to whatever parent it is given, as the parent its resources had before", async () => {
    const owner = new pulumi.ComponentResource("test:index:Owner", "owner");
    new UserDirectory("owner", { origins: ["https://x.example"], deletionProtection: false }, { parent: owner });
    const res = await settled();
    expect(res.one(T.userPool).aliases).to.deep.equal([
      `urn:pulumi:${TEST_STACK}::${PROJECT_NAME}::test:index:Owner$${T.userPool}::owner-users`,
    ]);
  });
});
