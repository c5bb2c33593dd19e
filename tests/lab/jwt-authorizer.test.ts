/**
 * The lab's stand-in for API Gateway's JWT authorizer (lab/auth/authorizer.ts) against a
 * local key set, and the gateway's handling of its decisions, CORS and the fallback
 * (the dashboard) over HTTP.
 */
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { expect } from "chai";
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type CryptoKey as JoseKey,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import {
  type ApiGateway,
  type AuthorizerDenial,
  type AuthorizerGrant,
  type GatewayRoute,
  startApiGateway,
} from "../../lab/api-gateway";
import { apiGatewayClaims, createJwtAuthorizer } from "../../lab/auth/authorizer";

const ISSUER = "https://issuer.example";
const CLIENT = "dashboard-client";
const READ = "media-pipeline/files.read";
const UPLOAD = "media-pipeline/files.upload";
const NOW = new Date("2026-06-01T12:00:00Z");
const now = Math.floor(NOW.getTime() / 1000);

const noop = async () => ({ statusCode: 200, body: "ok" });
const readRoute: GatewayRoute = { routeKey: "GET /files", public: false, scopes: [READ], handler: noop };
const uploadRoute: GatewayRoute = { routeKey: "POST /uploads", public: false, scopes: [UPLOAD], handler: noop };
const anyTokenRoute: GatewayRoute = { routeKey: "GET /me", public: false, handler: noop };

function eventWith(authorization?: string): APIGatewayProxyEventV2 {
  return { headers: authorization ? { authorization } : {} } as unknown as APIGatewayProxyEventV2;
}

