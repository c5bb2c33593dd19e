/**
 * The lab's OpenID Connect issuer, standing in for the Cognito user pool: oidc-provider
 * (panva) on its own loopback port, with
 *
 * - one public client, the dashboard: authorization code + PKCE (S256 only, required),
 *   redirect URIs = the lab's dashboard URLs, refresh tokens (rotated);
 * - one user (lab/auth/secrets.ts), signing in on a plain HTML form (username, password,
 *   submit), which a headless browser or lab/auth/sign-in.ts fills in;
 * - access tokens as signed JWTs (RS256, RFC 9068 `at+jwt`) for one resource, the read
 *   API, whose `scope` holds the API scopes granted (lib/auth.ts) and with `client_id`,
 *   `token_use: "access"` and `username`, like Cognito's;
 * - signing and cookie keys generated once and kept under `<lab dir>/auth/`.
 *
 * Where it differs from Cognito: Cognito access tokens have no `aud` (API Gateway then
 * matches `client_id` against the authorizer's audience); oidc-provider requires an `aud`
 * in JWT access tokens, so the lab sets it to the client id. The same authorizer
 * configuration (audience = [dashboard client id]) accepts both. Sessions, grants and
 * refresh tokens are in memory: a lab restart signs the dashboard out once its access
 * token expires (the tokens themselves stay valid: keys are persisted).
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";
import Provider, {
  type Adapter,
  type AdapterFactory,
  type AdapterPayload,
  type Configuration,
  errors,
  type KoaContextWithOIDC,
} from "oidc-provider";
import { API_SCOPES } from "../../lib/auth";
import { closeServer, listen } from "../http-server";
import { type LabUser, labAuthPaths, labUser, readOrCreateJson, writePrivateFile } from "./secrets";

/** The dashboard's client id in the lab (Cognito generates one per app client). */
export const LAB_CLIENT_ID = "media-pipeline-dashboard";
/** Access token lifetime (Cognito's default: 60 minutes). */
export const LAB_ACCESS_TOKEN_TTL_SECONDS = 3600;
const OIDC_SCOPES = ["openid", "email", "profile", "offline_access"];

export interface LabIssuerOptions {
  /** Lab folder: keys and the user live under `<dir>/auth/`. */
  dir: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The dashboard URLs the issuer may redirect to after sign-in (exact match). */
  redirectUris: string[];
  /** Resource indicator of the read API (an absolute URI; the API's URL). */
  apiResource: string;
  onError?: (err: unknown) => void;
}

export interface LabIssuer {
  /** Issuer identifier (`iss`); discovery at `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  /** What the JWT authorizer accepts as audience (`aud`, or `client_id` when there is no `aud`). */
  audience: string[];
  jwksUri: string;
  user: LabUser;
  close(): Promise<void>;
}

interface SigningKeys {
  keys: JWK[];
}

async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: "RS256", use: "sig" };
}

const isSigningKeys = (v: unknown): v is SigningKeys =>
  Array.isArray((v as SigningKeys)?.keys) &&
  (v as SigningKeys).keys.length > 0 &&
  (v as SigningKeys).keys.every((k) => k?.kty === "RSA" && typeof k.d === "string" && typeof k.kid === "string");

/** The issuer's private signing keys (RS256), generated on first use and persisted. */
export async function labSigningKeys(dir: string): Promise<JWK[]> {
  const file = labAuthPaths(dir).signingKeys;
  const valid = (): SigningKeys | undefined => {
    try {
      const v: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
      return isSigningKeys(v) ? v : undefined;
    } catch {
      return undefined;
    }
  };
  const existing = valid();
  if (existing) return existing.keys;
  const created = { keys: [await newSigningKey()] };
  writePrivateFile(file, `${JSON.stringify(created, null, 2)}\n`);
  return created.keys;
}

function cookieKeys(dir: string): string[] {
  return readOrCreateJson<string[]>(
    labAuthPaths(dir).cookieKeys,
    () => [randomBytes(32).toString("base64url")],
    (v): v is string[] => Array.isArray(v) && v.length > 0 && v.every((k) => typeof k === "string"),
  );
}

/**
 * Sessions, interactions, grants, codes and refresh tokens, in memory, one store per
 * issuer (oidc-provider's own fallback is shared by the process and warns on every start).
 */
