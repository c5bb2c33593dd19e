/**
 * The dashboard page: loads /config.json, signs the user in (OIDC code + PKCE), then shows
 * the upload panel, the files table with its detail dialog, and the charts.
 */
import "../static/styles.css";
import { DASHBOARD_CONFIG_PATH, type DashboardConfig, parseDashboardConfig } from "../../lib/dashboard-config";
import { ApiClient, ApiError } from "./api";
import { type Auth, createAuth, type SignedInUser } from "./auth";
import { byId, h, replaceChildren } from "./dom";
import { type AppContext, keyFromHash, notify } from "./views/common";
import { createDetailView } from "./views/detail";
import { createFilesView } from "./views/files";
import { createOverview } from "./views/overview";
import { createPipelineBanner, watchPipeline } from "./views/pipeline";
import { createUploadsView } from "./views/uploads";

/** How often the summary cards and charts re-read GET /stats. */
const STATS_REFRESH_MS = 15_000;

async function loadConfig(): Promise<DashboardConfig> {
  const res = await fetch(DASHBOARD_CONFIG_PATH, { cache: "no-store" });
  if (!res.ok) throw new Error(`${DASHBOARD_CONFIG_PATH} answered ${res.status}`);
  return parseDashboardConfig(await res.json());
}

function showFatal(title: string, detail: string): void {
  replaceChildren(
    byId("app"),
    h("section", { class: "panel hero", role: "alert" }, h("h1", {}, title), h("p", { class: "muted" }, detail)),
  );
}

function renderSignedOut(auth: Auth, message?: string): void {
  replaceChildren(byId("account"));
  const button = h("button", { type: "button", class: "button button-primary button-large", id: "sign-in" }, "Sign in");
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Redirecting…";
    try {
      await auth.signIn();
    } catch (err) {
      button.disabled = false;
      button.textContent = "Sign in";
      notify(`Sign-in is not available: ${(err as Error).message}`, "error", 0);
    }
  });
  replaceChildren(
    byId("app"),
    h(
      "section",
      { class: "panel hero", "aria-labelledby": "hero-title" },
      h("h1", { id: "hero-title" }, "Your media, described"),
      h(
        "p",
        { class: "muted" },
        "Upload video, audio and images, and see what is inside each file: containers, codecs, resolutions, durations — measured by ffprobe as soon as a file lands.",
      ),
      message ? h("p", { class: "callout", role: "status" }, message) : null,
      button,
    ),
  );
}

function renderDashboard(config: DashboardConfig, auth: Auth, user: SignedInUser): void {
  const signOut = h("button", { type: "button", class: "button button-quiet", id: "sign-out" }, "Sign out");
  signOut.addEventListener("click", () => {
    signOut.disabled = true;
    auth.signOut().catch((err) => {
      signOut.disabled = false;
      notify(`Sign-out failed: ${(err as Error).message}`, "error");
    });
  });
  replaceChildren(byId("account"), h("span", { class: "user", id: "user-name", title: user.name }, user.name), signOut);

  let expired = false;
  const ctx: AppContext = {
    api: new ApiClient(new URL(config.apiUrl || "/", window.location.href).toString().replace(/\/+$/, ""), () =>
      auth.accessToken(),
    ),
    fail(err) {
      if (err instanceof ApiError && err.unauthorized) {
        if (expired) return;
        expired = true;
        void auth.forget().then(() => renderSignedOut(auth, "Your session has expired. Sign in again to continue."));
        return;
      }
      notify(err instanceof Error ? err.message : String(err), "error");
    },
    upsert(doc) {
      files.upsert(doc);
    },
  };

  const overview = createOverview();
  const uploads = createUploadsView(ctx, config.uploads);
  const files = createFilesView(ctx);
  const detail = createDetailView(ctx);
  const banner = createPipelineBanner();
  overview.update(undefined);

  // Totals of the whole table (GET /stats): on load, soon after the list changes, and every
  // STATS_REFRESH_MS while the page is visible.
  let statsTimer: ReturnType<typeof setTimeout> | undefined;
  const refreshStats = async () => {
    clearTimeout(statsTimer);
    try {
      overview.update(await ctx.api.stats());
    } catch (err) {
      if (err instanceof ApiError && err.unauthorized) ctx.fail(err);
    }
    statsTimer = setTimeout(() => void refreshStats(), STATS_REFRESH_MS);
  };
  files.onChange = () => {
    clearTimeout(statsTimer);
    statsTimer = setTimeout(() => void refreshStats(), 500);
  };
  ctx.pipeline = watchPipeline(ctx.api, banner);

  replaceChildren(
    byId("app"),
    h("h1", { class: "visually-hidden" }, "Media pipeline dashboard"),
    banner.element,
    overview.tiles,
    uploads.element,
    overview.element,
    files.element,
  );

  const route = () => {
    const key = keyFromHash(window.location.hash);
    if (key) void detail.open(key);
    else detail.close();
  };
  detail.onClose = () => {
    if (keyFromHash(window.location.hash)) {
      window.history.replaceState(null, "", `${window.location.pathname}${window.location.search}`);
    }
  };
  window.addEventListener("hashchange", route);
  route();
  void files.reload();
  void refreshStats();
}

async function main(): Promise<void> {
  let config: DashboardConfig;
  try {
    config = await loadConfig();
  } catch (err) {
    showFatal("The dashboard is not configured", (err as Error).message);
    return;
  }
  const auth = createAuth(config.auth);
  let user: SignedInUser | undefined;
  try {
    user = await auth.start();
  } catch (err) {
    renderSignedOut(auth, `Sign-in did not complete: ${(err as Error).message}`);
    return;
  }
  if (!user) renderSignedOut(auth);
  else renderDashboard(config, auth, user);
}

void main();
