/**
 * The lab's HTTP API stand-in: route matching and the payload-2.0 event built from real
 * HTTP requests, and how handler results become responses.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from "aws-lambda";
import { expect } from "chai";
import {
  type ApiGateway,
  type ApiHandler,
  buildEventV2,
  type GatewayRoute,
  matchRoute,
  startApiGateway,
} from "../../lab/api-gateway";

const noop: ApiHandler = async () => ({ statusCode: 204 });
const routes: GatewayRoute[] = [
  { routeKey: "GET /health", public: true, handler: noop },
  { routeKey: "GET /files", public: false, handler: noop },
  { routeKey: "GET /files/{key+}", public: false, handler: noop },
  { routeKey: "GET /files/special", public: false, handler: noop },
  { routeKey: "POST /items/{id}", public: false, handler: noop },
];

describe("lab API gateway: route matching", () => {
  it("matches a greedy parameter over several segments and URL-decodes it", () => {
    const m = matchRoute(routes, "GET", "/files/dir/a%20b%2Bc/%E6%98%A0%E5%83%8F.mp4");
    expect(m?.route.routeKey).to.equal("GET /files/{key+}");
    expect(m?.pathParameters).to.deep.equal({ key: "dir/a b+c/映像.mp4" });
  });

  it("keeps a literal '+' in a path as a plus", () => {
    expect(matchRoute(routes, "GET", "/files/a+b.mp4")?.pathParameters).to.deep.equal({ key: "a+b.mp4" });
  });

  it("prefers exact paths over parameters", () => {
    expect(matchRoute(routes, "GET", "/files")?.route.routeKey).to.equal("GET /files");
    expect(matchRoute(routes, "GET", "/files/special")?.route.routeKey).to.equal("GET /files/special");
    expect(matchRoute(routes, "GET", "/files/special/x")?.route.routeKey).to.equal("GET /files/{key+}");
  });

  it("matches a single-segment parameter only on one segment, and only for its method", () => {
    expect(matchRoute(routes, "POST", "/items/42")?.pathParameters).to.deep.equal({ id: "42" });
    expect(matchRoute(routes, "POST", "/items/42/x")).to.equal(undefined);
    expect(matchRoute(routes, "GET", "/items/42")).to.equal(undefined);
  });

  it("does not match an empty greedy parameter or an unknown path", () => {
    expect(matchRoute(routes, "GET", "/files/")).to.equal(undefined);
    expect(matchRoute(routes, "GET", "/nope")).to.equal(undefined);
    expect(matchRoute(routes, "DELETE", "/health")).to.equal(undefined);
  });
});

describe("lab API gateway: payload format 2.0 events", () => {
  it("lower-cases headers, comma-joins duplicates, moves cookies out and parses the query string", () => {
    const route = routes[2];
    const event = buildEventV2(
      {
        method: "GET",
        url: "/files/a%20b?limit=2&tag=x&tag=y&q=hello+world",
        rawHeaders: [
          "Host",
          "lab.local:1",
          "X-Multi",
          "one",
          "x-multi",
          "two",
          "Cookie",
          "a=1; b=2",
          "User-Agent",
          "ua/1",
        ],
        body: Buffer.alloc(0),
        sourceIp: "127.0.0.1",
      },
      { route, pathParameters: { key: "a b" } },
      { now: new Date("2026-03-12T19:03:58Z"), requestId: "rid" },
    );
    expect(event).to.include({
      version: "2.0",
      routeKey: "GET /files/{key+}",
      rawPath: "/files/a%20b",
      rawQueryString: "limit=2&tag=x&tag=y&q=hello+world",
      isBase64Encoded: false,
    });
    expect(event.headers).to.include({ host: "lab.local:1", "x-multi": "one,two", "user-agent": "ua/1" });
    expect(event.headers).not.to.have.property("cookie");
    expect(event.cookies).to.deep.equal(["a=1", "b=2"]);
    expect(event.queryStringParameters).to.deep.equal({ limit: "2", tag: "x,y", q: "hello world" });
    expect(event.pathParameters).to.deep.equal({ key: "a b" });
    expect(event.body).to.equal(undefined);
    expect(event.requestContext).to.deep.include({
      routeKey: "GET /files/{key+}",
      stage: "$default",
      requestId: "rid",
      time: "12/Mar/2026:19:03:58 +0000",
      timeEpoch: Date.parse("2026-03-12T19:03:58Z"),
      domainName: "lab.local:1",
    });
    expect(event.requestContext.http).to.deep.equal({
      method: "GET",
      path: "/files/a%20b",
      protocol: "HTTP/1.1",
      sourceIp: "127.0.0.1",
      userAgent: "ua/1",
    });
  });

  it("omits queryStringParameters and pathParameters when there are none; base64-encodes binary bodies", () => {
    const event = buildEventV2(
      {
        method: "POST",
        url: "/items/1",
        rawHeaders: ["Content-Type", "application/octet-stream"],
        body: Buffer.from([0, 1, 2, 255]),
        sourceIp: "127.0.0.1",
      },
      { route: routes[4] },
    );
    expect(event).not.to.have.property("queryStringParameters");
    expect(event).not.to.have.property("pathParameters");
    expect(event.isBase64Encoded).to.equal(true);
    expect(Buffer.from(event.body ?? "", "base64")).to.deep.equal(Buffer.from([0, 1, 2, 255]));
  });
});

describe("lab API gateway over HTTP", function () {
  this.timeout(10_000);
  let gateway: ApiGateway;
  let seen: APIGatewayProxyEventV2[];
  let result: () => Promise<APIGatewayProxyResultV2>;
  let authorized: boolean;

  before(async () => {
    const handler: ApiHandler = async (event) => {
      seen.push(event);
      return result();
    };
    gateway = await startApiGateway({
      host: "127.0.0.1",
      port: 0,
      routes: [
        { routeKey: "GET /health", public: true, handler },
        { routeKey: "GET /files/{key+}", public: false, handler },
        { routeKey: "POST /echo", public: true, handler },
      ],
      authorizer: async () => (authorized ? { claims: { sub: "user-1" }, scopes: ["read"] } : "unauthorized"),
      onError: () => {},
    });
  });
  beforeEach(() => {
    seen = [];
    authorized = true;
    result = async () => ({ statusCode: 200, body: "ok" });
  });
  after(() => gateway?.close());

  it("passes the decoded greedy key and writes status, headers, cookies and body back", async () => {
    result = async () => ({
      statusCode: 201,
      headers: { "Content-Type": "text/plain", "X-Count": 3 },
      cookies: ["s=1; Path=/", "t=2"],
      body: "created",
    });
    const res = await fetch(`${gateway.url}/files/clips/a%20b%2Bc%20%E6%98%A0%E5%83%8F.wav?x=1`);
    expect(res.status).to.equal(201);
    expect(res.headers.get("content-type")).to.equal("text/plain");
    expect(res.headers.get("x-count")).to.equal("3");
    expect(res.headers.getSetCookie()).to.deep.equal(["s=1; Path=/", "t=2"]);
    expect(await res.text()).to.equal("created");
    expect(seen[0].pathParameters).to.deep.equal({ key: "clips/a b+c 映像.wav" });
    expect(seen[0].rawPath).to.equal("/files/clips/a%20b%2Bc%20%E6%98%A0%E5%83%8F.wav");
    expect(seen[0].queryStringParameters).to.deep.equal({ x: "1" });
  });

  it("decodes a base64 result body", async () => {
    result = async () => ({ statusCode: 200, isBase64Encoded: true, body: Buffer.from([1, 2, 3]).toString("base64") });
    const res = await fetch(`${gateway.url}/health`);
    expect(Buffer.from(await res.arrayBuffer())).to.deep.equal(Buffer.from([1, 2, 3]));
  });

  it("treats a result without statusCode as a JSON body with status 200", async () => {
    result = async () => ({ hello: "world" }) as unknown as APIGatewayProxyResultV2;
    const res = await fetch(`${gateway.url}/health`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.equal("application/json");
    expect(await res.json()).to.deep.equal({ hello: "world" });
  });

  it("passes a JSON request body as text", async () => {
    await fetch(`${gateway.url}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"a":1}',
    });
    expect(seen[0]).to.include({ body: '{"a":1}', isBase64Encoded: false });
  });

  it("answers 404 {message} for an unknown route without calling a handler", async () => {
    const res = await fetch(`${gateway.url}/nope`);
    expect(res.status).to.equal(404);
    expect(await res.json()).to.deep.equal({ message: "Not Found" });
    expect(seen).to.have.length(0);
  });

  it("answers 500 {message} when the handler throws, without details", async () => {
    result = async () => {
      throw new Error("secret internals");
    };
    const res = await fetch(`${gateway.url}/health`);
    expect(res.status).to.equal(500);
    const text = await res.text();
    expect(JSON.parse(text)).to.deep.equal({ message: "Internal Server Error" });
    expect(text).not.to.contain("secret");
  });

  it("runs the authorizer for non-public routes only, passing its claims on", async () => {
    authorized = false;
    const denied = await fetch(`${gateway.url}/files/x`);
    expect(denied.status).to.equal(401);
    expect(await denied.json()).to.deep.equal({ message: "Unauthorized" });
    expect(seen).to.have.length(0);
    expect((await fetch(`${gateway.url}/health`)).status).to.equal(200);

    authorized = true;
    expect((await fetch(`${gateway.url}/files/x`)).status).to.equal(200);
    const ctx = seen[seen.length - 1].requestContext as unknown as { authorizer: { jwt: { claims: unknown } } };
    expect(ctx.authorizer.jwt.claims).to.deep.equal({ sub: "user-1" });
  });
});
