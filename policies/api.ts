/**
 * api-authorized: nothing in the stack exposes a function or an API without authorization, except
 * the configured public routes:
 *  - HTTP API routes and REST API methods require an authorizer (JWT, IAM, Cognito or Lambda);
 *  - routes declared in an OpenAPI `body` (HTTP or REST API, RestApiPut) require `security`;
 *  - a WebSocket API authorizes its `$connect` route (the only one that can carry an authorizer;
 *    it guards the whole connection, API Gateway developer guide, "Controlling access to WebSocket
 *    APIs"), so its other routes need none;
 *  - a REST API's CORS preflight (OPTIONS with a MOCK integration) needs none, as browsers send
 *    preflights without credentials;
 *  - a Lambda function URL with auth type NONE, a `lambda.Permission` for principal "*", or for a
 *    service principal with neither sourceArn nor sourceAccount (any account's resource could then
 *    invoke it), is refused.
 *
 * It is a stack policy because a route's API (HTTP or WebSocket), a method's path and its
 * integration are other resources, joined by value or through the engine's property dependencies.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { AWS_TYPES } from "../lib/aws-types";
import { withExceptions } from "./exceptions";
import { asString, configOf, label, ofTypes, prop, referencedBy, schemaWithNote, UNKNOWN } from "./util";

const ROUTE_TYPE = AWS_TYPES.route;
const HTTP_API_TYPE = AWS_TYPES.httpApi;
const REST_API_TYPE = AWS_TYPES.restApi;
const REST_API_PUT_TYPE = AWS_TYPES.restApiPut;
const REST_METHOD_TYPE = AWS_TYPES.restMethod;
const REST_RESOURCE_TYPE = AWS_TYPES.restResource;
const REST_INTEGRATION_TYPE = AWS_TYPES.restIntegration;
const FUNCTION_URL_TYPE = AWS_TYPES.functionUrl;
const PERMISSION_TYPE = AWS_TYPES.permission;

export interface ApiAuthorizedConfig {
  /** Route keys ("METHOD /path", as API Gateway writes them) that may be called without authorization. */
  publicRoutes: string[];
}

export const API_AUTHORIZED_DEFAULTS: ApiAuthorizedConfig = { publicRoutes: ["GET /health"] };

const AUTHORIZED_TYPES = ["JWT", "AWS_IAM", "CUSTOM"];
const REST_AUTHORIZED = ["AWS_IAM", "COGNITO_USER_POOLS", "CUSTOM"];
const OPENAPI_METHODS: Record<string, string> = {
  get: "GET",
  put: "PUT",
  post: "POST",
  delete: "DELETE",
  patch: "PATCH",
  head: "HEAD",
  options: "OPTIONS",
  "x-amazon-apigateway-any-method": "ANY",
};

/** Two references name the same thing: equal known values, or a common property dependency. */
function sameTarget(a: PolicyResource, keyA: string, b: PolicyResource, keyB: string): boolean {
  const va = prop(a.props, keyA);
  const vb = prop(b.props, keyB);
  if (typeof va === "string" && typeof vb === "string") return va === vb;
  const da = a.propertyDependencies?.[keyA] ?? [];
  const db = b.propertyDependencies?.[keyB] ?? [];
  return da.some((d) => db.includes(d));
}

/** The path of a REST resource ("/files/{key}"), from its `path` or its pathPart chain; undefined when unknown. */
function restPath(
  resourceId: PolicyResource,
  key: string,
  all: readonly PolicyResource[],
  depth = 0,
): string | undefined {
  if (depth > 20) return undefined;
  const apis = ofTypes(all, [REST_API_TYPE]);
  if (apis.some((api) => sameTarget(resourceId, key, api, "rootResourceId"))) return "/";
  const resources = ofTypes(all, [REST_RESOURCE_TYPE]);
  const [res] = referencedBy(resourceId, key, resources, ["id"]);
  if (!res) return undefined;
  const known = asString(prop(res.props, "path"));
  if (typeof known === "string") return known;
  const part = asString(prop(res.props, "pathPart"));
  if (typeof part !== "string") return undefined;
  const parent = restPath(res, "parentId", all, depth + 1);
  return parent === undefined ? undefined : `${parent === "/" ? "" : parent}/${part}`;
}

/** Parses an OpenAPI body: JSON, or YAML (js-yaml, the pack's dependency, loaded only for a body that is not JSON). */
function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    try {
      const yaml = require("js-yaml") as { load(t: string): unknown };
      return yaml.load(text);
    } catch {
      return undefined;
    }
  }
}

function hasSecurity(security: unknown): boolean {
  return (
    Array.isArray(security) &&
    security.length > 0 &&
    security.every((req) => req && typeof req === "object" && Object.keys(req).length > 0)
  );
}

