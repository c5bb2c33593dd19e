/**
 * The lab's dashboard handler: builds web/ on demand, serves the files with the right
 * types and cache headers, falls back to index.html for page paths, refuses traversal,
 * and answers /config.json.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { cacheControlFor, contentTypeFor } from "../../build/dashboard";
import { createDashboardHandler, resolveSitePath } from "../../lab/dashboard";
import { DASHBOARD_SCOPES } from "../../lib/auth";
import { type DashboardConfig, DEFAULT_UPLOAD_LIMITS, parseDashboardConfig } from "../../lib/dashboard-config";

const CONFIG: DashboardConfig = {
  apiUrl: "http://127.0.0.1:1234",
  auth: { authority: "http://127.0.0.1:1234/oidc", clientId: "dashboard", scopes: [...DASHBOARD_SCOPES] },
  uploads: DEFAULT_UPLOAD_LIMITS,
};

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(base: string, rawPath: string, init: { method?: string; headers?: http.OutgoingHttpHeaders } = {}) {
  // http.request keeps the path as given (fetch would normalize "..").
  return new Promise<Answer>((resolve, reject) => {
    const url = new URL(base);
    const req = http.request(
      { host: url.hostname, port: url.port, path: rawPath, method: init.method ?? "GET", headers: init.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("lab dashboard handler", function () {
  this.timeout(60_000);
  let dir: string;
  let distDir: string;
  let server: http.Server;
  let base: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-dashboard-"));
    distDir = path.join(dir, "dist");
    const handler = createDashboardHandler({ distDir, config: () => CONFIG });
    server = http.createServer((req, res) => {
      if (!handler(req, res)) {
        res.writeHead(418);
        res.end("not mine");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("builds the page on demand and serves index.html for /", async () => {
    const res = await request(base, "/");
    expect(res.status).to.equal(200);
    expect(res.headers["content-type"]).to.equal("text/html; charset=utf-8");
    expect(res.headers["cache-control"]).to.equal("no-cache");
    expect(res.headers["x-content-type-options"]).to.equal("nosniff");
    expect(res.body).to.match(/<script defer src="\/assets\/main-[A-Z0-9]+\.js"><\/script>/);
    expect(res.body).to.match(/<link rel="stylesheet" href="\/assets\/main-[A-Z0-9]+\.css"/);
    expect(fs.existsSync(path.join(distDir, "index.html"))).to.equal(true);
  });

  it("serves hashed assets as immutable, with their content types, and answers If-None-Match with 304", async () => {
    const html = (await request(base, "/")).body;
    const script = /src="([^"]+\.js)"/.exec(html)?.[1] as string;
    const style = /href="(\/assets\/[^"]+\.css)"/.exec(html)?.[1] as string;
    const js = await request(base, script);
    expect(js.status).to.equal(200);
    expect(js.headers["content-type"]).to.equal("text/javascript; charset=utf-8");
    expect(js.headers["cache-control"]).to.equal("public, max-age=31536000, immutable");
    expect(js.body.length).to.be.greaterThan(10_000);
    const css = await request(base, style);
    expect(css.headers["content-type"]).to.equal("text/css; charset=utf-8");
    const again = await request(base, script, { headers: { "if-none-match": js.headers.etag as string } });
    expect(again.status).to.equal(304);
    expect(again.body).to.equal("");
    const head = await request(base, script, { method: "HEAD" });
    expect(head.status).to.equal(200);
    expect(head.body).to.equal("");
    expect(Number(head.headers["content-length"])).to.equal(Buffer.byteLength(js.body));
    const icon = await request(base, "/favicon.svg");
    expect(icon.headers["content-type"]).to.equal("image/svg+xml");
  });

  it("answers /config.json with the configuration, never cached", async () => {
    const res = await request(base, "/config.json");
    expect(res.status).to.equal(200);
    expect(res.headers["content-type"]).to.equal("application/json; charset=utf-8");
    expect(res.headers["cache-control"]).to.equal("no-cache");
    expect(parseDashboardConfig(JSON.parse(res.body))).to.deep.equal(CONFIG);
  });

  it("gives the page for other page paths and a 404 for missing files", async () => {
    const page = await request(base, "/callback?code=abc&state=xyz");
    expect(page.status).to.equal(200);
    expect(page.body).to.include("<title>Media pipeline</title>");
    expect((await request(base, "/assets/main-NOPE.js")).status).to.equal(404);
    expect((await request(base, "/robots.txt")).status).to.equal(404);
  });

  it("refuses paths that leave the site folder", async () => {
    fs.writeFileSync(path.join(dir, "secret.txt"), "secret");
    for (const p of [
      "/../secret.txt",
      "/%2e%2e/secret.txt",
      "/assets/..%2f..%2fsecret.txt",
      "/..%5csecret.txt",
      "/%00index.html",
      "/%E0%A4%A",
      "/.hidden",
    ]) {
      const res = await request(base, p);
      expect(res.status, p).to.equal(404);
      expect(res.body, p).to.not.include("secret");
    }
    expect(resolveSitePath("/site", "/a/b.js")).to.equal(path.resolve("/site/a/b.js"));
    expect(resolveSitePath("/site", "/a/../../etc/passwd")).to.equal(undefined);
  });

  it("leaves other methods to the caller", async () => {
    const res = await request(base, "/uploads", { method: "POST" });
    expect(res.status).to.equal(418);
  });

  it("names content types and cache rules for the site files (shared with the DashboardSite component)", () => {
    expect(contentTypeFor("assets/main-X.js")).to.equal("text/javascript; charset=utf-8");
    expect(contentTypeFor("x.unknown")).to.equal("application/octet-stream");
    expect(cacheControlFor("assets/main-X.css")).to.include("immutable");
    expect(cacheControlFor("index.html")).to.equal("no-cache");
    expect(cacheControlFor("config.json")).to.equal("no-cache");
    expect(cacheControlFor("favicon.svg")).to.equal("public, max-age=3600");
  });
});