describe("lab JWT authorizer (API Gateway's checks)", () => {
  let key: JoseKey;
  let otherKey: JoseKey;
  let publicJwk: JWK;
  let authorize: ReturnType<typeof createJwtAuthorizer>;

  before(async () => {
    const pair = await generateKeyPair("RS256");
    key = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    otherKey = (await generateKeyPair("RS256")).privateKey;
    authorize = createJwtAuthorizer({
      issuer: ISSUER,
      audience: [CLIENT],
      jwks: createLocalJWKSet({ keys: [publicJwk] }),
      now: () => NOW,
    });
  });

  /** A Cognito-shaped access token: no aud, client_id, scope. */
  async function token(
    claims: JWTPayload = {},
    opts: { key?: JoseKey; kid?: string; omit?: string[]; alg?: string } = {},
  ): Promise<string> {
    const payload: JWTPayload = {
      sub: "user-1",
      iss: ISSUER,
      client_id: CLIENT,
      token_use: "access",
      scope: `${READ} ${UPLOAD}`,
      iat: now - 60,
      exp: now + 3600,
      ...claims,
    };
    for (const name of opts.omit ?? []) delete payload[name];
    return new SignJWT(payload)
      .setProtectedHeader({ alg: opts.alg ?? "RS256", kid: opts.kid ?? "k1" })
      .sign(opts.key ?? key);
  }

  const decide = async (t: string | undefined, route = readRoute) => authorize(eventWith(t), route);
  const denial = async (t: string | undefined, route = readRoute) => {
    const d = await decide(t, route);
    expect(d, "expected a denial").to.have.property("deny");
    return d as AuthorizerDenial;
  };

  it("grants a valid Cognito-shaped token, passing claims as API Gateway does (strings) and the scopes", async () => {
    const grant = (await decide(
      `Bearer ${await token({ "cognito:groups": ["a", "b"], flag: true })}`,
    )) as AuthorizerGrant;
    expect(grant.claims).to.deep.include({
      sub: "user-1",
      client_id: CLIENT,
      scope: `${READ} ${UPLOAD}`,
      iat: String(now - 60),
      exp: String(now + 3600),
      "cognito:groups": "[a b]",
      flag: "true",
    });
    expect(grant.scopes).to.deep.equal([READ, UPLOAD]);
  });

  it("accepts the token without the Bearer prefix; on a route without scopes, scopes is null", async () => {
    const grant = (await decide(await token(), anyTokenRoute)) as AuthorizerGrant;
    expect(grant.scopes).to.equal(null);
  });

  it("matches aud when present, and client_id only when there is no aud", async () => {
    expect(await decide(`Bearer ${await token({ aud: CLIENT, client_id: "other" })}`)).to.have.property("claims");
    expect(await decide(`Bearer ${await token({ aud: ["x", CLIENT] })}`)).to.have.property("claims");
    expect((await denial(`Bearer ${await token({ aud: "someone-else" })}`)).description).to.equal(
      "the token does not have a valid audience",
    );
    expect((await denial(`Bearer ${await token({ client_id: "other-client" })}`)).deny).to.equal("unauthorized");
    expect((await denial(`Bearer ${await token({}, { omit: ["client_id"] })}`)).deny).to.equal("unauthorized");
  });

  const refused: [string, () => Promise<string | undefined>, string][] = [
    ["no header", async () => undefined, "missing"],
    ["an empty bearer", async () => "Bearer ", "missing"],
    ["garbage", async () => "Bearer not-a-jwt", "not a valid JWT"],
    ["an expired token", () => token({ exp: now - 1 }), "expired"],
    ["a token without exp", () => token({}, { omit: ["exp"] }), "exp"],
    ["a token not valid yet (nbf)", () => token({ nbf: now + 60 }), "nbf"],
    ["a token issued in the future (iat)", () => token({ iat: now + 60 }), "iat"],
    ["a token without iat", () => token({}, { omit: ["iat"] }), "iat"],
    ["another issuer", () => token({ iss: "https://evil.example" }), "issuer"],
    ["another key under the same kid", () => token({}, { key: otherKey }), "signature"],
    ["an unknown kid", () => token({}, { kid: "k2" }), "kid"],
  ];
  for (const [what, make, description] of refused) {
    it(`refuses ${what} with 401`, async () => {
      const t = await make();
      const d = await denial(t === undefined || t.startsWith("Bearer") ? t : `Bearer ${t}`);
      expect(d.deny).to.equal("unauthorized");
      expect(d.description).to.contain(description);
    });
  }

  it("refuses non-RSA algorithms (HS256) with 401", async () => {
    const hs = await new SignJWT({ iss: ISSUER, client_id: CLIENT, scope: READ, iat: now, exp: now + 60 })
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .sign(new TextEncoder().encode("x".repeat(32)));
    expect((await denial(`Bearer ${hs}`)).description).to.contain("not supported");
  });

  it("answers 403 when no route scope is in the token (scope or scp)", async () => {
    const readOnly = `Bearer ${await token({ scope: READ })}`;
    expect(await decide(readOnly, readRoute)).to.have.property("claims");
    const d = await denial(readOnly, uploadRoute);
    expect(d).to.deep.include({ deny: "forbidden", scope: UPLOAD });
    expect((await denial(`Bearer ${await token({}, { omit: ["scope"] })}`)).deny).to.equal("forbidden");
    expect(await decide(`Bearer ${await token({ scp: [UPLOAD] }, { omit: ["scope"] })}`, uploadRoute)).to.have.property(
      "claims",
    );
  });

  it("renders claims like API Gateway: strings, arrays bracketed, nulls dropped", () => {
    expect(apiGatewayClaims({ a: 1, b: null, c: ["x", "y"], d: { e: 1 }, f: false })).to.deep.equal({
      a: "1",
      c: "[x y]",
      d: '{"e":1}',
      f: "false",
    });
  });
});

