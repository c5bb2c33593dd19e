/**
 * Sign-in with OpenID Connect, authorization code + PKCE (oidc-client-ts): Cognito's
 * hosted UI in the cloud, the lab's issuer locally. Both are found by discovery at
 * `<authority>/.well-known/openid-configuration`. Tokens live in sessionStorage (gone
 * when the tab closes); the access token goes to the API as a bearer token.
 */
import { type User, UserManager, WebStorageStateStore } from "oidc-client-ts";
import { type DashboardAuthConfig, DEFAULT_REDIRECT_PATH } from "../../lib/dashboard-config";

/** Seconds before expiry at which the token is renewed (with a refresh token) or treated as expired. */
const EXPIRY_MARGIN_S = 30;

export interface SignedInUser {
  /** What to show: email, else preferred username, else subject. */
  name: string;
  accessToken: string;
  expiresAt?: number;
}

export interface Auth {
  /** The signed-in user, after finishing a redirect back from the issuer if this page load is one. */
  start(): Promise<SignedInUser | undefined>;
  /** A valid access token (renewed with the refresh token when close to expiry), or undefined. */
  accessToken(): Promise<string | undefined>;
  /** Goes to the issuer's sign-in page; `returnTo` is restored after the redirect back. */
  signIn(returnTo?: string): Promise<void>;
  /** Forgets the tokens and ends the issuer session (end_session_endpoint, or Cognito's /logout). */
  signOut(): Promise<void>;
  /** Forgets the tokens here only. */
  forget(): Promise<void>;
}

function describe(user: User): SignedInUser {
  const p = user.profile;
  const name =
    (typeof p.email === "string" && p.email) ||
    (typeof p.preferred_username === "string" && p.preferred_username) ||
    (typeof p["cognito:username"] === "string" && (p["cognito:username"] as string)) ||
    p.sub;
  return { name, accessToken: user.access_token, expiresAt: user.expires_at };
}

function isCallback(url: URL, redirectPath: string): boolean {
  return (
    url.pathname === redirectPath &&
    url.searchParams.has("state") &&
    (url.searchParams.has("code") || url.searchParams.has("error"))
  );
}

export function createAuth(config: DashboardAuthConfig, origin = window.location.origin): Auth {
  const redirectPath = config.redirectPath ?? DEFAULT_REDIRECT_PATH;
  const manager = new UserManager({
    authority: config.authority,
    client_id: config.clientId,
    redirect_uri: `${origin}${redirectPath}`,
    post_logout_redirect_uri: `${origin}/`,
    response_type: "code",
    scope: config.scopes.join(" "),
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
    // Renewal happens on demand in accessToken(), with the refresh token only (no hidden iframes).
    automaticSilentRenew: false,
    // The ID token has what the header shows; the userinfo endpoint needs more CORS than Cognito gives.
    loadUserInfo: false,
  });

  async function current(): Promise<User | undefined> {
    const user = await manager.getUser();
    if (!user) return undefined;
    const left = user.expires_in;
    if (left === undefined || left > EXPIRY_MARGIN_S) return user;
    if (user.refresh_token) {
      try {
        return (await manager.signinSilent()) ?? undefined;
      } catch {
        // fall through: signed out
      }
    }
    await manager.removeUser();
    return undefined;
  }

  return {
    async start() {
      const url = new URL(window.location.href);
      if (isCallback(url, redirectPath)) {
        let returnTo = "/";
        try {
          const user = await manager.signinRedirectCallback();
          const wanted = typeof user.state === "string" ? user.state : "/";
          returnTo = wanted.startsWith("/") && !wanted.startsWith("//") ? wanted : "/";
        } finally {
          // Never leave the code in the address bar or history.
          window.history.replaceState(null, "", returnTo);
        }
      }
      if (url.pathname === "/" && url.searchParams.has("state") && !isCallback(url, redirectPath)) {
        // Back from the issuer's sign-out: settle its state, tidy the address bar.
        await manager.signoutRedirectCallback().catch(() => undefined);
        window.history.replaceState(null, "", `/${url.hash}`);
      }
      const user = await current();
      return user ? describe(user) : undefined;
    },
    async accessToken() {
      return (await current())?.access_token;
    },
    async signIn(returnTo = `${window.location.pathname}${window.location.search}${window.location.hash}`) {
      await manager.signinRedirect({ state: returnTo });
    },
    async signOut() {
      const user = await manager.getUser();
      await manager.removeUser();
      const metadata = await manager.metadataService.getMetadata().catch(() => undefined);
      if (metadata?.end_session_endpoint) {
        await manager.signoutRedirect({ id_token_hint: user?.id_token });
        return;
      }
      // Cognito publishes no end_session_endpoint; its hosted UI signs out at /logout.
      const authorize = metadata?.authorization_endpoint;
      if (authorize && new URL(authorize).pathname === "/oauth2/authorize") {
        const logout = new URL("/logout", authorize);
        logout.searchParams.set("client_id", config.clientId);
        logout.searchParams.set("logout_uri", `${origin}/`);
        window.location.assign(logout.toString());
        return;
      }
      window.location.assign("/");
    },
    async forget() {
      await manager.removeUser();
    },
  };
}
