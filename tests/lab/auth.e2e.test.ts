/**
 * The authenticated API end to end in the lab: tokens from the lab's OpenID Connect
 * issuer (oidc-provider; code + PKCE, signed in on its HTML form), checked by the lab
 * gateway as API Gateway's JWT authorizer would, then the read API: listing with signed
 * cursors, documents with working raw-metadata links, browser uploads through presigned
 * PUTs, problem+json errors; and the tokens API Gateway must refuse (signed here with jose).
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "chai";
import { importJWK, type JWK, type JWTPayload, SignJWT } from "jose";
import type { FileDetail, FileList, UploadGrant } from "../../handlers/api/routes";
import { buildDocument } from "../../handlers/extractor/document";
import { MetadataStore } from "../../handlers/extractor/store";
import { labAuthPaths, labUser } from "../../lab/auth/secrets";
import { labAccessToken, SignInError, signInWithPassword } from "../../lab/auth/sign-in";
import { type Lab, startLab } from "../../lab/lab";
import { API_SCOPES, DASHBOARD_SCOPES } from "../../lib/auth";
import type { MetadataDocument } from "../../lib/schema";

const DOCS = 12;

function fileUrl(apiUrl: string, key: string): string {
  return `${apiUrl}/files/${key.split("/").map(encodeURIComponent).join("/")}`;
}

describe("lab auth and read API end to end", function () {
  this.timeout(60_000);
  let dir: string;
  let lab: Lab;
  let token: string;
  let signingKey: JWK;
  const keys: string[] = [];

  /** A request to the API with the lab user's token (`bearer`: another one; null: none). */
  const api = (p: string, init: RequestInit = {}, bearer: string | null = token) => {
    const headers = new Headers(init.headers);
    if (bearer) headers.set("authorization", `Bearer ${bearer}`);
    return fetch(`${lab.endpoints.apiUrl}${p}`, { ...init, headers });
  };

  /** A token signed with the lab issuer's own key: only what `claims` changes is wrong. */
  async function forged(claims: JWTPayload, key: JWK = signingKey): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      sub: labUser(dir).sub,
      iss: lab.endpoints.auth.issuer,
      aud: lab.endpoints.auth.clientId,
      client_id: lab.endpoints.auth.clientId,
      scope: `${API_SCOPES.read} ${API_SCOPES.upload}`,
      iat: now - 10,
      exp: now + 600,
      ...claims,
    })
      .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "at+jwt" })
      .sign(await importJWK(key, "RS256"));
  }

  async function expectProblem(res: Response, status: number, type: string): Promise<{ detail: string }> {
    expect(res.status).to.equal(status);
    expect(res.headers.get("content-type")).to.equal("application/problem+json");
    const text = await res.text();
    expect(text).not.to.match(/\n\s+at |node_modules/);
    const body = JSON.parse(text);
    expect(body).to.include({ status, type });
    return body;
  }

  const expectUnauthorized = async (res: Response) => {
    expect(res.status).to.equal(401);
    expect(await res.json()).to.deep.equal({ message: "Unauthorized" });
  };

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-lab-auth-"));
    lab = await startLab({ dir, quiet: true });
    token = await labAccessToken(lab.endpoints);
    signingKey = JSON.parse(await fs.readFile(labAuthPaths(dir).signingKeys, "utf8")).keys[0];
    // Documents as the extractor writes them (raw JSON in the metadata bucket, then the item).
    const store = new MetadataStore(lab.dynamodb, lab.endpoints.tableName, lab.s3, lab.endpoints.metadataBucket);
    for (let i = 0; i < DOCS; i++) {
      const key = `auth-e2e/clip ${String(i).padStart(2, "0")}.mp4`;
      const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
      const probe = {
        format: { format_name: "mov,mp4", duration: "1.5", tags: { title: `clip ${i}` } },
        streams:
          i % 3 === 0 ? [] : [{ index: 0, codec_type: i % 2 ? "video" : "audio", codec_name: i % 2 ? "h264" : "aac" }],
      };
      const sequencer = `00${String(i).padStart(14, "0")}`;
      const raw = await store.putRaw(key, sequencer, Buffer.from(JSON.stringify(probe)));
      const doc: MetadataDocument = {
        ...buildDocument(
          {
            bucket: lab.endpoints.ingestBucket,
            key,
            size: 1000 + i,
            sequencer,
            eventTime: at,
            ffprobeVersion: "test",
            bytesRead: 100,
            probeMs: 3,
            processedAt: at,
          },
          probe,
        ),
        raw,
      };
      await store.putDocument(doc);
      keys.unshift(key); // newest first
    }
  });
  after(async () => {
    await lab?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe("the lab issuer", () => {
    it("is discoverable, with PKCE S256 and the lab's dashboard as client", async () => {
      const d = (await (await fetch(`${lab.endpoints.auth.issuer}/.well-known/openid-configuration`)).json()) as {
        issuer: string;
        code_challenge_methods_supported: string[];
        jwks_uri: string;
      };
      expect(d.issuer).to.equal(lab.endpoints.auth.issuer);
      expect(d.code_challenge_methods_supported).to.deep.equal(["S256"]);
      expect(d.jwks_uri).to.be.a("string");
      const jwks = (await (await fetch(d.jwks_uri)).json()) as { keys: JWK[] };
      expect(jwks.keys.map((k) => k.kid)).to.include(signingKey.kid);
      expect(jwks.keys[0]).not.to.have.property("d"); // public keys only
    });

    it("shows a plain HTML sign-in form (username, password, submit)", async () => {
      const auth = new URL(`${lab.endpoints.auth.issuer}/auth`);
      auth.search = new URLSearchParams({
        client_id: lab.endpoints.auth.clientId,
        response_type: "code",
        redirect_uri: lab.endpoints.dashboardUrl,
        scope: "openid",
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method: "S256",
        state: "s",
      }).toString();
      const first = await fetch(auth, { redirect: "manual" });
      const cookie = first.headers
        .getSetCookie()
        .map((c) => c.split(";")[0])
        .join("; ");
      const res = await fetch(new URL(first.headers.get("location") ?? "", auth), { headers: { cookie } });
      const html = await res.text();
      expect(res.status).to.equal(200);
      expect(html).to.match(/<form method="post" action="\/interaction\/[^"]+\/login"/);
      expect(html).to.contain('name="username"').and.contain('name="password"').and.contain('type="submit"');
    });

    it("refuses an authorization request without PKCE, and a wrong password", async () => {
      const auth = new URL(`${lab.endpoints.auth.issuer}/auth`);
      auth.search = new URLSearchParams({
        client_id: lab.endpoints.auth.clientId,
        response_type: "code",
        redirect_uri: lab.endpoints.dashboardUrl,
        scope: "openid",
        state: "s",
      }).toString();
      const res = await fetch(auth, { redirect: "manual" });
      expect(new URL(res.headers.get("location") ?? "").searchParams.get("error")).to.equal("invalid_request");
      let error: unknown;
      try {
        await signInWithPassword({
          issuer: lab.endpoints.auth.issuer,
          clientId: lab.endpoints.auth.clientId,
          redirectUri: lab.endpoints.dashboardUrl,
          username: lab.endpoints.auth.username,
          password: "not-the-password",
          scopes: DASHBOARD_SCOPES,
        });
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(SignInError).with.property("status", 401);
    });

    it("issues Cognito-like JWT access tokens (RS256, client_id, scope, token_use) and refresh tokens", async () => {
      const user = labUser(dir);
      const tokens = await signInWithPassword({
        issuer: lab.endpoints.auth.issuer,
        clientId: lab.endpoints.auth.clientId,
        redirectUri: lab.endpoints.dashboardUrl,
        username: user.email,
        password: user.password,
        scopes: DASHBOARD_SCOPES,
      });
      const [header, payload] = tokens.access_token
        .split(".")
        .slice(0, 2)
        .map((p) => JSON.parse(Buffer.from(p, "base64url").toString()));
      expect(header).to.include({ alg: "RS256", typ: "at+jwt", kid: signingKey.kid });
      expect(payload).to.include({
        iss: lab.endpoints.auth.issuer,
        sub: user.sub,
        client_id: lab.endpoints.auth.clientId,
        token_use: "access",
        username: user.email,
        scope: `${API_SCOPES.read} ${API_SCOPES.upload}`,
      });
      expect(payload.exp - payload.iat).to.equal(3600);
      const id = JSON.parse(Buffer.from((tokens.id_token ?? "").split(".")[1], "base64url").toString());
      expect(id).to.include({ email: user.email, aud: lab.endpoints.auth.clientId });

      // The dashboard renews with the refresh token (public client, no secret).
      const token = await fetch(`${lab.endpoints.auth.issuer}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: tokens.refresh_token ?? "",
          client_id: lab.endpoints.auth.clientId,
        }).toString(),
      });
      expect(token.status).to.equal(200);
      const renewed = (await token.json()) as { access_token: string };
      expect((await api("/files?limit=1", {}, renewed.access_token)).status).to.equal(200);
    });
  });

  describe("the gateway's JWT checks", () => {
    it("lets a lab user's token list the documents; no token gets 401", async () => {
      const res = await api("/files");
      expect(res.status).to.equal(200);
      expect(((await res.json()) as FileList).items.map((d) => d.key)).to.deep.equal(keys);
      await expectUnauthorized(await api("/files", {}, null));
      await expectUnauthorized(await api(fileUrl("", keys[0]), {}, null));
      await expectUnauthorized(
        await api("/uploads", { method: "POST", body: "{}", headers: { "content-type": "application/json" } }, null),
      );
    });

    it("keeps /health public", async () => {
      const res = await api("/health", {}, null);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.include({ status: "ok" });
    });

    it("refuses an expired token (401)", async () => {
      const now = Math.floor(Date.now() / 1000);
      await expectUnauthorized(await api("/files", {}, await forged({ iat: now - 7200, exp: now - 3600 })));
    });

    it("refuses a token for another audience or client (401)", async () => {
      await expectUnauthorized(await api("/files", {}, await forged({ aud: "another-app" })));
      await expectUnauthorized(await api("/files", {}, await forged({ aud: undefined, client_id: "another-app" })));
      // Cognito-shaped (no aud, the right client_id) is accepted.
      expect((await api("/files", {}, await forged({ aud: undefined }))).status).to.equal(200);
    });

    it("refuses a token of another issuer (401), even signed with the lab's key", async () => {
      await expectUnauthorized(await api("/files", {}, await forged({ iss: "https://cognito-idp.example/other" })));
    });

    it("refuses a token signed with another key (401)", async () => {
      const other = JSON.parse(await fs.readFile(labAuthPaths(dir).signingKeys, "utf8")).keys[0] as JWK;
      const { generateKeyPair, exportJWK } = await import("jose");
      const { privateKey } = await generateKeyPair("RS256", { extractable: true });
      const stranger = { ...(await exportJWK(privateKey)), kid: other.kid };
      await expectUnauthorized(await api("/files", {}, await forged({}, stranger)));
    });

    it("answers 403 when the token lacks the route's scope", async () => {
      const readOnly = await labAccessToken(lab.endpoints, ["openid", API_SCOPES.read]);
      expect((await api("/files", {}, readOnly)).status).to.equal(200);
      const res = await api(
        "/uploads",
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ fileName: "a.mp4", contentType: "video/mp4", size: 10 }),
        },
        readOnly,
      );
      expect(res.status).to.equal(403);
      expect(await res.json()).to.deep.equal({ message: "Forbidden" });
      const uploadOnly = await labAccessToken(lab.endpoints, ["openid", API_SCOPES.upload]);
      expect((await api("/files", {}, uploadOnly)).status).to.equal(403);
      // An ID token has the right audience but no scope: 403, as with API Gateway.
      expect((await api("/files", {}, await forged({ scope: undefined }))).status).to.equal(403);
    });
  });

  describe("GET /files", () => {
    it("pages newest first with signed cursors", async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const res = await api(`/files?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        expect(res.status).to.equal(200);
        const page = (await res.json()) as FileList;
        seen.push(...page.items.map((d) => d.key));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).to.deep.equal(keys);
    });

    it("filters by status and kind", async () => {
      const list = (await (await api("/files?status=unprocessable&limit=100")).json()) as FileList;
      expect(list.items).to.have.length(DOCS / 3);
      expect(list.items.every((d) => d.status === "unprocessable")).to.equal(true);
      const video = (await (await api("/files?kind=video&limit=100")).json()) as FileList;
      expect(video.items.length).to.be.greaterThan(0);
      expect(video.items.every((d) => d.kind === "video")).to.equal(true);
    });

    it("answers 400 for a tampered cursor", async () => {
      const { nextCursor } = (await (await api("/files?limit=2")).json()) as FileList;
      const [payload, mac] = (nextCursor ?? "").split(".");
      const body = JSON.parse(Buffer.from(payload, "base64url").toString());
      const tampered = `${Buffer.from(JSON.stringify({ ...body, k: keys[DOCS - 1] })).toString("base64url")}.${mac}`;
      const p = await expectProblem(
        await api(`/files?cursor=${encodeURIComponent(tampered)}`),
        400,
        "urn:media-pipeline:problem:invalid-parameter",
      );
      expect(p.detail).to.contain("cursor");
    });

    it("answers 400 for a limit out of range", async () => {
      for (const limit of ["0", "101", "ten"]) {
        const p = await expectProblem(
          await api(`/files?limit=${limit}`),
          400,
          "urn:media-pipeline:problem:invalid-parameter",
        );
        expect(p.detail).to.match(/^limit must be an integer from 1 to 100, got/);
      }
    });
  });

  describe("GET /files/{key}", () => {
    it("returns the document with a working 5-minute link to the raw ffprobe JSON", async () => {
      const key = keys[1];
      const res = await api(fileUrl("", key));
      expect(res.status).to.equal(200);
      const doc = (await res.json()) as FileDetail;
      expect(doc.key).to.equal(key);
      expect(new URL(doc.rawUrl ?? "").searchParams.get("X-Amz-Expires")).to.equal("300");
      expect(Date.parse(doc.rawUrlExpiresAt ?? "") - Date.now()).to.be.within(290_000, 301_000);
      const raw = await fetch(doc.rawUrl ?? ""); // s3rver: no signature check; fetch un-gzips
      expect(raw.status).to.equal(200);
      expect(((await raw.json()) as { format: { tags: { title: string } } }).format.tags.title).to.equal("clip 10");
    });

    it("answers 404 for an unknown key", async () => {
      const p = await expectProblem(await api("/files/no/such.mp4"), 404, "urn:media-pipeline:problem:not-found");
      expect(p.detail).to.contain("no/such.mp4");
    });
  });

  describe("POST /uploads", () => {
    const request = (body: unknown) =>
      api("/uploads", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    it("grants a presigned PUT under the user's folder that uploads into the ingest bucket", async () => {
      const bytes = Buffer.from("not really a video, the extractor will say so");
      const res = await request({ fileName: "holiday.mp4", contentType: "video/mp4", size: bytes.length });
      expect(res.status).to.equal(200);
      const grant = (await res.json()) as UploadGrant;
      expect(grant.key).to.match(new RegExp(`^uploads/${labUser(dir).sub}/holiday-\\d{8}-\\d{6}-[0-9a-f]{6}\\.mp4$`));
      const put = await fetch(grant.upload.url, {
        method: "PUT",
        headers: { "content-type": grant.upload.headers["content-type"] },
        body: bytes,
      });
      expect(put.status).to.equal(200);
      const head = await lab.s3.send(new HeadObjectCommand({ Bucket: grant.bucket, Key: grant.key }));
      expect(head.ContentLength).to.equal(bytes.length);
      expect(head.ContentType).to.equal("video/mp4");
    });

    it("answers 413 for a size over the limit", async () => {
      const p = await expectProblem(
        await request({ fileName: "huge.mkv", contentType: "video/x-matroska", size: 6 * 1024 ** 3 }),
        413,
        "urn:media-pipeline:problem:upload-too-large",
      );
      expect(p.detail).to.contain("over the upload limit");
    });

    it("answers 400 for a content type that is not declared", async () => {
      const p = await expectProblem(
        await request({ fileName: "page.html", contentType: "text/html", size: 10 }),
        400,
        "urn:media-pipeline:problem:content-type-not-allowed",
      );
      expect(p.detail).to.contain("video/*, audio/*, image/*");
    });

    it("answers 400 for an invalid body", async () => {
      const p = await expectProblem(
        await request({ fileName: "a.mp4", contentType: "video/mp4" }),
        400,
        "urn:media-pipeline:problem:invalid-body",
      );
      expect(p.detail).to.equal("size is required");
    });
  });

  describe("dashboard and CORS", () => {
    it("serves the dashboard's configuration pointing at the lab issuer", async () => {
      const res = await fetch(`${lab.endpoints.dashboardUrl}config.json`);
      expect(res.status).to.equal(200);
      const config = (await res.json()) as { auth: unknown; uploads: { contentTypes: string[] } };
      expect(config.auth).to.deep.include({
        authority: lab.endpoints.auth.issuer,
        clientId: lab.endpoints.auth.clientId,
        scopes: [...DASHBOARD_SCOPES],
      });
      expect(config.uploads.contentTypes).to.deep.equal(["video/*", "audio/*", "image/*"]);
    });

    it("answers the dashboard origin's preflight, and the issuer allows it to fetch tokens", async () => {
      const origin = `http://localhost:${new URL(lab.endpoints.apiUrl).port}`;
      const pre = await fetch(`${lab.endpoints.apiUrl}/uploads`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
      expect(pre.status).to.equal(204);
      expect(pre.headers.get("access-control-allow-origin")).to.equal(origin);
      const discovery = await fetch(`${lab.endpoints.auth.issuer}/.well-known/openid-configuration`, {
        headers: { origin },
      });
      expect(discovery.headers.get("access-control-allow-origin")).to.be.oneOf([origin, "*"]);
    });
  });

  describe("restart", () => {
    it("keeps the user, the keys and the cursor secret: tokens and cursors stay valid on the same ports", async () => {
      const user = labUser(dir);
      const signingKeys = await fs.readFile(labAuthPaths(dir).signingKeys, "utf8");
      for (const file of Object.values(labAuthPaths(dir)).slice(1)) {
        expect((await fs.stat(file)).mode & 0o777, file).to.equal(0o600);
      }
      await lab.worker.drained(20_000); // the upload above becomes a document too
      const { nextCursor } = (await (await api("/files?limit=3")).json()) as FileList;
      const page = `/files?limit=3&cursor=${encodeURIComponent(nextCursor ?? "")}`;
      const before = ((await (await api(page)).json()) as FileList).items.map((d) => d.key);
      const ports = {
        api: Number(new URL(lab.endpoints.apiUrl).port),
        auth: Number(new URL(lab.endpoints.auth.issuer).port),
      };
      await lab.stop();
      lab = await startLab({ dir, quiet: true, ports });
      expect(labUser(dir)).to.deep.equal(user);
      expect(await fs.readFile(labAuthPaths(dir).signingKeys, "utf8")).to.equal(signingKeys);
      const res = await api(page); // the token and the cursor from before
      expect(res.status).to.equal(200);
      expect(((await res.json()) as FileList).items.map((d) => d.key)).to.deep.equal(before);
      expect(before).to.have.length(3);
    });
  });
});
