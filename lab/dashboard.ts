/**
 * Serves the dashboard page in the lab, the way CloudFront + S3 serve it in the cloud:
 * the files of web/dist (content types, cache headers, ETags), `index.html` for `/` and
 * for any other page path (the page routes with #hashes, so this is only a safety net),
 * and `GET /config.json` with the lab's configuration. The lab gateway calls the handler
 * for paths that are not API routes.
 *
 * web/dist is built on demand (esbuild, well under a second) when it is missing or older
 * than the sources, so `npm start` on a clean clone serves the page.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as path from "node:path";
import {
  buildDashboard,
  cacheControlFor,
  contentTypeFor,
  DASHBOARD_DIST_DIR,
  type DashboardBuild,
  dashboardNeedsBuild,
} from "../build/dashboard";
import { DASHBOARD_CONFIG_PATH, type DashboardConfig } from "../lib/dashboard-config";

export interface DashboardHandlerOptions {
  /** The built site (default web/dist). */
  distDir?: string;
  /** What GET /config.json answers; a function is called on every request (the lab knows its ports late). */
  config: DashboardConfig | (() => DashboardConfig);
  /** Build distDir when it is missing or stale (default true). */
  build?: boolean;
  onError?: (err: unknown) => void;
}

/** true: the request was (or is being) answered; false: not a dashboard request, the caller answers it. */
export type DashboardHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/**
 * The file under `root` that a request path names, or undefined when the path is not a
 * safe file path (percent-encoding errors, NUL, `..` segments, backslashes, dot files).
 */
export function resolveSitePath(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return undefined;
  const segments = decoded.split("/").filter((s) => s !== "");
  if (segments.some((s) => s === ".." || s === "." || s.startsWith("."))) return undefined;
  const file = path.resolve(root, ...segments);
  const base = path.resolve(root);
  return file === base || file.startsWith(`${base}${path.sep}`) ? file : undefined;
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Buffer,
): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, "content-length": String(body.length) });
  res.end(req.method === "HEAD" ? undefined : body);
}

function notFound(req: IncomingMessage, res: ServerResponse): void {
  send(
    req,
    res,
    404,
    { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
    Buffer.from("Not Found\n"),
  );
}

export function createDashboardHandler(options: DashboardHandlerOptions): DashboardHandler {
  const distDir = path.resolve(options.distDir ?? DASHBOARD_DIST_DIR);
  const configOf = typeof options.config === "function" ? options.config : () => options.config as DashboardConfig;
  let building: Promise<DashboardBuild | undefined> | undefined;

  /** Resolves once distDir is usable (building it if needed; one build at a time). */
  function ready(): Promise<unknown> {
    if (options.build === false) return Promise.resolve();
    if (!building && dashboardNeedsBuild(distDir)) {
      building = buildDashboard({ outDir: distDir }).finally(() => {
        building = undefined;
      });
    }
    return building ?? Promise.resolve();
  }
  // Start now, so the first page load does not wait for esbuild.
  ready().catch((err) => options.onError?.(err));

  function serveFile(req: IncomingMessage, res: ServerResponse, file: string): boolean {
    let body: Buffer;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
      if (!stat.isFile()) return false;
      body = fs.readFileSync(file);
    } catch {
      return false;
    }
    const rel = path.relative(distDir, file).split(path.sep).join("/");
    const etag = `"${createHash("sha1").update(body).digest("base64url").slice(0, 20)}"`;
    const headers = {
      "content-type": contentTypeFor(file),
      "cache-control": cacheControlFor(rel),
      etag,
      "last-modified": stat.mtime.toUTCString(),
    };
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, { ...SECURITY_HEADERS, ...headers });
      res.end();
      return true;
    }
    send(req, res, 200, headers, body);
    return true;
  }

  async function respond(req: IncomingMessage, res: ServerResponse, urlPath: string): Promise<void> {
    if (urlPath === DASHBOARD_CONFIG_PATH) {
      const body = Buffer.from(`${JSON.stringify(configOf(), null, 2)}\n`);
      send(req, res, 200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-cache" }, body);
      return;
    }
    await ready();
    const file = resolveSitePath(distDir, urlPath);
    if (file === undefined) return notFound(req, res);
    if (serveFile(req, res, file)) return;
    // Not a file: a page path gets the page; a missing asset (has an extension) is a 404.
    if (path.posix.extname(urlPath) !== "" && urlPath !== "/index.html") return notFound(req, res);
    if (!serveFile(req, res, path.join(distDir, "index.html"))) {
      send(
        req,
        res,
        503,
        { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
        Buffer.from(`The dashboard is not built: run npm run build:web (looked in ${distDir}).\n`),
      );
    }
  }

  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const urlPath = (req.url ?? "/").split("?")[0].split("#")[0] || "/";
    if (!urlPath.startsWith("/")) return false;
    respond(req, res, urlPath).catch((err) => {
      options.onError?.(err);
      if (!res.headersSent) {
        send(
          req,
          res,
          500,
          { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
          Buffer.from("The dashboard could not be served.\n"),
        );
      } else {
        res.destroy();
      }
    });
    return true;
  };
}
