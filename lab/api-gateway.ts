/**
 * A tiny stand-in for an API Gateway HTTP API with Lambda proxy integrations, payload
 * format 2.0: matches the request against a route table, builds the event API Gateway
 * would send (routeKey, rawPath, rawQueryString, lower-cased headers with duplicates
 * comma-joined, cookies, queryStringParameters, URL-decoded pathParameters - `{name+}` is
 * greedy - requestContext.http, body/isBase64Encoded), calls the handler and writes its
 * result back the way API Gateway interprets it.
 *
 * Each route declares whether it is public and the scopes it requires. Non-public routes go
 * through the configured authorizer (lab/auth/authorizer.ts: API Gateway's JWT authorizer
 * checks; without one they are open): 401/403 `{"message":...}` as API Gateway answers, else
 * the claims in requestContext.authorizer.jwt. With `cors`, preflights are answered and
 * responses carry the CORS headers, as an HTTP API's CORS configuration does. Requests that
 * match no route may be served by `fallback` (the lab mounts the dashboard there). `admin`
 * sees every request first, before CORS and routing (the lab's /_lab endpoints, lab/admin.ts).
 */
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from "aws-lambda";
import type { RouteDeclaration } from "../lib/api-routes";
import { LAB_ACCOUNT_ID } from "./clients";
import { closeServer, listen } from "./http-server";

export type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

export interface GatewayRoute extends RouteDeclaration {
  handler: ApiHandler;
}

export interface AuthorizerGrant {
  claims: Record<string, string | number | boolean | string[]>;
  /** requestContext.authorizer.jwt.scopes (null when absent). */
  scopes?: string[] | null;
}

/** A refusal with the details API Gateway puts in its `www-authenticate` header. */
export interface AuthorizerDenial {
  deny: "unauthorized" | "forbidden";
  /** e.g. "the token has expired" */
  description?: string;
  /** The scopes the route wanted (403). */
  scope?: string;
}

/** Decides on a request to a non-public route: a grant, or why not (401 / 403, as API Gateway answers). */
export type Authorizer = (
  event: APIGatewayProxyEventV2,
  route: GatewayRoute,
) => Promise<AuthorizerGrant | "unauthorized" | "forbidden" | AuthorizerDenial>;

/** An HTTP API's CORS configuration (the fields API Gateway takes). */
export interface GatewayCors {
  /** Exact origins ("http://127.0.0.1:8080"), or "*". */
  allowOrigins: readonly string[];
  allowMethods?: readonly string[];
  allowHeaders?: readonly string[];
  exposeHeaders?: readonly string[];
  maxAgeSeconds?: number;
  allowCredentials?: boolean;
}

/** Serves a request no route matched; true when it answered (or is answering) it. */
export type FallbackHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

export interface ApiGatewayOptions {
  routes: readonly GatewayRoute[];
  host: string;
  /** 0 picks a free port. */
  port: number;
  authorizer?: Authorizer;
  cors?: GatewayCors;
  /** For requests that match no route (not called for API routes). */
  fallback?: FallbackHandler;
  /** Called first for every request, before CORS and the route table; true when it answered (lab/admin.ts). */
  admin?: FallbackHandler;
  /** API Gateway's integration timeout (30 s for HTTP APIs). */
  integrationTimeoutMs?: number;
  /** Largest request body accepted (HTTP APIs: 10 MB). */
  maxBodyBytes?: number;
  apiId?: string;
  onError?: (err: unknown, event: APIGatewayProxyEventV2) => void;
  onResponse?: (info: { method: string; path: string; status: number; ms: number }) => void;
}

export interface ApiGateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface CompiledRoute {
  route: GatewayRoute;
  method: string;
  /** Literal segments or parameter names; undefined for $default. */
  segments?: ({ literal: string } | { param: string; greedy: boolean })[];
  rank: number[];
}

export interface RouteMatch {
  route: GatewayRoute;
  pathParameters?: Record<string, string>;
}

/** Thrown for a path API Gateway would reject (malformed percent-encoding). */
class BadPathError extends Error {}

