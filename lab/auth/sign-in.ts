/**
 * Signs in to an OpenID Connect issuer the way the dashboard does (authorization code +
 * PKCE S256), filling in the issuer's HTML login form like a browser would: for tests,
 * the bench and scripts that need a real token from the lab's issuer.
 *
 *   const tokens = await signInWithPassword({ issuer, clientId, redirectUri, username, password });
 *   fetch(`${apiUrl}/files`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { DASHBOARD_SCOPES } from "../../lib/auth";
import type { LabEndpoints } from "../lab";
import type { LabUser } from "./secrets";

export interface SignInOptions {
  issuer: string;
  clientId: string;
  /** A redirect URI registered for the client (the dashboard's URL). */
  redirectUri: string;
  username: string;
  password: string;
  /** What to ask for (the dashboard asks for DASHBOARD_SCOPES). */
  scopes: readonly string[];
}

export interface TokenSet {
  access_token: string;
  id_token?: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

export class SignInError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "SignInError";
  }
}

/** A cookie jar for one origin (paths ignored: the issuer's cookies have distinct names). */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v] = a.trim().split("=");
        if (k.toLowerCase() === "max-age") return Number(v) <= 0;
        if (k.toLowerCase() === "expires") return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

export async function signInWithPassword(options: SignInOptions): Promise<TokenSet> {
  const discovery = (await (await fetch(`${options.issuer}/.well-known/openid-configuration`)).json()) as {
    authorization_endpoint: string;
    token_endpoint: string;
  };
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const state = randomBytes(16).toString("base64url");
  const auth = new URL(discovery.authorization_endpoint);
  auth.search = new URLSearchParams({
    client_id: options.clientId,
    response_type: "code",
    redirect_uri: options.redirectUri,
    scope: options.scopes.join(" "),
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();

  const jar = new CookieJar();
  const request = async (url: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    const cookie = jar.header();
    if (cookie) headers.set("cookie", cookie);
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    jar.store(res);
    return res;
  };

  /** Follows redirects on the issuer until a page, or a redirect to the client (returned as its URL). */
  const follow = async (first: Response, from: string): Promise<{ page?: string; url: string; callback?: URL }> => {
    let res = first;
    let url = from;
    for (let hops = 0; hops < 10; hops++) {
      const location = res.headers.get("location");
      if (res.status < 300 || res.status >= 400 || !location) {
        return { page: await res.text(), url };
      }
      url = new URL(location, url).toString();
      if (url.startsWith(options.redirectUri)) return { url, callback: new URL(url) };
      res = await request(url);
    }
    throw new SignInError("too many redirects");
  };

  let step = await follow(await request(auth.toString()), auth.toString());
  if (!step.callback) {
    const action = /<form[^>]*action="([^"]+)"/i.exec(step.page ?? "")?.[1];
    if (!action) throw new SignInError(`no sign-in form at ${step.url}`);
    const target = new URL(action.replace(/&amp;/g, "&"), step.url).toString();
    const posted = await request(target, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username: options.username, password: options.password }).toString(),
    });
    if (posted.status === 401) throw new SignInError("wrong username or password", 401);
    step = await follow(posted, target);
  }
  const callback = step.callback;
  if (!callback) throw new SignInError(`sign-in did not return to the client (ended at ${step.url})`);
  if (callback.searchParams.get("state") !== state) throw new SignInError("state mismatch");
  const error = callback.searchParams.get("error");
  if (error) throw new SignInError(`${error}: ${callback.searchParams.get("error_description") ?? ""}`);
  const code = callback.searchParams.get("code");
  if (!code) throw new SignInError("no authorization code");

  const token = await fetch(discovery.token_endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: options.redirectUri,
      client_id: options.clientId,
      code_verifier: verifier,
    }).toString(),
  });
  const body = (await token.json()) as TokenSet & { error?: string; error_description?: string };
  if (!token.ok) throw new SignInError(`token endpoint: ${body.error}: ${body.error_description ?? ""}`, token.status);
  return body;
}

/** An access token of the lab user for a running lab (as the dashboard would get it). */
export async function labAccessToken(
  endpoints: Pick<LabEndpoints, "auth" | "dashboardUrl">,
  scopes: readonly string[] = DASHBOARD_SCOPES,
): Promise<string> {
  const user = JSON.parse(fs.readFileSync(endpoints.auth.userFile, "utf8")) as LabUser;
  const tokens = await signInWithPassword({
    issuer: endpoints.auth.issuer,
    clientId: endpoints.auth.clientId,
    redirectUri: endpoints.dashboardUrl,
    username: user.email,
    password: user.password,
    scopes,
  });
  return tokens.access_token;
}
