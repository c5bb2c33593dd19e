/**
 * The smoke test's browser: Chromium driven by playwright-core (which never downloads a
 * browser; CHROMIUM_PATH, default /usr/bin/chromium, or /usr/bin/google-chrome on GitHub's
 * Ubuntu runners). It signs in to the dashboard as a person does (the dashboard's "Sign in"
 * button, the issuer's form: the lab's OpenID Connect issuer, or Cognito's managed login) and
 * takes the screenshots. The API token is the one the page holds after signing in.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CHROMIUM_PATH) return env.CHROMIUM_PATH;
  const found = CANDIDATES.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(
      `no Chromium found (looked for ${CANDIDATES.join(", ")}): install Debian's chromium, or set CHROMIUM_PATH`,
    );
  }
  return found;
}

export interface SmokeBrowser {
  page: Page;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<SmokeBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "mp-smoke-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath(),
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
      viewport: { width: 1280, height: 800 },
      locale: "en-US",
      timezoneId: "UTC",
    });
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    page,
    async close() {
      await context.close().catch(() => undefined);
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Signs in from the dashboard and returns the access token the page keeps (oidc-client-ts
 * stores the user in sessionStorage under `oidc.user:<authority>:<client id>`, web/src/auth.ts).
 */
export async function signIn(page: Page, dashboardUrl: string, username: string, password: string): Promise<string> {
  await page.goto(dashboardUrl);
  await page.getByRole("button", { name: "Sign in" }).click();
  const dashboardOrigin = new URL(dashboardUrl).origin;
  await page.waitForURL((u) => u.origin !== dashboardOrigin);
  // Both the lab's form and Cognito's name their fields username and password (Cognito's classic
  // hosted UI has a second, hidden copy of the form: take the visible one).
  const user = page.locator('input[name="username"]:visible').first();
  await user.fill(username);
  const pass = page.locator('input[name="password"]:visible').first();
  if (!(await pass.isVisible())) await user.press("Enter"); // a two-step form asks for the password next
  await pass.fill(password);
  await pass.press("Enter");
  await page.waitForURL((u) => u.origin === dashboardOrigin && !u.searchParams.has("code"));
  await page.locator("#user-name").waitFor();
  const token = await page.evaluate(() => {
    for (let i = 0; i < sessionStorage.length; i++) {
      const key = sessionStorage.key(i);
      if (key?.startsWith("oidc.user:"))
        return (JSON.parse(sessionStorage.getItem(key) ?? "{}") as { access_token?: string }).access_token;
    }
    return undefined;
  });
  if (!token) throw new Error("signed in, but the page holds no access token");
  return token;
}

export async function screenshot(page: Page, dir: string, name: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, animations: "disabled" });
  return file;
}
