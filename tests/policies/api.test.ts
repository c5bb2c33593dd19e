import { expect } from "chai";
import { apiAuthorized } from "../../policies/api";
import { dependsThrough, res, runStack, type StackResourceDescription, UNKNOWN_STRING } from "./harness";

/** The policy over a stack of these resources (api-authorized is a stack policy). */
function runResource(
  policy: typeof apiAuthorized,
  r: StackResourceDescription,
  options: Parameters<typeof runStack>[2] = {},
) {
  return runStack(policy, [r], options);
}

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

const API = "aws:apigatewayv2/api:Api";
const ROUTE_T = "aws:apigatewayv2/route:Route";
const REST_API = "aws:apigateway/restApi:RestApi";
const METHOD = "aws:apigateway/method:Method";
const INTEGRATION = "aws:apigateway/integration:Integration";
const RESOURCE = "aws:apigateway/resource:Resource";

describe("policies: api-authorized, other ways to expose a function", () => {
  // Class: a Lambda Function URL with auth NONE passed.
  it("refuses a function URL with authorizationType NONE", async () => {
    const url = res("aws:lambda/functionUrl:FunctionUrl", "api-url", {
      functionName: "api",
      authorizationType: "NONE",
    });
    const out = await runStack(apiAuthorized, [url]);
    expect(out.levels).to.deep.equal(["mandatory"]);
    expect(out.messages[0]).to.contain('function URL api-url has authorizationType "NONE"');
  });

  it("fair use: a function URL with AWS_IAM passes", async () => {
    const url = res("aws:lambda/functionUrl:FunctionUrl", "api-url", {
      functionName: "api",
      authorizationType: "AWS_IAM",
    });
    expect((await runStack(apiAuthorized, [url])).messages).to.deep.equal([]);
  });

  // Class: a lambda.Permission for principal "*" passed.
  it('refuses a lambda.Permission for principal "*", and for a service principal with no source', async () => {
    const anyone = res("aws:lambda/permission:Permission", "open", {
      action: "lambda:InvokeFunction",
      function: "api",
      principal: "*",
    });
    expect((await runStack(apiAuthorized, [anyone])).messages[0]).to.contain(
      'lets any principal ("*") invoke the function',
    );
    const s3 = res("aws:lambda/permission:Permission", "s3-any", {
      action: "lambda:InvokeFunction",
      function: "api",
      principal: "s3.amazonaws.com",
    });
    expect((await runStack(apiAuthorized, [s3])).messages[0]).to.contain("on behalf of any account's resource");
  });

  it("fair use: API Gateway's permission with a sourceArn (known or unknown in preview) passes", async () => {
    const apigw = res("aws:lambda/permission:Permission", "apigw", {
      action: "lambda:InvokeFunction",
      function: "api",
      principal: "apigateway.amazonaws.com",
      sourceArn: "arn:aws:execute-api:us-east-1:123456789012:abc/*/*",
    });
    const preview = res("aws:lambda/permission:Permission", "apigw2", {
      action: "lambda:InvokeFunction",
      function: "api",
      principal: "apigateway.amazonaws.com",
      sourceArn: UNKNOWN_STRING,
    });
    expect((await runStack(apiAuthorized, [apigw, preview])).messages).to.deep.equal([]);
  });

  // Class: routes declared in an OpenAPI `body` passed.
  it("refuses routes without security in an OpenAPI body (HTTP API and REST API)", async () => {
    const body = JSON.stringify({
      openapi: "3.0.1",
      paths: { "/files": { get: {} }, "/health": { get: {} }, "/admin": { post: { security: [] } } },
    });
    const http = await runStack(apiAuthorized, [res(API, "imported", { protocolType: "HTTP", body })]);
    expect(http.messages[0]).to.contain(
      "declares routes without authorization in its OpenAPI body: GET /files, POST /admin",
    );
    const rest = await runStack(apiAuthorized, [res(REST_API, "imported", { body })]);
    expect(rest.messages).to.have.length(1);
  });

  it("fair use: an OpenAPI body whose operations carry a security requirement passes", async () => {
    const body = JSON.stringify({
      openapi: "3.0.1",
      security: [{ cognito: [] }],
      components: {
        securitySchemes: { cognito: { type: "oauth2", "x-amazon-apigateway-authorizer": { type: "jwt" } } },
      },
      paths: { "/files": { get: {} }, "/health": { get: { security: [] } } },
    });
    expect(
      (await runStack(apiAuthorized, [res(API, "imported", { protocolType: "HTTP", body })])).messages,
    ).to.deep.equal([]);
  });

  // False alarm: WebSocket APIs (only $connect can carry an authorizer, and it protects the whole API).
  it("fair use: a WebSocket API whose $connect is authorized passes with unauthorized message routes", async () => {
    const ws = res(API, "ws", {
      id: "ws1",
      protocolType: "WEBSOCKET",
      routeSelectionExpression: "$request.body.action",
    });
    const connect = res(ROUTE_T, "connect", {
      apiId: "ws1",
      routeKey: "$connect",
      authorizationType: "CUSTOM",
      authorizerId: "au",
    });
    const message = res(ROUTE_T, "send", { apiId: "ws1", routeKey: "sendMessage", authorizationType: "NONE" });
    const dflt = res(ROUTE_T, "default", { apiId: "ws1", routeKey: "$default" });
    expect((await runStack(apiAuthorized, [ws, connect, message, dflt])).messages).to.deep.equal([]);
  });

  it("refuses a WebSocket API whose $connect is open, or missing", async () => {
    const ws = res(API, "ws", { id: "ws1", protocolType: "WEBSOCKET" });
    const connect = res(ROUTE_T, "connect", { apiId: "ws1", routeKey: "$connect", authorizationType: "NONE" });
    const open = await runStack(apiAuthorized, [ws, connect]);
    expect(open.messages[0]).to.contain('route "$connect" (connect) has no authorizer');
    const missing = await runStack(apiAuthorized, [ws]);
    expect(missing.messages[0]).to.contain("WebSocket API ws has no $connect route, so anyone can connect");
  });

  // False alarm: a REST API's CORS preflight (REST methods ignored publicRoutes).
  it("fair use: a REST CORS preflight (OPTIONS with a MOCK integration) and a public REST health route pass", async () => {
    const api = res(REST_API, "rest", { id: "r1", rootResourceId: "root" });
    const files = res(RESOURCE, "files", {
      id: "res1",
      restApi: "r1",
      parentId: "root",
      pathPart: "files",
      path: "/files",
    });
    const health = res(RESOURCE, "health", { id: "res2", restApi: "r1", parentId: "root", pathPart: "health" });
    const options = res(METHOD, "files-options", {
      restApi: "r1",
      resourceId: "res1",
      httpMethod: "OPTIONS",
      authorization: "NONE",
    });
    const mock = res(INTEGRATION, "files-options-mock", {
      restApi: "r1",
      resourceId: "res1",
      httpMethod: "OPTIONS",
      type: "MOCK",
    });
    const getHealth = res(METHOD, "health-get", {
      restApi: "r1",
      resourceId: "res2",
      httpMethod: "GET",
      authorization: "NONE",
    });
    const out = await runStack(apiAuthorized, [api, files, health, options, mock, getHealth]);
    expect(out.messages).to.deep.equal([]);
  });

  it("refuses an OPTIONS method that runs a Lambda integration without authorization", async () => {
    const api = res(REST_API, "rest", { id: "r1", rootResourceId: "root" });
    const files = res(RESOURCE, "files", {
      id: "res1",
      restApi: "r1",
      parentId: "root",
      pathPart: "files",
      path: "/files",
    });
    const options = res(METHOD, "files-options", {
      restApi: "r1",
      resourceId: "res1",
      httpMethod: "OPTIONS",
      authorization: "NONE",
    });
    const lambda = res(INTEGRATION, "files-options-fn", {
      restApi: "r1",
      resourceId: "res1",
      httpMethod: "OPTIONS",
      type: "AWS_PROXY",
    });
    const out = await runStack(apiAuthorized, [api, files, options, lambda]);
    expect(out.messages[0]).to.contain("REST API method files-options (OPTIONS /files)");
  });

  it("joins a REST method to its path through property dependencies (preview)", async () => {
    const api = res(REST_API, "rest", { id: UNKNOWN_STRING, rootResourceId: UNKNOWN_STRING });
    const health = dependsThrough(
      res(RESOURCE, "health", {
        id: UNKNOWN_STRING,
        parentId: UNKNOWN_STRING,
        pathPart: "health",
        path: UNKNOWN_STRING,
      }),
      "parentId",
      api,
    );
    health.propertyDependencies = { parentId: [api.urn as string] };
    const get = dependsThrough(
      res(METHOD, "health-get", { resourceId: UNKNOWN_STRING, httpMethod: "GET", authorization: "NONE" }),
      "resourceId",
      health,
    );
    // The root: the API's rootResourceId flows into the resource's parentId.
    const apiWithRoot = { ...api, propertyDependencies: { rootResourceId: [] } };
    const out = await runStack(apiAuthorized, [apiWithRoot, health, get]);
    expect(out.messages).to.have.length(1); // the parent chain is unknown in preview: not assumed public
  });
});
