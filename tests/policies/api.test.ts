import { expect } from "chai";
import { apiAuthorized } from "../../policies/api";
import { res, runResource, UNKNOWN_STRING } from "./harness";

const ROUTE = "aws:apigatewayv2/route:Route";

describe("policies: api-authorized", () => {
  it("passes a JWT route with an authorizer, and the public health route", async () => {
    const jwt = res(ROUTE, "files", {
      apiId: "a1",
      routeKey: "GET /files",
      authorizationType: "JWT",
      authorizerId: "au1",
    });
    expect((await runResource(apiAuthorized, jwt)).messages).to.deep.equal([]);
    const health = res(ROUTE, "health", { apiId: "a1", routeKey: "GET /health", authorizationType: "NONE" });
    expect((await runResource(apiAuthorized, health)).messages).to.deep.equal([]);
    // During preview the authorizer's id is unknown: still an authorizer.
    const preview = res(ROUTE, "p", { routeKey: "GET /files", authorizationType: "JWT", authorizerId: UNKNOWN_STRING });
    expect((await runResource(apiAuthorized, preview)).messages).to.deep.equal([]);
  });

  it("reports a route without an authorizer, telling how to fix it", async () => {
    const out = await runResource(apiAuthorized, res(ROUTE, "upload", { apiId: "a1", routeKey: "POST /uploads" }));
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.messages).to.deep.equal([
      'route "POST /uploads" (upload) has no authorizer (authorizationType unset, i.e. NONE); set authorizationType ' +
        '"JWT" and authorizerId to the API\'s Cognito JWT authorizer, or add "POST /uploads" to publicRoutes in the ' +
        "api-authorized policy config if it must be public.",
    ]);
  });

  it("reports a JWT route that names no authorizer", async () => {
    const out = await runResource(apiAuthorized, res(ROUTE, "r", { routeKey: "GET /files", authorizationType: "JWT" }));
    expect(out.messages).to.deep.equal([
      'route "GET /files" (r) sets authorizationType JWT but no authorizerId; set authorizerId to the API\'s authorizer.',
    ]);
  });

  it("honours configured public routes (and nothing else)", async () => {
    const route = res(ROUTE, "r", { routeKey: "GET /status", authorizationType: "NONE" });
    expect(
      (await runResource(apiAuthorized, route, { config: { publicRoutes: ["GET /status"] } })).messages,
    ).to.deep.equal([]);
    const health = res(ROUTE, "h", { routeKey: "GET /health", authorizationType: "NONE" });
    expect(
      (await runResource(apiAuthorized, health, { config: { publicRoutes: ["GET /status"] } })).messages,
    ).to.have.length(1);
  });

  it("reports a quick-create HTTP API (its $default route has no authorizer)", async () => {
    const api = res("aws:apigatewayv2/api:Api", "quick", {
      protocolType: "HTTP",
      target: "arn:aws:lambda:us-east-1:1:function:f",
    });
    const out = await runResource(apiAuthorized, api);
    expect(out.messages[0]).to.contain("sets `target` (quick create), which adds an unauthenticated $default route");
    const plain = res("aws:apigatewayv2/api:Api", "api", { protocolType: "HTTP" });
    expect((await runResource(apiAuthorized, plain)).messages).to.deep.equal([]);
  });

  it("reports a REST API method with authorization NONE", async () => {
    const m = res("aws:apigateway/method:Method", "get", {
      httpMethod: "GET",
      authorization: "NONE",
      resourceId: "r",
      restApi: "x",
    });
    expect((await runResource(apiAuthorized, m)).messages[0]).to.contain('has authorization "NONE"');
  });
});
