/**
 * The read API client: bearer token on every call, problem+json errors as ApiError.
 * Paths as in handlers/api/routes.ts; the object key is sent as a greedy path, each
 * segment URL-encoded.
 */

import type { DocumentStatus, MediaKind, MetadataDocument } from "../../lib/schema";
import type { TableStats } from "../../lib/stats";

export interface FileDetail extends MetadataDocument {
  /** Presigned link to the full ffprobe JSON, when the API offers one. */
  rawUrl?: string;
}

export interface FilePage {
  items: MetadataDocument[];
  cursor?: string;
}

export interface ListQuery {
  limit?: number;
  cursor?: string;
  status?: DocumentStatus | "";
  kind?: MediaKind | "";
  /** File-name search, server-side (case-insensitive). */
  q?: string;
  /** Key prefix, server-side. */
  prefix?: string;
}

/** GET /health: the API and, when known, the pipeline. */
export interface Health {
  status: string;
  pipeline?: { state: "running" | "paused" | "partial"; pausedAt?: string; pending?: number };
}

export interface UploadRequest {
  fileName: string;
  contentType: string;
  size: number;
}

/** Where and how to send the file bytes, as POST /uploads describes it. */
export type PresignedUpload =
  | { method: "PUT"; url: string; headers: Record<string, string>; key: string; expiresAt?: string }
  | { method: "POST"; url: string; fields: Record<string, string>; key: string; expiresAt?: string };

/** An error answer of the API (RFC 9457 problem details when it sent them) or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problemType?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
  get unauthorized(): boolean {
    return this.status === 401;
  }
}

/** Gives the current access token, or undefined when signed out. */
export type TokenSource = () => Promise<string | undefined>;

/** The API path of one file's document: the key as a greedy path, each segment URL-encoded. */
export function filePath(key: string): string {
  return `/files/${key.split("/").map(encodeURIComponent).join("/")}`;
}

async function errorFrom(res: Response): Promise<ApiError> {
  const type = res.headers.get("content-type") ?? "";
  let message = `${res.status} ${res.statusText || "error"}`;
  let problemType: string | undefined;
  try {
    if (type.includes("json")) {
      const body = (await res.json()) as { title?: string; detail?: string; message?: string; type?: string };
      message = body.detail ?? body.message ?? body.title ?? message;
      problemType = body.type;
    }
  } catch {
    // keep the status line
  }
  if (res.status === 401) message = "Your session has expired. Sign in again.";
  if (res.status === 403) message = `Not allowed: ${message}`;
  return new ApiError(res.status, message, problemType);
}

/** Normalizes whatever POST /uploads returned into a PresignedUpload. */
export function toPresignedUpload(body: unknown): PresignedUpload {
  const raw = (body && typeof body === "object" && "upload" in body ? (body as { upload: unknown }).upload : body) as
    | Record<string, unknown>
    | undefined;
  const outer = body as Record<string, unknown> | undefined;
  const url = raw?.url;
  const key = raw?.key ?? outer?.key;
  if (typeof url !== "string" || typeof key !== "string") {
    throw new ApiError(0, "The API answered the upload request without a URL and key.");
  }
  const method = String(raw?.method ?? (raw?.fields ? "POST" : "PUT")).toUpperCase();
  const expiresAt = typeof raw?.expiresAt === "string" ? raw.expiresAt : undefined;
  const strings = (v: unknown): Record<string, string> =>
    Object.fromEntries(Object.entries((v ?? {}) as Record<string, unknown>).map(([k, x]) => [k, String(x)]));
  if (method === "POST") return { method: "POST", url, fields: strings(raw?.fields), key, expiresAt };
  return { method: "PUT", url, headers: strings(raw?.headers), key, expiresAt };
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: TokenSource,
  ) {}

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("accept", "application/json, application/problem+json");
    const token = await this.token();
    if (token) headers.set("authorization", `Bearer ${token}`);
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, { ...init, headers });
    } catch (err) {
      throw new ApiError(0, `The API cannot be reached (${(err as Error).message}).`);
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  }

  async listFiles(query: ListQuery = {}): Promise<FilePage> {
    const params = new URLSearchParams();
    if (query.limit) params.set("limit", String(query.limit));
    if (query.cursor) params.set("cursor", query.cursor);
    if (query.status) params.set("status", query.status);
    if (query.kind) params.set("kind", query.kind);
    if (query.q) params.set("q", query.q);
    if (query.prefix) params.set("prefix", query.prefix);
    const qs = params.toString();
    const res = await this.request(`/files${qs ? `?${qs}` : ""}`);
    const body = (await res.json()) as { items?: MetadataDocument[]; cursor?: string; nextCursor?: string };
    const cursor = body.cursor ?? body.nextCursor;
    return { items: body.items ?? [], ...(cursor ? { cursor } : {}) };
  }

  /** The document for `key`, or undefined when there is none (yet). */
  async getFile(key: string): Promise<FileDetail | undefined> {
    try {
      const res = await this.request(filePath(key));
      return (await res.json()) as FileDetail;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Totals over the whole table (GET /stats), kept up to date by the stats aggregator. */
  async stats(): Promise<TableStats> {
    const res = await this.request("/stats");
    return (await res.json()) as TableStats;
  }

  /** GET /health (public). */
  async health(): Promise<Health> {
    const res = await this.request("/health");
    return (await res.json()) as Health;
  }

  async createUpload(req: UploadRequest): Promise<PresignedUpload> {
    const res = await this.request("/uploads", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(req),
    });
    return toPresignedUpload(await res.json());
  }
}