export function memoryAdapter(): AdapterFactory {
  const store = new Map<string, { payload: AdapterPayload; expiresAt?: number }>();
  const grants = new Map<string, Set<string>>();
  const live = (key: string) => {
    const entry = store.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry;
  };
  return (name: string): Adapter => {
    const k = (id: string) => `${name}:${id}`;
    const findBy = async (field: "uid" | "userCode", value: string) => {
      for (const [key, entry] of store) {
        if (key.startsWith(`${name}:`) && entry.payload[field] === value) return live(key)?.payload;
      }
      return undefined;
    };
    return {
      async upsert(id, payload, expiresIn) {
        store.set(k(id), { payload, ...(expiresIn ? { expiresAt: Date.now() + expiresIn * 1000 } : {}) });
        if (payload.grantId) {
          const set = grants.get(payload.grantId) ?? new Set<string>();
          set.add(k(id));
          grants.set(payload.grantId, set);
        }
      },
      async find(id) {
        return live(k(id))?.payload;
      },
      findByUid: (uid) => findBy("uid", uid),
      findByUserCode: (userCode) => findBy("userCode", userCode),
      async consume(id) {
        const entry = live(k(id));
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        store.delete(k(id));
      },
      async revokeByGrantId(grantId) {
        for (const key of grants.get(grantId) ?? []) store.delete(key);
        grants.delete(grantId);
      },
    };
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
};

const STYLE =
  "body{font:16px system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}" +
  "label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}" +
  "button{margin-top:1rem;padding:.5rem 1rem;font:inherit;border-radius:6px;border:1px solid #3b5bdb;background:#3b5bdb;color:#fff;cursor:pointer}" +
  "button.secondary{background:transparent;color:#3b5bdb}h1{font-size:1.4rem}" +
  "@media (prefers-color-scheme:dark){body{background:#16181d;color:#e6e6e6}.hint{color:#aaa}}" +
  ".error{color:#b00020}.hint{color:#555;font-size:.85rem}";

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

function loginPage(uid: string, clientName: string, error?: string, username = ""): string {
  return page(
    "Sign in - media-pipeline lab",
    `<h1>Sign in</h1><p>to <strong>${escapeHtml(clientName)}</strong> (media-pipeline lab)</p>` +
      (error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : "") +
      `<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">` +
      `<label for="username">Email</label><input id="username" name="username" type="email" autocomplete="username" required autofocus value="${escapeHtml(username)}">` +
      `<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>` +
      `<button type="submit">Sign in</button></form>` +
      `<p class="hint">The lab prints the user and password when it starts (also in the lab folder, auth/user.json).</p>` +
      `<p><a href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>`,
  );
}

/**
 * The sign-out confirmation: `form` is oidc-provider's hidden form (id "op.logoutForm", with its
 * xsrf token); the buttons submit it, "logout=yes" signing out.
 */
export function logoutPage(form: string): string {
  return page(
    "Sign out - media-pipeline lab",
    `<h1>Sign out</h1><p>Sign out of the media-pipeline lab on this browser?</p>${form}` +
      `<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button> ` +
      `<button type="submit" form="op.logoutForm" class="secondary">Stay signed in</button>`,
  );
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

async function readForm(req: http.IncomingMessage, max = 8 * 1024): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new Error("form too large");
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

export async function startLabIssuer(options: LabIssuerOptions): Promise<LabIssuer> {
  const user = labUser(options.dir);
  const keys = await labSigningKeys(options.dir);
  const apiScopes = Object.values(API_SCOPES);

  // Listen first: the issuer identifier contains the port.
  let handle: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => {
    res.writeHead(503).end();
  };
  const server = http.createServer((req, res) => handle(req, res));
  const issuer = `http://${options.host}:${await listen(server, options.port, options.host)}`;

  const account = {
    accountId: user.sub,
    claims: async () => ({
      sub: user.sub,
      email: user.email,
      email_verified: true,
      preferred_username: user.email,
    }),
  };

  const configuration: Configuration = {
    adapter: memoryAdapter(),
    clients: [
      {
        client_id: LAB_CLIENT_ID,
        client_name: "media-pipeline dashboard",
        application_type: "web",
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        redirect_uris: options.redirectUris,
        post_logout_redirect_uris: options.redirectUris,
      },
    ],
    jwks: { keys: keys as NonNullable<Configuration["jwks"]>["keys"] },
    cookies: { keys: cookieKeys(options.dir) },
    scopes: OIDC_SCOPES,
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["preferred_username"] },
    // Like Cognito's ID token: the email is in it (the dashboard does not call userinfo).
    conformIdTokenClaims: false,
    findAccount: async (_ctx, id) => (id === user.sub ? account : undefined),
    pkce: { required: () => true },
    ttl: {
      AccessToken: LAB_ACCESS_TOKEN_TTL_SECONDS,
      AuthorizationCode: 60,
      IdToken: LAB_ACCESS_TOKEN_TTL_SECONDS,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      RefreshToken: 30 * 24 * 3600,
    },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      // Our own pages: oidc-provider's defaults are unstyled and import fonts from the internet.
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = "html";
          ctx.set(PAGE_HEADERS);
          ctx.body = logoutPage(form);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = "html";
          ctx.set(PAGE_HEADERS);
          ctx.body = page(
            "Signed out - media-pipeline lab",
            `<h1>Signed out</h1><p>You are signed out of the media-pipeline lab.</p>`,
          );
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.apiResource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => {
          if (resource !== options.apiResource) throw new errors.InvalidTarget();
          return {
            scope: apiScopes.join(" "),
            audience: client.clientId,
            accessTokenFormat: "jwt",
            accessTokenTTL: LAB_ACCESS_TOKEN_TTL_SECONDS,
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
    },
    // Cognito-like access token claims.
    extraTokenClaims: (_ctx, token) =>
      "accountId" in token && token.accountId === user.sub ? { token_use: "access", username: user.email } : undefined,
    // Like Cognito: a refresh token whenever the client may use one.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    // First-party client: no consent screen; everything requested is granted.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const client = ctx.oidc.client;
      const session = ctx.oidc.session;
      if (!client || !session?.accountId) return undefined;
      const existing = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      if (existing) {
        const grant = await ctx.oidc.provider.Grant.find(existing);
        if (grant) return grant;
      }
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope(OIDC_SCOPES.join(" "));
      grant.addResourceScope(options.apiResource, apiScopes.join(" "));
      await grant.save();
      return grant;
    },
    clientBasedCORS: (_ctx, origin, client) =>
      (client.redirectUris ?? []).some((uri) => new URL(uri).origin === origin),
    renderError: (ctx, out) => {
      ctx.type = "html";
      ctx.body = page(
        "Sign-in error",
        `<h1>Sign-in error</h1><p class="error">${escapeHtml(String(out.error))}: ${escapeHtml(String(out.error_description ?? ""))}</p>`,
      );
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.on("server_error", (_ctx, err) => options.onError?.(err));
  const callback = provider.callback();

  async function interaction(req: http.IncomingMessage, res: http.ServerResponse, uid: string, action?: string) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new errors.SessionNotFound("interaction mismatch");
    const clientName = LAB_CLIENT_ID;
    if (action === "abort") {
      await provider.interactionFinished(
        req,
        res,
        { error: "access_denied", error_description: "the user cancelled the sign-in" },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (details.prompt.name !== "login") {
      // Consent is never asked (loadExistingGrant); finish with the session's grant.
      await provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
      return;
    }
    if (action === "login" && req.method === "POST") {
      const form = await readForm(req);
      const username = (form.get("username") ?? "").trim();
      const password = form.get("password") ?? "";
      const ok = username.toLowerCase() === user.email.toLowerCase() && sameSecret(password, user.password);
      if (!ok) {
        res.writeHead(401, PAGE_HEADERS).end(loginPage(uid, clientName, "Wrong email or password.", username));
        return;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: user.sub, remember: false } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    res.writeHead(200, PAGE_HEADERS).end(loginPage(uid, clientName));
  }

  handle = (req, res) => {
    const m = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|abort))?$/.exec((req.url ?? "/").split("?")[0]);
    if (!m) {
      callback(req, res);
      return;
    }
    interaction(req, res, m[1], m[2]).catch((err) => {
      const expired = err instanceof errors.SessionNotFound || err instanceof errors.InvalidRequest;
      if (!expired) options.onError?.(err);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res
        .writeHead(expired ? 400 : 500, PAGE_HEADERS)
        .end(
          page(
            "Sign-in error",
            expired
              ? "<h1>This sign-in has expired</h1><p>Go back to the dashboard and sign in again.</p>"
              : "<h1>Sign-in failed</h1><p>See the lab's log.</p>",
          ),
        );
    });
  };

  return {
    issuer,
    clientId: LAB_CLIENT_ID,
    audience: [LAB_CLIENT_ID],
    jwksUri: `${issuer}/jwks`,
    user,
    close: () => closeServer(server),
  };
}
