/**
 * The read API's routes, declared once: which are public and which scopes each requires.
 * The Pulumi MetadataApi component creates exactly these routes with these scopes, and the
 * lab gateway applies the same checks. Kept free of the AWS SDK so the Pulumi program can
 * import it cheaply.
 */
import { API_SCOPES } from "./auth";

export const API_ROUTES = {
  health: "GET /health",
  listFiles: "GET /files",
  getFile: "GET /files/{key+}",
  stats: "GET /stats",
  createUpload: "POST /uploads",
} as const;

export interface RouteDeclaration {
  routeKey: string;
  /** Public routes need no token; every other route is behind the JWT authorizer. */
  public: boolean;
  /**
   * The route's authorizationScopes: the token's `scope` must hold at least one of them
   * (API Gateway's rule). Empty or absent: any valid token (never the case here).
   */
  scopes?: readonly string[];
}

/** Every route of the API. Gateways (cloud and lab) create exactly these, with these scopes. */
export const ROUTE_TABLE: readonly (RouteDeclaration & { scopes: readonly string[] })[] = [
  { routeKey: API_ROUTES.health, public: true, scopes: [] },
  { routeKey: API_ROUTES.listFiles, public: false, scopes: [API_SCOPES.read] },
  { routeKey: API_ROUTES.getFile, public: false, scopes: [API_SCOPES.read] },
  { routeKey: API_ROUTES.stats, public: false, scopes: [API_SCOPES.read] },
  { routeKey: API_ROUTES.createUpload, public: false, scopes: [API_SCOPES.upload] },
];