function compile(route: GatewayRoute): CompiledRoute {
  if (route.routeKey === "$default") return { route, method: "ANY", rank: [3, 0, 0] };
  const m = /^([A-Z]+) (\/\S*)$/.exec(route.routeKey);
  if (!m) throw new Error(`route key ${JSON.stringify(route.routeKey)} is not "METHOD /path"`);
  const segments = m[2]
    .split("/")
    .slice(1)
    .map((s) => {
      const p = /^\{([A-Za-z0-9_.-]+)(\+?)\}$/.exec(s);
      return p ? { param: p[1], greedy: p[2] === "+" } : { literal: s };
    });
  const greedy = segments.some((s) => "greedy" in s && s.greedy);
  const literals = segments.filter((s) => "literal" in s).length;
  // API Gateway prefers exact paths, then more literal segments, then non-greedy; specific methods before ANY.
  return { route, method: m[1], segments, rank: [greedy ? 1 : 0, -literals, m[1] === "ANY" ? 1 : 0] };
}

function decode(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadPathError(`malformed percent-encoding in ${raw}`);
  }
}

function matchSegments(c: CompiledRoute, parts: string[]): Record<string, string> | undefined {
  const segments = c.segments ?? [];
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    if ("literal" in s) {
      if (parts[i] === undefined || decode(parts[i]) !== s.literal) return undefined;
    } else if (s.greedy) {
      const rest = parts.slice(i).join("/");
      if (rest === "") return undefined;
      params[s.param] = decode(rest);
      return params;
    } else {
      if (parts[i] === undefined || parts[i] === "") return undefined;
      params[s.param] = decode(parts[i]);
    }
  }
  return parts.length === segments.length ? params : undefined;
}

/** Finds the route API Gateway would pick for `method` and the raw (still percent-encoded) `rawPath`. */
export function matchRoute(routes: readonly GatewayRoute[], method: string, rawPath: string): RouteMatch | undefined {
  const compiled = routes
    .map(compile)
    .sort((a, b) => a.rank[0] - b.rank[0] || a.rank[1] - b.rank[1] || a.rank[2] - b.rank[2]);
  const parts = rawPath.split("/").slice(1);
  for (const c of compiled) {
    if (!c.segments) return { route: c.route };
    if (c.method !== method && c.method !== "ANY") continue;
    const params = matchSegments(c, parts);
    if (params) return { route: c.route, ...(Object.keys(params).length ? { pathParameters: params } : {}) };
  }
  return undefined;
}

const TEXT_TYPES =
  /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|problem\+json)|[^;]*\+(json|xml))/i;

function requestTime(d: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export interface IncomingRequest {
  method: string;
  /** Path and query as received, e.g. "/files/a%20b?limit=2". */
  url: string;
  /** Node's rawHeaders: name, value, name, value... */
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
  protocol?: string;
}

/** The payload-2.0 event for a request that matched `match`. */
export function buildEventV2(
  req: IncomingRequest,
  match: RouteMatch,
  context: { apiId?: string; now?: Date; requestId?: string } = {},
): APIGatewayProxyEventV2 {
  const now = context.now ?? new Date();
  const q = req.url.indexOf("?");
  const rawPath = q === -1 ? req.url : req.url.slice(0, q);
  const rawQueryString = q === -1 ? "" : req.url.slice(q + 1);

  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1];
    if (name === "cookie") {
      cookies.push(
        ...value
          .split(";")
          .map((c) => c.trim())
          .filter(Boolean),
      );
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  headers["x-forwarded-for"] = headers["x-forwarded-for"]
    ? `${headers["x-forwarded-for"]}, ${req.sourceIp}`
    : req.sourceIp;
  headers["x-forwarded-proto"] ??= "http";

  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQueryString)) query[k] = k in query ? `${query[k]},${v}` : v;

  const contentType = headers["content-type"] ?? "";
  const hasBody = req.body.length > 0;
  const text = !contentType || TEXT_TYPES.test(contentType);
  const apiId = context.apiId ?? "lab";
  const host = headers.host ?? "localhost";

  return {
    version: "2.0",
    routeKey: match.route.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: LAB_ACCOUNT_ID,
      apiId,
      domainName: host,
      domainPrefix: host.split(".")[0],
      http: {
        method: req.method,
        path: rawPath,
        protocol: req.protocol ?? "HTTP/1.1",
        sourceIp: req.sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: context.requestId ?? randomBytes(8).toString("base64url"),
      routeKey: match.route.routeKey,
      stage: "$default",
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    ...(match.pathParameters ? { pathParameters: match.pathParameters } : {}),
    ...(hasBody ? { body: text ? req.body.toString("utf8") : req.body.toString("base64") } : {}),
    isBase64Encoded: hasBody && !text,
  };
}