describe("lab API gateway: authorizer answers, CORS, fallback", function () {
  this.timeout(10_000);
  let gateway: ApiGateway;
  let decision: AuthorizerGrant | AuthorizerDenial;
  const seen: APIGatewayProxyEventV2[] = [];
  const DASHBOARD = "http://127.0.0.1:5173";

  before(async () => {
    const handler = async (event: APIGatewayProxyEventV2) => {
      seen.push(event);
      return { statusCode: 200, headers: { "access-control-allow-origin": "*" }, body: "{}" };
    };
    gateway = await startApiGateway({
      host: "127.0.0.1",
      port: 0,
      routes: [
        { routeKey: "GET /health", public: true, scopes: [], handler },
        { routeKey: "GET /files", public: false, scopes: [READ], handler },
      ],
      authorizer: async () => decision,
      cors: {
        allowOrigins: [DASHBOARD],
        allowMethods: ["GET", "POST", "OPTIONS"],
        allowHeaders: ["authorization", "content-type"],
        maxAgeSeconds: 600,
      },
      fallback: (req, res) => {
        if (req.url !== "/") return false;
        res.writeHead(200, { "content-type": "text/html" }).end("<h1>dashboard</h1>");
        return true;
      },
    });
  });
  after(() => gateway?.close());

  it("answers 401 and 403 like API Gateway, with www-authenticate", async () => {
    decision = { deny: "unauthorized", description: "the token has expired" };
    let res = await fetch(`${gateway.url}/files`);
    expect(res.status).to.equal(401);
    expect(await res.json()).to.deep.equal({ message: "Unauthorized" });
    expect(res.headers.get("www-authenticate")).to.equal(
      'Bearer scope="" error="invalid_token" error_description="the token has expired"',
    );
    decision = { deny: "forbidden", description: `expected scopes: [${READ}]`, scope: READ };
    res = await fetch(`${gateway.url}/files`);
    expect(res.status).to.equal(403);
    expect(await res.json()).to.deep.equal({ message: "Forbidden" });
    expect(res.headers.get("www-authenticate")).to.contain('error="insufficient_scope"');
  });

  it("passes claims and scopes to the handler in requestContext.authorizer.jwt", async () => {
    decision = { claims: { sub: "u" }, scopes: [READ] };
    seen.length = 0;
    expect((await fetch(`${gateway.url}/files`)).status).to.equal(200);
    const ctx = seen[0].requestContext as unknown as { authorizer: { jwt: unknown } };
    expect(ctx.authorizer.jwt).to.deep.equal({ claims: { sub: "u" }, scopes: [READ] });
  });

  it("answers CORS preflights itself for the dashboard origin only, without the authorizer", async () => {
    decision = { deny: "unauthorized" };
    const ok = await fetch(`${gateway.url}/files`, {
      method: "OPTIONS",
      headers: {
        origin: DASHBOARD,
        "access-control-request-method": "GET",
        "access-control-request-headers": "Authorization",
      },
    });
    expect(ok.status).to.equal(204);
    expect(ok.headers.get("access-control-allow-origin")).to.equal(DASHBOARD);
    expect(ok.headers.get("access-control-allow-methods")).to.equal("GET,POST,OPTIONS");
    expect(ok.headers.get("access-control-allow-headers")).to.equal("authorization");
    expect(ok.headers.get("access-control-max-age")).to.equal("600");
    const other = await fetch(`${gateway.url}/files`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
    });
    expect(other.status).to.equal(204);
    expect(other.headers.get("access-control-allow-origin")).to.equal(null);
    const badHeader = await fetch(`${gateway.url}/files`, {
      method: "OPTIONS",
      headers: {
        origin: DASHBOARD,
        "access-control-request-method": "GET",
        "access-control-request-headers": "x-evil",
      },
    });
    expect(badHeader.headers.get("access-control-allow-origin")).to.equal(null);
  });

  it("puts the configured origin on responses (401s too), replacing the handler's CORS headers", async () => {
    decision = { claims: { sub: "u" } };
    const res = await fetch(`${gateway.url}/health`, { headers: { origin: DASHBOARD } });
    expect(res.headers.get("access-control-allow-origin")).to.equal(DASHBOARD);
    expect(res.headers.get("vary")).to.contain("Origin");
    const foreign = await fetch(`${gateway.url}/health`, { headers: { origin: "https://evil.example" } });
    expect(foreign.headers.get("access-control-allow-origin")).to.equal(null);
    decision = { deny: "unauthorized" };
    const denied = await fetch(`${gateway.url}/files`, { headers: { origin: DASHBOARD } });
    expect(denied.status).to.equal(401);
    expect(denied.headers.get("access-control-allow-origin")).to.equal(DASHBOARD);
  });

  it("hands requests no route matches to the fallback, else 404", async () => {
    const page = await fetch(`${gateway.url}/`);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.equal("<h1>dashboard</h1>");
    const none = await fetch(`${gateway.url}/nothing`);
    expect(none.status).to.equal(404);
    expect(await none.json()).to.deep.equal({ message: "Not Found" });
  });
});