/** Routes of an OpenAPI document that carry no authorization: "METHOD /path". undefined when unreadable. */
export function openApiOpenRoutes(body: string): string[] | undefined {
  const doc = parseBody(body) as Record<string, unknown> | undefined;
  if (!doc || typeof doc !== "object" || typeof doc.paths !== "object" || doc.paths === null) return undefined;
  const open: string[] = [];
  for (const [p, item] of Object.entries(doc.paths as Record<string, unknown>)) {
    if (!item || typeof item !== "object") continue;
    for (const [m, op] of Object.entries(item as Record<string, unknown>)) {
      const method = OPENAPI_METHODS[m.toLowerCase()];
      if (!method || !op || typeof op !== "object") continue;
      const operation = op as Record<string, unknown>;
      const security = "security" in operation ? operation.security : doc.security;
      const auth = (operation["x-amazon-apigateway-auth"] as { type?: string } | undefined)?.type;
      if (hasSecurity(security) || (auth && auth.toUpperCase() !== "NONE")) continue;
      const integration = operation["x-amazon-apigateway-integration"] as { type?: string } | undefined;
      if (method === "OPTIONS" && integration?.type?.toLowerCase() === "mock") continue; // CORS preflight
      open.push(`${method} ${p}`);
    }
  }
  return open;
}