export interface GatewayResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** How API Gateway turns a payload-2.0 handler result into an HTTP response. */
export function toHttpResponse(result: APIGatewayProxyResultV2): GatewayResponse {
  if (result && typeof result === "object" && "statusCode" in result && result.statusCode !== undefined) {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
    if (result.cookies?.length) headers["set-cookie"] = result.cookies;
    const body = result.body ?? "";
    return {
      statusCode: result.statusCode,
      headers,
      body: result.isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body, "utf8"),
    };
  }
  // Anything without a statusCode is taken as a JSON body with status 200.
  return {
    statusCode: 200,
    headers: { "content-type": "application/json" },
    body: Buffer.from(JSON.stringify(result ?? null), "utf8"),
  };
}

function message(statusCode: number, text: string, extra: Record<string, string> = {}): GatewayResponse {
  return {
    statusCode,
    headers: { "content-type": "application/json", ...extra },
    body: Buffer.from(JSON.stringify({ message: text })),
  };
}

/** API Gateway's `www-authenticate` for a refused token, e.g. `Bearer scope="" error="invalid_token" error_description="..."`. */
function wwwAuthenticate(error: string, description: string, scope = ""): string {
  const q = (v: string) => v.replace(/["\\]/g, "");
  return `Bearer scope="${q(scope)}" error="${error}" error_description="${q(description)}"`;
}

function denial(decision: "unauthorized" | "forbidden" | AuthorizerDenial): GatewayResponse {
  const d = typeof decision === "string" ? { deny: decision } : decision;
  if (d.deny === "forbidden") {
    return message(403, "Forbidden", {
      "www-authenticate": wwwAuthenticate("insufficient_scope", d.description ?? "insufficient scope", d.scope),
    });
  }
  return message(401, "Unauthorized", {
    "www-authenticate": wwwAuthenticate("invalid_token", d.description ?? "the token is missing or invalid"),
  });
}

/** The origin to allow for a request, when CORS is configured and the request's Origin is allowed. */
function allowedOrigin(cors: GatewayCors | undefined, origin: string | undefined): string | undefined {
  if (!cors || !origin) return undefined;
  if (cors.allowOrigins.includes(origin)) return origin;
  return cors.allowOrigins.includes("*") ? "*" : undefined;
}

/** API Gateway answers CORS preflights itself (204), whatever the routes, once CORS is configured. */
function preflight(cors: GatewayCors, req: http.IncomingMessage): GatewayResponse {
  const origin = allowedOrigin(cors, req.headers.origin);
  const method = String(req.headers["access-control-request-method"] ?? "").toUpperCase();
  const methods = (cors.allowMethods ?? ["*"]).map((m) => m.toUpperCase());
  const wanted = String(req.headers["access-control-request-headers"] ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const allowHeaders = (cors.allowHeaders ?? []).map((h) => h.toLowerCase());
  const ok =
    origin !== undefined &&
    (methods.includes("*") || methods.includes(method)) &&
    wanted.every((h) => allowHeaders.includes("*") || allowHeaders.includes(h));
  const headers: Record<string, string> = { vary: "Origin" };
  if (ok) {
    headers["access-control-allow-origin"] = origin;
    headers["access-control-allow-methods"] = methods.includes("*") ? method : methods.join(",");
    if (wanted.length > 0) headers["access-control-allow-headers"] = wanted.join(",");
    if (cors.maxAgeSeconds !== undefined) headers["access-control-max-age"] = String(cors.maxAgeSeconds);
    if (cors.allowCredentials) headers["access-control-allow-credentials"] = "true";
  }
  return { statusCode: 204, headers, body: Buffer.alloc(0) };
}

/** The CORS headers of an actual (non-preflight) response; the integration's own CORS headers are dropped. */
function withCors(cors: GatewayCors | undefined, req: http.IncomingMessage, out: GatewayResponse): GatewayResponse {
  if (!cors) return out;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(out.headers)) if (!k.startsWith("access-control-")) headers[k] = v;
  const origin = allowedOrigin(cors, req.headers.origin);
  if (origin) {
    headers["access-control-allow-origin"] = origin;
    if (cors.exposeHeaders?.length) headers["access-control-expose-headers"] = cors.exposeHeaders.join(",");
    if (cors.allowCredentials) headers["access-control-allow-credentials"] = "true";
  }
  headers.vary = headers.vary ? `${headers.vary}, Origin` : "Origin";
  return { ...out, headers };
}

function isPreflight(req: http.IncomingMessage): boolean {
  return req.method === "OPTIONS" && !!req.headers.origin && !!req.headers["access-control-request-method"];
}

async function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startApiGateway(options: ApiGatewayOptions): Promise<ApiGateway> {
  // Validate the table up front.
  for (const r of options.routes) compile(r);
  const timeoutMs = options.integrationTimeoutMs ?? 30_000;
  const maxBody = options.maxBodyBytes ?? 10 * 1024 * 1024;

  async function respond(req: http.IncomingMessage): Promise<GatewayResponse> {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const rawPath = url.split("?")[0];
    let match: RouteMatch | undefined;
    try {
      match = matchRoute(options.routes, method, rawPath);
    } catch (err) {
      if (err instanceof BadPathError) return message(400, "Bad Request");
      throw err;
    }
    if (!match) return message(404, "Not Found");
    const body = await readBody(req, maxBody);
    if (!body) return message(413, "Request Entity Too Large");
    const event = buildEventV2(
      {
        method,
        url,
        rawHeaders: req.rawHeaders,
        body,
        sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, "") ?? "",
        protocol: `HTTP/${req.httpVersion}`,
      },
      match,
      { apiId: options.apiId },
    );
    const route = match.route;
    if (!route.public && options.authorizer) {
      const decision = await options.authorizer(event, route);
      if (typeof decision === "string" || "deny" in decision) return denial(decision);
      (event.requestContext as unknown as Record<string, unknown>).authorizer = {
        jwt: { claims: decision.claims, scopes: decision.scopes ?? null },
      };
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        route.handler(event),
        new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), timeoutMs);
        }),
      ]);
      if (result === "timeout") return message(503, "Service Unavailable");
      return toHttpResponse(result);
    } catch (err) {
      options.onError?.(err, event);
      return message(500, "Internal Server Error");
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether a request is for the API (a route matches, or the path is malformed: the API answers 400). */
  function isApiRequest(req: http.IncomingMessage): boolean {
    try {
      return matchRoute(options.routes, req.method ?? "GET", (req.url ?? "/").split("?")[0]) !== undefined;
    } catch {
      return true;
    }
  }

  const server = http.createServer((req, res) => {
    const started = performance.now();
    if (options.admin?.(req, res)) return;
    const cors = options.cors;
    if (cors && isPreflight(req)) {
      const out = preflight(cors, req);
      res.writeHead(out.statusCode, { ...out.headers, "content-length": "0" });
      res.end();
      return;
    }
    if (options.fallback && !isApiRequest(req)) {
      try {
        if (options.fallback(req, res)) return;
      } catch (err) {
        options.onError?.(err, undefined as unknown as APIGatewayProxyEventV2);
        if (res.headersSent) {
          res.destroy();
          return;
        }
      }
    }
    respond(req)
      .catch((err) => {
        options.onError?.(err, undefined as unknown as APIGatewayProxyEventV2);
        return message(500, "Internal Server Error");
      })
      .then((result) => {
        const out = withCors(cors, req, result);
        res.writeHead(out.statusCode, { ...out.headers, "content-length": String(out.body.length) });
        res.end(out.body);
        options.onResponse?.({
          method: req.method ?? "",
          path: (req.url ?? "").split("?")[0],
          status: out.statusCode,
          ms: Math.round(performance.now() - started),
        });
      });
  });
  const port = await listen(server, options.port, options.host);
  return {
    url: `http://${options.host}:${port}`,
    port,
    close: () => closeServer(server),
  };
}
