/**
 * api-authorized: every API Gateway route requires an authorizer, except the configured public
 * routes. Checked on a route's inputs (routeKey and authorizationType are plain values known at
 * preview), so it is a resource policy.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { asString, configOf, prop, schemaWithNote, UNKNOWN } from "./util";

export const ROUTE_TYPE = "aws:apigatewayv2/route:Route";
export const HTTP_API_TYPE = "aws:apigatewayv2/api:Api";
export const REST_METHOD_TYPE = "aws:apigateway/method:Method";

export interface ApiAuthorizedConfig {
  /** Route keys ("METHOD /path", as API Gateway writes them) that may be called without authorization. */
  publicRoutes: string[];
}

export const API_AUTHORIZED_DEFAULTS: ApiAuthorizedConfig = { publicRoutes: ["GET /health"] };

const AUTHORIZED_TYPES = ["JWT", "AWS_IAM", "CUSTOM"];

export const apiAuthorized: ResourceValidationPolicy = {
  name: "api-authorized",
  description:
    "Every API Gateway route requires an authorizer (JWT, IAM or Lambda), except the configured public routes " +
    "(GET /health by default).",
  enforcementLevel: "mandatory",
  configSchema: schemaWithNote({
    properties: {
      publicRoutes: {
        type: "array",
        items: { type: "string", minLength: 1 },
        uniqueItems: true,
        default: [...API_AUTHORIZED_DEFAULTS.publicRoutes],
        description:
          'Route keys that may be called without authorization, exactly as the route\'s routeKey (e.g. "GET /health").',
      },
    },
  }),
  remediationSteps:
    'Set authorizationType: "JWT" and authorizerId: <the API\'s Cognito JWT authorizer>.id on the route, or, if the ' +
    "route must be public, add its route key to publicRoutes in the api-authorized policy config.",
  validateResource: (args, reportViolation) => {
    const { publicRoutes } = configOf(args, API_AUTHORIZED_DEFAULTS);
    if (args.type === HTTP_API_TYPE) {
      // "Quick create": an API with `target` gets a $default route with no authorization.
      const target = prop(args.props, "target");
      if (target !== undefined && target !== null && !publicRoutes.includes("$default")) {
        reportViolation(
          `API ${args.name} sets \`target\` (quick create), which adds an unauthenticated $default route; remove ` +
            "target and declare aws.apigatewayv2.Route resources with an authorizer.",
        );
      }
      return;
    }
    if (args.type === REST_METHOD_TYPE) {
      const auth = asString(prop(args.props, "authorization"));
      if (auth === "NONE") {
        const method = asString(prop(args.props, "httpMethod"));
        reportViolation(
          `REST API method ${args.name} (${typeof method === "string" ? method : "?"}) has authorization "NONE"; ` +
            'set authorization to "COGNITO_USER_POOLS", "AWS_IAM" or "CUSTOM" with an authorizerId.',
        );
      }
      return;
    }
    if (args.type !== ROUTE_TYPE) args.notApplicable("Policy only applies to API Gateway routes and methods");

    const routeKey = asString(prop(args.props, "routeKey"));
    if (routeKey === UNKNOWN) return;
    if (typeof routeKey === "string" && publicRoutes.includes(routeKey)) return;
    const key = routeKey ?? "(no route key)";
    const type = asString(prop(args.props, "authorizationType"));
    if (type === UNKNOWN) return;
    if (type === undefined || !AUTHORIZED_TYPES.includes(type)) {
      reportViolation(
        `route "${key}" (${args.name}) has no authorizer (authorizationType ${type ?? "unset"}, i.e. NONE); set ` +
          'authorizationType "JWT" and authorizerId to the API\'s Cognito JWT authorizer, or add ' +
          `"${key}" to publicRoutes in the api-authorized policy config if it must be public.`,
      );
      return;
    }
    if (type !== "AWS_IAM") {
      const authorizerId = prop(args.props, "authorizerId");
      if (authorizerId !== UNKNOWN && (typeof authorizerId !== "string" || authorizerId === "")) {
        reportViolation(
          `route "${key}" (${args.name}) sets authorizationType ${type} but no authorizerId; set authorizerId to the ` +
            "API's authorizer.",
        );
      }
    }
  },
};