export const apiAuthorized: StackValidationPolicy = withExceptions({
  name: "api-authorized",
  description:
    "Nothing exposes a function or an API without authorization: HTTP and REST routes (declared as resources or in " +
    "an OpenAPI body) require an authorizer, a WebSocket API authorizes $connect, no function URL uses auth NONE and " +
    "no lambda.Permission is open to anyone; except the configured public routes (GET /health by default) and CORS " +
    "preflights with a MOCK integration.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithNote({
    properties: {
      publicRoutes: {
        type: "array",
        items: { type: "string", minLength: 1 },
        uniqueItems: true,
        default: [...API_AUTHORIZED_DEFAULTS.publicRoutes],
        description:
          'Route keys that may be called without authorization, exactly as the route\'s routeKey (e.g. "GET /health"); ' +
          'REST methods and OpenAPI routes as "METHOD /path".',
      },
    },
  }),
  remediationSteps:
    'Set authorizationType: "JWT" and authorizerId: <the API\'s Cognito JWT authorizer>.id on the route (REST: ' +
    'authorization "COGNITO_USER_POOLS" with an authorizerId; OpenAPI: a `security` requirement), use ' +
    'authorizationType "AWS_IAM" on function URLs, give lambda.Permission a service principal with sourceArn; if a ' +
    "route must be public, add its route key to publicRoutes in the api-authorized policy config.",
  validateStack: (args, reportViolation) => {
    const { publicRoutes } = configOf(args, API_AUTHORIZED_DEFAULTS);
    const all = args.resources;
    const apis = ofTypes(all, [HTTP_API_TYPE]);

    for (const api of apis) {
      // "Quick create": an API with `target` gets a $default route with no authorization.
      const target = prop(api.props, "target");
      if (target !== undefined && target !== null && target !== "" && !publicRoutes.includes("$default")) {
        reportViolation(
          `API ${api.name} sets \`target\` (quick create), which adds an unauthenticated $default route; remove ` +
            "target and declare aws.apigatewayv2.Route resources with an authorizer.",
          api.urn,
        );
      }
      if (asString(prop(api.props, "protocolType")) === "WEBSOCKET" && !publicRoutes.includes("$connect")) {
        const connect = ofTypes(all, [ROUTE_TYPE]).filter(
          (r) => referencedBy(r, "apiId", apis, ["id"]).includes(api) && prop(r.props, "routeKey") === "$connect",
        );
        if (connect.length === 0 && (prop(api.props, "body") ?? undefined) === undefined) {
          reportViolation(
            `WebSocket API ${api.name} has no $connect route, so anyone can connect; add a $connect route with ` +
              'authorizationType "AWS_IAM" or "CUSTOM".',
            api.urn,
          );
        }
      }
    }

    // Routes of HTTP and WebSocket APIs.
    for (const route of ofTypes(all, [ROUTE_TYPE])) {
      const routeKey = asString(prop(route.props, "routeKey"));
      if (routeKey === UNKNOWN) continue;
      const [api] = referencedBy(route, "apiId", apis, ["id"]);
      const websocket = api && asString(prop(api.props, "protocolType")) === "WEBSOCKET";
      if (websocket && routeKey !== "$connect") continue; // $connect's authorizer guards the connection
      if (typeof routeKey === "string" && publicRoutes.includes(routeKey)) continue;
      const key = routeKey ?? "(no route key)";
      const type = asString(prop(route.props, "authorizationType"));
      if (type === UNKNOWN) continue;
      const accepted = websocket ? ["AWS_IAM", "CUSTOM"] : AUTHORIZED_TYPES;
      if (type === undefined || !accepted.includes(type)) {
        reportViolation(
          `route "${key}" (${route.name}) has no authorizer (authorizationType ${type ?? "unset"}, i.e. NONE); set ` +
            (websocket
              ? 'authorizationType "AWS_IAM" or "CUSTOM" on the WebSocket API\'s $connect route.'
              : 'authorizationType "JWT" and authorizerId to the API\'s Cognito JWT authorizer, or add ' +
                `"${key}" to publicRoutes in the api-authorized policy config if it must be public.`),
          route.urn,
        );
        continue;
      }
      if (type !== "AWS_IAM") {
        const authorizerId = prop(route.props, "authorizerId");
        if (authorizerId !== UNKNOWN && (typeof authorizerId !== "string" || authorizerId === "")) {
          reportViolation(
            `route "${key}" (${route.name}) sets authorizationType ${type} but no authorizerId; set authorizerId to ` +
              "the API's authorizer.",
            route.urn,
          );
        }
      }
    }

    // REST API methods.
    const integrations = ofTypes(all, [REST_INTEGRATION_TYPE]);
    for (const method of ofTypes(all, [REST_METHOD_TYPE])) {
      const auth = asString(prop(method.props, "authorization"));
      if (auth === UNKNOWN) continue;
      const httpMethod = asString(prop(method.props, "httpMethod"));
      const verb = typeof httpMethod === "string" ? httpMethod.toUpperCase() : "?";
      if (auth !== undefined && REST_AUTHORIZED.includes(auth)) continue;
      const p = restPath(method, "resourceId", all);
      if (p !== undefined && publicRoutes.includes(`${verb} ${p}`)) continue;
      if (verb === "OPTIONS") {
        // A CORS preflight: answered by a MOCK integration, it runs nothing.
        const own = integrations.filter(
          (i) =>
            sameTarget(i, "resourceId", method, "resourceId") &&
            String(prop(i.props, "httpMethod")).toUpperCase() === "OPTIONS",
        );
        if (own.length > 0 && own.every((i) => prop(i.props, "type") === "MOCK")) continue;
      }
      reportViolation(
        `REST API method ${method.name} (${verb} ${p ?? "?"}) has authorization ${JSON.stringify(auth ?? "NONE")}; ` +
          'set authorization to "COGNITO_USER_POOLS", "AWS_IAM" or "CUSTOM" with an authorizerId (a CORS preflight ' +
          "passes with a MOCK integration).",
        method.urn,
      );
    }

    // Routes declared in an OpenAPI body.
    for (const r of ofTypes(all, [HTTP_API_TYPE, REST_API_TYPE, REST_API_PUT_TYPE])) {
      const body = prop(r.props, "body");
      if (body === UNKNOWN || body === undefined || body === null || body === "") continue;
      const open = typeof body === "string" ? openApiOpenRoutes(body) : undefined;
      if (open === undefined) {
        reportViolation(
          `${label(r)} declares its routes in a body the pack cannot read as OpenAPI, so their authorization cannot ` +
            "be checked; write the body as OpenAPI JSON (or YAML).",
          r.urn,
        );
        continue;
      }
      const unlisted = open.filter((k) => !publicRoutes.includes(k));
      if (unlisted.length > 0) {
        reportViolation(
          `${label(r)} declares routes without authorization in its OpenAPI body: ${unlisted.join(", ")}; give each ` +
            "operation (or the document) a `security` requirement, or add the route to publicRoutes.",
          r.urn,
        );
      }
    }

    // Lambda function URLs.
    for (const url of ofTypes(all, [FUNCTION_URL_TYPE])) {
      if (prop(url.props, "authorizationType") === "NONE") {
        reportViolation(
          `function URL ${url.name} has authorizationType "NONE", so anyone on the internet can invoke the function; ` +
            'use "AWS_IAM" (or put the function behind the API with its authorizer).',
          url.urn,
        );
      }
    }

    // Resource-based permissions on functions.
    for (const perm of ofTypes(all, [PERMISSION_TYPE])) {
      const principal = asString(prop(perm.props, "principal"));
      if (principal === UNKNOWN || principal === undefined) continue;
      const scoped = ["sourceArn", "sourceAccount", "principalOrgId"].some((k) => {
        const v = prop(perm.props, k);
        return v === UNKNOWN || (typeof v === "string" && v !== "" && v !== "*");
      });
      if (prop(perm.props, "functionUrlAuthType") === "NONE") {
        reportViolation(
          `permission ${perm.name} allows invoking a function URL with auth NONE (public); use AWS_IAM.`,
          perm.urn,
        );
      } else if (principal === "*" && !scoped) {
        reportViolation(
          `permission ${perm.name} lets any principal ("*") invoke the function; name the service or account, ` +
            "with sourceArn.",
          perm.urn,
        );
      } else if (/\.amazonaws\.com$/.test(principal) && !scoped) {
        reportViolation(
          `permission ${perm.name} lets ${principal} invoke the function on behalf of any account's resource; set ` +
            "sourceArn (or sourceAccount) to the resource that may call it.",
          perm.urn,
        );
      }
    }
  },
});
