/**
 * OAuth scopes of the read API, named once. The Cognito resource server (components/),
 * the API route table (handlers/api/routes.ts), the lab's JWT checks and the dashboard's
 * sign-in all use these.
 */

/** Identifier of the Cognito resource server; scopes are `<identifier>/<name>`. */
export const RESOURCE_SERVER_IDENTIFIER = "media-pipeline";

export const API_SCOPE_NAMES = {
  read: "files.read",
  upload: "files.upload",
} as const;

export type ApiScopeName = keyof typeof API_SCOPE_NAMES;

/** Full scope strings as they appear in an access token's `scope` claim. */
export const API_SCOPES: Record<ApiScopeName, string> = {
  read: `${RESOURCE_SERVER_IDENTIFIER}/${API_SCOPE_NAMES.read}`,
  upload: `${RESOURCE_SERVER_IDENTIFIER}/${API_SCOPE_NAMES.upload}`,
};

/** What the dashboard asks for when a user signs in. */
export const DASHBOARD_SCOPES = ["openid", "email", API_SCOPES.read, API_SCOPES.upload] as const;
