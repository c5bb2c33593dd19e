/**
 * The checks an API Gateway HTTP API JWT authorizer applies, for the lab gateway
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html):
 *
 * 1. identity source `$request.header.Authorization`: the token, optionally prefixed `Bearer `;
 * 2. signature: RSA algorithms only, the header's `kid` must name a key of the issuer's
 *    JWKS (found through `<issuer>/.well-known/openid-configuration`, cached);
 * 3. `iss` equals the configured issuer;
 * 4. audience: when the token has `aud`, it must contain one of the configured audiences;
 *    only when it has none, `client_id` must be one of them (Cognito access tokens);
 * 5. `exp` after now, `nbf` (if any) and `iat` before now;
 * 6. when the route has authorizationScopes, the token's `scope` (or `scp`) must hold at
 *    least one of them, else 403.
 *
 * Any failure of 1-5 is a 401, 6 a 403, each with the `www-authenticate` description API
 * Gateway gives. On success the claims go to the handler as API Gateway passes them in
 * payload 2.0: every value a string (numbers and booleans stringified, arrays as
 * "[a b]", nulls left out), and `scopes` set to the token's scopes on routes with
 * scopes (null otherwise).
 */
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from "jose";
import type { Authorizer, AuthorizerDenial, AuthorizerGrant } from "../api-gateway";

export interface JwtAuthorizerConfig {
  /** The issuer (`iss`), e.g. `https://cognito-idp.<region>.amazonaws.com/<poolId>` or the lab issuer. */
  issuer: string;
  /** Accepted audiences: matched against `aud`, or `client_id` when the token has no `aud`. */
  audience: readonly string[];
  /** Verification keys; default: the issuer's JWKS from its discovery document. */
  jwks?: JWTVerifyGetKey;
  /** Current time (tests). */
  now?: () => Date;
  onError?: (err: unknown) => void;
}

const RSA_ALGORITHMS = ["RS256", "RS384", "RS512"];

function unauthorized(description: string): AuthorizerDenial {
  return { deny: "unauthorized", description };
}

/** The token's scopes, from `scope` (space-separated) or `scp` (string or array). */
export function tokenScopes(payload: JWTPayload): string[] {
  const raw = payload.scope ?? payload.scp;
  if (typeof raw === "string") return raw.split(" ").filter(Boolean);
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  return [];
}

/** A claim value as API Gateway renders it in `requestContext.authorizer.jwt.claims`. */
function claimValue(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value))
    return `[${value.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(" ")}]`;
  return JSON.stringify(value);
}

export function apiGatewayClaims(payload: JWTPayload): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload)) {
    const s = claimValue(v);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/** Keys from the issuer's discovery document, looked up once (retried after a failure). */
function discoveredJwks(issuer: string): JWTVerifyGetKey {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const load = async (): Promise<JWTVerifyGetKey> => {
    const res = await fetch(`${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`);
    if (!res.ok) throw new Error(`OpenID discovery for ${issuer} answered ${res.status}`);
    const { jwks_uri: jwksUri } = (await res.json()) as { jwks_uri?: string };
    if (!jwksUri) throw new Error(`the discovery document of ${issuer} has no jwks_uri`);
    // API Gateway caches the keys for up to two hours.
    return createRemoteJWKSet(new URL(jwksUri), { cacheMaxAge: 2 * 3600_000 });
  };
  return async (header, token) => {
    keys ??= load().catch((err) => {
      keys = undefined;
      throw err;
    });
    return (await keys)(header, token);
  };
}

export function createJwtAuthorizer(config: JwtAuthorizerConfig): Authorizer {
  const jwks = config.jwks ?? discoveredJwks(config.issuer);
  const now = config.now ?? (() => new Date());

  return async (event, route) => {
    const header = event.headers?.authorization;
    if (!header) return unauthorized("the authorization header is missing");
    const token = header.replace(/^Bearer\s+/i, "").trim();
    if (!token) return unauthorized("the authorization header is missing");

    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      return unauthorized("the token is not a valid JWT");
    }
    if (!alg || !RSA_ALGORITHMS.includes(alg)) return unauthorized(`the token's algorithm ${alg} is not supported`);

    const current = now();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        algorithms: RSA_ALGORITHMS,
        issuer: config.issuer,
        currentDate: current,
        requiredClaims: ["exp", "iat"],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) return unauthorized("the token has expired");
      if (err instanceof joseErrors.JWTClaimValidationFailed) {
        if (err.claim === "iss") return unauthorized("the token does not have a valid issuer");
        if (err.claim === "nbf") return unauthorized("the token is not valid yet (nbf)");
        return unauthorized(`the token's ${err.claim} claim is missing or invalid`);
      }
      if (err instanceof joseErrors.JWKSNoMatchingKey)
        return unauthorized("no key of the issuer matches the token's kid");
      if (err instanceof joseErrors.JWSSignatureVerificationFailed)
        return unauthorized("the token's signature is invalid");
      if (err instanceof joseErrors.JOSEError) return unauthorized("the token is invalid");
      config.onError?.(err); // e.g. the issuer's keys cannot be fetched
      return unauthorized("the token could not be validated");
    }

    if (typeof payload.iat !== "number" || payload.iat > Math.floor(current.getTime() / 1000)) {
      return unauthorized("the token was issued in the future (iat)");
    }
    if (payload.aud !== undefined) {
      const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
      if (!aud.some((a) => config.audience.includes(a)))
        return unauthorized("the token does not have a valid audience");
    } else if (typeof payload.client_id !== "string" || !config.audience.includes(payload.client_id)) {
      return unauthorized("the token does not have a valid audience");
    }

    const required = route.scopes ?? [];
    const scopes = tokenScopes(payload);
    if (required.length > 0 && !required.some((s) => scopes.includes(s))) {
      return {
        deny: "forbidden",
        description: `expected scopes: [${required.join(" ")}]`,
        scope: required.join(" "),
      };
    }
    const grant: AuthorizerGrant = {
      claims: apiGatewayClaims(payload),
      scopes: required.length > 0 ? scopes : null,
    };
    return grant;
  };
}
