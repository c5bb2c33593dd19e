/**
 * The dashboard's runtime configuration: the `config.json` served next to the page.
 * The Pulumi DashboardSite component writes it to the site bucket; the lab serves it
 * from lab/dashboard.ts. The page (web/src) fetches it before anything else, so one
 * build of the page works against any stack and against the lab.
 *
 * No Node or DOM imports here: the page bundles this file.
 */

import { DASHBOARD_SCOPES } from "./auth";
import { MAX_SINGLE_PUT_BYTES, UPLOAD_CONTENT_TYPES } from "./uploads";

export interface DashboardAuthConfig {
  /** OIDC issuer; discovery at `<authority>/.well-known/openid-configuration` (Cognito: `https://cognito-idp.<region>.amazonaws.com/<poolId>`). */
  authority: string;
  /** Public app client (no secret): authorization code + PKCE. */
  clientId: string;
  /** Scopes to request: DASHBOARD_SCOPES from lib/auth.ts. */
  scopes: string[];
  /** Path of the page the issuer redirects back to (default "/"): register `<site origin><redirectPath>` as a callback URL. */
  redirectPath?: string;
}

export interface DashboardUploadConfig {
  /** Largest file the page offers to upload (the API refuses bigger ones anyway). */
  maxBytes: number;
  /** Content types the page accepts; an entry may end in `/*` (e.g. "video/*"). Empty: anything. */
  contentTypes: string[];
}

export interface DashboardConfig {
  /** Base URL of the read API, without a trailing slash. May be relative to the page (the lab serves both on one origin). */
  apiUrl: string;
  auth: DashboardAuthConfig;
  uploads: DashboardUploadConfig;
}

/** Where the page expects its configuration, relative to the site root. */
export const DASHBOARD_CONFIG_PATH = "/config.json";

/** Redirect path when the configuration names none. */
export const DEFAULT_REDIRECT_PATH = "/";

/**
 * Upload limits for when a deployment does not set its own: those of the API's default
 * upload policy (handlers/api/uploads.ts DEFAULT_UPLOAD_POLICY: one S3 PUT, media types).
 * Pass the API's actual policy where it is at hand (the lab, the DashboardSite component).
 */
export const DEFAULT_UPLOAD_LIMITS: DashboardUploadConfig = {
  maxBytes: MAX_SINGLE_PUT_BYTES,
  contentTypes: [...UPLOAD_CONTENT_TYPES],
};

export const DEFAULT_DASHBOARD_SCOPES: string[] = [...DASHBOARD_SCOPES];

export class DashboardConfigError extends Error {
  constructor(message: string) {
    super(`invalid dashboard configuration: ${message}`);
    this.name = "DashboardConfigError";
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(obj: Record<string, unknown>, name: string, where: string): string {
  const v = obj[name];
  if (typeof v !== "string" || v === "") throw new DashboardConfigError(`${where}.${name} must be a non-empty string`);
  return v;
}

function strings(obj: Record<string, unknown>, name: string, where: string): string[] {
  const v = obj[name];
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string" && s !== "")) {
    throw new DashboardConfigError(`${where}.${name} must be an array of non-empty strings`);
  }
  return [...v] as string[];
}

/** Checks a parsed config.json and returns it typed (unknown fields dropped). Throws DashboardConfigError. */
export function parseDashboardConfig(value: unknown): DashboardConfig {
  if (!isRecord(value)) throw new DashboardConfigError("not a JSON object");
  const apiUrl = value.apiUrl;
  if (typeof apiUrl !== "string") throw new DashboardConfigError("apiUrl must be a string");
  const auth = value.auth;
  if (!isRecord(auth)) throw new DashboardConfigError("auth must be an object");
  const redirectPath = auth.redirectPath;
  if (redirectPath !== undefined && (typeof redirectPath !== "string" || !redirectPath.startsWith("/"))) {
    throw new DashboardConfigError("auth.redirectPath must be a path starting with /");
  }
  const uploads = value.uploads;
  if (!isRecord(uploads)) throw new DashboardConfigError("uploads must be an object");
  const maxBytes = uploads.maxBytes;
  if (typeof maxBytes !== "number" || !Number.isFinite(maxBytes) || maxBytes <= 0) {
    throw new DashboardConfigError("uploads.maxBytes must be a positive number");
  }
  const contentTypes = uploads.contentTypes;
  if (!Array.isArray(contentTypes) || !contentTypes.every((s) => typeof s === "string")) {
    throw new DashboardConfigError("uploads.contentTypes must be an array of strings");
  }
  return {
    apiUrl: apiUrl.replace(/\/+$/, ""),
    auth: {
      authority: str(auth, "authority", "auth"),
      clientId: str(auth, "clientId", "auth"),
      scopes: strings(auth, "scopes", "auth"),
      ...(redirectPath !== undefined ? { redirectPath } : {}),
    },
    uploads: { maxBytes, contentTypes: [...contentTypes] as string[] },
  };
}

/** Whether `contentType` is allowed by `patterns` ("video/*", "audio/mpeg"...); an empty list allows anything. */
export function contentTypeAllowed(contentType: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  const type = contentType.split(";")[0].trim().toLowerCase();
  return patterns.some((p) => {
    const pattern = p.trim().toLowerCase();
    return pattern.endsWith("/*") ? type.startsWith(pattern.slice(0, -1)) : type === pattern;
  });
}
