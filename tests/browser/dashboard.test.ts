/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against a
 * real lab: sign-in at the lab's OpenID Connect issuer (code + PKCE), uploads through the
 * page into s3rver with progress, live refresh until the pipeline has processed them,
 * the detail view, a corrupt file's reason, the charts, the keyboard, a 375 px screen,
 * sign-out.
 *
 * Screenshots go to test-output/screenshots/ (uploading, list, list-full, list-dark,
 * charts, detail, failed, narrow, narrow-detail; failed-<test>.png when a test fails). With UPDATE_DOCS_SCREENSHOT=1 the list screenshot is also written to
 * docs/img/dashboard.png (the README's picture).
 *
 * Needs /usr/bin/chromium (apt-get install -y chromium) or CHROMIUM_PATH: without it the
 * suite fails, saying so (it is never skipped).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import type { Page, Route } from "playwright-core";
import { type Lab, startLab } from "../../lab/lab";
import { LIST_SHARDS, listingAttributes } from "../../lib/list-index";
import { REPO_ROOT } from "../../lib/repo-root";
import type { MetadataItem } from "../../lib/schema";
import { ensureMedia, runFfmpeg } from "../../media/media";
import { assertChromium, type Chromium, launchChromium } from "./chromium";

// The page-side callbacks below run in the browser; the root tsconfig has no DOM types.
declare const document: {
  documentElement: { scrollWidth: number; clientWidth: number };
  activeElement: { id?: string; className?: string; tagName: string; closest(s: string): unknown } | null;
};
declare const DataTransfer: new () => { items: { add(file: unknown): void } };
declare const File: new (bits: unknown[], name: string, options: { type: string }) => unknown;
declare function getComputedStyle(el: unknown): { color: string; backgroundColor: string };

const SCREENSHOTS = path.join(REPO_ROOT, "test-output", "screenshots");
const DOCS_SCREENSHOT = path.join(REPO_ROOT, "docs", "img", "dashboard.png");
const WIDE = { width: 1360, height: 1000 };
const NARROW = { width: 375, height: 812 };
/** Processing of an upload (S3 event, queue, ffprobe, DynamoDB) plus the page's 1 s polling. */
const PROCESSED_TIMEOUT_MS = 45_000;

interface Seed {
  key: string;
  file: string;
}

/** Files put straight into the ingest bucket before the page opens, so the table and charts have variety. */
async function seedFiles(workDir: string): Promise<Seed[]> {
  const hd = path.join(workDir, "interview-take-3.mp4");
  const p720 = path.join(workDir, "trailer-720p.mp4");
  const still = path.join(workDir, "poster.png");
  const encode = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"];
  await Promise.all([
    runFfmpeg([
      "-y",
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "testsrc2=s=1920x1080:d=3:r=25",
      "-f",
      "lavfi",
      "-i",
      "sine=f=330:d=3",
      ...encode,
      hd,
    ]),
    runFfmpeg([
      "-y",
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "smptebars=s=1280x720:d=12:r=30",
      "-f",
      "lavfi",
      "-i",
      "sine=f=440:d=12",
      ...encode,
      p720,
    ]),
    runFfmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=1280x720", "-frames:v", "1", still]),
  ]);
  return [
    { key: "library/interview-take-3.mp4", file: hd },
    { key: "library/trailer-720p.mp4", file: p720 },
    { key: "library/multi-language.mkv", file: await ensureMedia("mkv-two-audio") },
    { key: "library/web-preview.webm", file: await ensureMedia("webm-vp9-opus") },
    { key: "library/portrait-story.mp4", file: await ensureMedia("mp4-rotated") },
    { key: "podcasts/episode-12.mp3", file: await ensureMedia("mp3-big-id3") },
    { key: "stills/poster.png", file: still },
    { key: "incoming/truncated-transfer.mp4", file: await ensureMedia("mp4-truncated") },
  ];
}

async function shot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: options.fullPage ?? false, animations: "disabled" });
  return file;
}

/** The row of the files table for `key`. */
const row = (page: Page, key: string) => page.locator(`#files-table tbody tr[data-key="${key}"]`);

describe("dashboard (browser)", function () {
  this.timeout(240_000);

  let lab: Lab;
  let workDir: string;
  let browser: Chromium | undefined;
  let page: Page;
  let password: string;
  let seeds: Seed[];
  const pageErrors: string[] = [];
  const uploaded = { video: "", corrupt: "", dropped: "" };

  before(async () => {
    assertChromium(); // fails the suite with what to install
    fs.rmSync(SCREENSHOTS, { recursive: true, force: true });
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-browser-"));
    lab = await startLab({ dir: path.join(workDir, "lab"), quiet: true });
    password = (JSON.parse(fs.readFileSync(lab.endpoints.auth.userFile, "utf8")) as { password: string }).password;
    seeds = await seedFiles(workDir);
    for (const s of seeds) {
      await lab.s3.send(
        new PutObjectCommand({ Bucket: lab.endpoints.ingestBucket, Key: s.key, Body: fs.readFileSync(s.file) }),
      );
    }
    await lab.worker.drained(60_000);
    browser = await launchChromium({ viewport: WIDE });
    page = await browser.context.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
  });

  afterEach(async function () {
    if (this.currentTest?.state === "failed" && page) {
      const name = `failed-${(this.currentTest.title ?? "test").replace(/[^a-z0-9]+/gi, "-").slice(0, 60)}`;
      await shot(page, name, { fullPage: true }).catch(() => undefined);
    }
  });

  after(async () => {
    await browser?.close();
    await lab?.stop();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("signs in at the lab issuer with code + PKCE and comes back signed in", async () => {
    await page.goto(lab.endpoints.dashboardUrl);
    await page.getByRole("button", { name: "Sign in" }).click();
    // The issuer's own sign-in page (another origin), with the lab user.
    await page.waitForURL((u) => u.toString().startsWith(lab.endpoints.auth.issuer));
    const authorize = new URL(page.url());
    expect(authorize.origin).to.equal(new URL(lab.endpoints.auth.issuer).origin);
    await page.fill("#username", lab.endpoints.auth.username);
    await page.fill("#password", password);
    await page.click("button[type=submit]");
    await page.waitForURL((u) => u.toString().startsWith(lab.endpoints.dashboardUrl));
    await page.locator("#user-name").waitFor();
    expect(await page.locator("#user-name").textContent()).to.equal(lab.endpoints.auth.username);
    // The code and state are gone from the address bar.
    expect(new URL(page.url()).search).to.equal("");
  });

  it("lists the files, searches and filters on the server", async () => {
    for (const s of seeds) await row(page, s.key).waitFor();
    expect(await page.locator("#files-table tbody tr").count()).to.equal(seeds.length);
    const failed = row(page, "incoming/truncated-transfer.mp4");
    expect(await failed.getAttribute("data-status")).to.equal("unprocessable");
    expect(await failed.locator(".reason").textContent()).to.match(/moov atom not found/);
    expect(await row(page, "library/interview-take-3.mp4").locator("td[data-label=Resolution]").textContent()).to.equal(
      "1920×1080",
    );

    // Search runs on the server: a "/" makes it a key prefix, otherwise a file-name search.
    const search = async (text: string, param: string) => {
      const request = page.waitForRequest((r) => new URL(r.url()).searchParams.get(param) === text);
      await page.fill("#file-search", text);
      await request;
      await page.locator('#files[aria-busy="false"]').waitFor();
      return page.locator("#files-table tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-key")));
    };
    expect(await search("library/", "prefix")).to.have.length(5);
    expect(await page.locator("#files-summary").textContent()).to.equal("5 files match “library/”.");
    expect(await search("TAKE-3", "q")).to.deep.equal(["library/interview-take-3.mp4"]);
    // Search and filters compose.
    await page.selectOption("#filter-status", "unprocessable");
    await page.locator('#files[aria-busy="false"]').waitFor();
    expect(await page.locator("#files-table tbody tr").count()).to.equal(0);
    await page.selectOption("#filter-status", "");
    // Clearing the search applies after the page's 300 ms debounce: wait for that request, or a
    // fast machine reads the list while the old search still applies.
    const cleared = page.waitForRequest((r) => {
      const u = new URL(r.url());
      return u.pathname === "/files" && !u.searchParams.has("q") && !u.searchParams.has("prefix");
    });
    await page.fill("#file-search", "");
    await cleared;
    await page.locator('#files[aria-busy="false"]').waitFor();

    // A filter reloads from the API (status=, kind=): the panel is aria-busy until the page is in.
    const filter = async (select: string, value: string) => {
      await page.selectOption(select, value);
      await page.locator('#files[aria-busy="false"]').waitFor();
      return page.locator("#files-table tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-key")));
    };
    expect(await filter("#filter-status", "unprocessable")).to.deep.equal(["incoming/truncated-transfer.mp4"]);
    expect(await filter("#filter-status", "")).to.have.length(seeds.length);
    expect(await filter("#filter-kind", "audio")).to.deep.equal(["podcasts/episode-12.mp3"]);
    expect(await filter("#filter-kind", "image")).to.deep.equal(["stills/poster.png"]);
    expect(await filter("#filter-kind", "")).to.have.length(seeds.length);
  });

  it("loads more pages with the API's cursor", async () => {
    // Pages of 3 instead of 50: the real API pages, and its cursors, with fewer files.
    const small = async (route: Route) => {
      const url = new URL(route.request().url());
      if (url.searchParams.get("limit") === "50") url.searchParams.set("limit", "3");
      await route.continue({ url: url.toString() });
    };
    const listUrl = (u: URL) => u.pathname === "/files";
    await page.route(listUrl, small);
    try {
      await page.click("#refresh");
      await page.locator('#files[aria-busy="false"]').waitFor();
      expect(await page.locator("#files-table tbody tr").count()).to.equal(3);
      expect(await page.locator("#files-summary").textContent()).to.equal("3 files loaded, more available.");
      let pages = 1;
      while (await page.locator("#load-more").isVisible()) {
        await page.click("#load-more");
        await page.locator('#files[aria-busy="false"]').waitFor();
        pages++;
        expect(pages, "pages").to.be.at.most(5);
      }
      expect(pages).to.be.at.least(3);
      const keys = await page
        .locator("#files-table tbody tr")
        .evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-key")));
      expect([...keys].sort()).to.deep.equal(seeds.map((s) => s.key).sort());
    } finally {
      await page.unroute(listUrl, small);
    }
    await page.click("#refresh");
    await page.locator('#files[aria-busy="false"]').waitFor();
  });

  it("uploads a real video and a corrupt file with a progress bar each, then shows them processed", async () => {
    const video = fs.readFileSync(await ensureMedia("mp4-faststart"));
    const corrupt = fs.readFileSync(await ensureMedia("text-as-mp4"));
    // A slow uplink (about 3 s for the video), so the progress bar is seen part way.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 16 * 1024,
    });
    await page.setInputFiles("#upload-input", [
      { name: "sunset timelapse.mp4", mimeType: "video/mp4", buffer: video },
      { name: "broken-export.mp4", mimeType: "video/mp4", buffer: corrupt },
    ]);
    const items = page.locator("#upload-list li.upload");
    await page.waitForFunction("document.querySelectorAll('#upload-list li.upload').length === 2");
    expect(await items.locator("progress").count()).to.equal(2);
    // Each upload has its own progress bar (XMLHttpRequest upload progress), part way...
    await page.waitForFunction(
      `[...document.querySelectorAll('#upload-list li[data-state="uploading"] progress')].some((p) => p.value > 0 && p.value < 100)`,
      undefined,
      { timeout: 15_000 },
    );
    expect(await page.locator('#upload-list li[data-state="uploading"] .upload-status').first().textContent()).to.match(
      /^Uploading… \d+%$/,
    );
    await shot(page, "uploading");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    await cdp.detach();

    const done = page.locator('#upload-list li[data-state="ok"]');
    const refused = page.locator('#upload-list li[data-state="unprocessable"]');
    await done.waitFor({ timeout: PROCESSED_TIMEOUT_MS });
    await refused.waitFor({ timeout: PROCESSED_TIMEOUT_MS });
    expect(await done.locator("progress").getAttribute("value")).to.equal("100");
    // The API put them under uploads/<user>/<id>/<safe name>; the table shows them live.
    expect(await done.locator(".upload-name").textContent()).to.equal("sunset timelapse.mp4");
    expect(await refused.locator(".upload-status").textContent()).to.match(/Unprocessable: .*Invalid data/);

    // ...then full, and the polling (GET /files/{key} every second) turns it into the result.
    uploaded.video = (await done.getAttribute("data-key")) as string;
    uploaded.corrupt = (await refused.getAttribute("data-key")) as string;
    // One folder per user, the readable name first (no UUID folder per upload).
    expect(uploaded.video).to.match(/^uploads\/[^/]+\/sunset-timelapse-\d{8}-\d{6}-[0-9a-f]{6}\.mp4$/);
    await row(page, uploaded.video).waitFor();
    await row(page, uploaded.corrupt).waitFor();
    expect(await row(page, uploaded.video).getAttribute("data-status")).to.equal("ok");
    expect(await row(page, uploaded.corrupt).getAttribute("data-status")).to.equal("unprocessable");
    expect(await row(page, uploaded.video).locator("td[data-label=Duration]").textContent()).to.equal("2.0 s");
  });

  it("takes files dropped on the drop zone", async () => {
    const wav = path.join(workDir, "voice-memo.wav");
    await runFfmpeg(["-y", "-v", "error", "-f", "lavfi", "-i", "sine=f=220:d=1.5", "-ac", "2", wav]);
    const bytes = fs.readFileSync(wav).toString("base64");
    const dataTransfer = await page.evaluateHandle(
      ({ b64, name }) => {
        const raw = atob(b64);
        const buf = new Uint8Array(raw.length);
        for (let i = 0; i < raw.length; i++) buf[i] = raw.charCodeAt(i);
        const dt = new DataTransfer();
        dt.items.add(new File([buf], name, { type: "audio/wav" }));
        return dt;
      },
      { b64: bytes, name: "voice memo.wav" },
    );
    await page.dispatchEvent("#dropzone", "dragenter", { dataTransfer });
    expect(await page.locator("#dropzone.dragging").count()).to.equal(1);
    await page.dispatchEvent("#dropzone", "drop", { dataTransfer });
    expect(await page.locator("#dropzone.dragging").count()).to.equal(0);
    const item = page.locator('#upload-list li.upload[data-state="ok"]', { hasText: "voice memo.wav" });
    await item.waitFor({ timeout: PROCESSED_TIMEOUT_MS });
    uploaded.dropped = (await item.getAttribute("data-key")) as string;
    await row(page, uploaded.dropped).waitFor();
    expect(await row(page, uploaded.dropped).locator("td[data-label=Kind]").textContent()).to.equal("Audio");
  });

  it("draws the charts from the whole table (GET /stats)", async () => {
    // The totals follow the table: wait until they count every document (the uploads included).
    await lab.stats.idle();
    await page.click("#refresh");
    await page.locator('#files[aria-busy="false"]').waitFor();
    await page.waitForFunction(
      `[...document.querySelectorAll("svg[data-chart=processing] rect.bar")].reduce((n, e) => n + Number(e.getAttribute("data-value")), 0) === ${seeds.length + 3}`,
      undefined,
      { timeout: 20_000 },
    );
    await page.locator("#overview").scrollIntoViewIfNeeded();
    const values = async (chart: string, mark: string) =>
      (await page
        .locator(`svg[data-chart=${chart}] ${mark}`)
        .evaluateAll((els) =>
          els.map((e) => [e.getAttribute("data-label"), Number(e.getAttribute("data-value"))]),
        )) as [string, number][];
    const codecs = Object.fromEntries(await values("codecs", "rect.bar"));
    expect(codecs.h264).to.be.at.least(5); // 1080p, 720p, mkv, rotated, the upload
    expect(codecs.aac).to.be.at.least(4);
    expect(codecs.vp9).to.equal(1);
    const resolutions = Object.fromEntries(await values("resolutions", "rect.bar"));
    expect(resolutions["1080p"]).to.equal(1);
    expect(resolutions["720p"]).to.equal(1);
    expect(resolutions["≤360p"]).to.be.at.least(4);
    const durations = Object.fromEntries(await values("durations", "rect.bar"));
    expect(durations["10s–1m"]).to.equal(1); // the 12 s trailer
    expect(durations["<10s"]).to.be.at.least(6);
    // A histogram of probe times (no time line to zigzag): every document once, failures included.
    const buckets = await values("processing", "rect.bar");
    expect(buckets.reduce((n, [, v]) => n + v, 0)).to.equal(seeds.length + 3);
    // Accessible names for the charts.
    expect(await page.locator("svg[data-chart=codecs] > title").textContent()).to.match(/Codec mix/);
    await page.locator("#overview").screenshot({ path: path.join(SCREENSHOTS, "charts.png"), animations: "disabled" });
  });

  it("shows a banner while the pipeline is paused, and explains pending uploads", async () => {
    const banner = page.locator("#pipeline-banner");
    expect(await banner.isHidden()).to.equal(true);
    await lab.control.pause("browser test", new Date());
    try {
      // GET /health is polled every 10 s.
      await banner.waitFor({ state: "visible", timeout: 30_000 });
      expect(await banner.textContent()).to.match(/Processing is paused since .*Uploads are kept and queued/);
    } finally {
      await lab.control.resume();
    }
    await banner.waitFor({ state: "hidden", timeout: 30_000 });
  });

  it("looks like a dashboard (screenshot of the list)", async () => {
    await page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)");
    await shot(page, "list");
    await shot(page, "list-full", { fullPage: true });
    // The dark theme follows the system setting.
    await page.emulateMedia({ colorScheme: "dark" });
    await shot(page, "list-dark");
    await page.emulateMedia({ colorScheme: "light" });
    if (process.env.UPDATE_DOCS_SCREENSHOT) {
      // Taller, so the README's picture has the top of the table too.
      await page.setViewportSize({ width: WIDE.width, height: 1480 });
      fs.mkdirSync(path.dirname(DOCS_SCREENSHOT), { recursive: true });
      await page.screenshot({ path: DOCS_SCREENSHOT, animations: "disabled" });
      await page.setViewportSize(WIDE);
    }
  });

  it("opens a file's detail view with its streams and the raw ffprobe JSON link; Escape closes it", async () => {
    const link = row(page, "library/multi-language.mkv").locator("a.file-link");
    await link.click();
    const dialog = page.locator("dialog#detail[open]");
    await dialog.locator("#streams-table").waitFor();
    expect(await dialog.locator("#detail-title").textContent()).to.equal("multi-language.mkv");
    const kinds = await dialog
      .locator("#streams-table tbody tr")
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-stream-kind")));
    expect(kinds).to.deep.equal(["video", "audio", "audio"]);
    expect(await dialog.locator("#streams-table").textContent()).to.include("h264");
    expect(page.url()).to.match(/#\/files\/library%2Fmulti-language\.mkv$/);

    const raw = await dialog.locator("#raw-link").getAttribute("href");
    expect(raw, "the API's presigned link to the raw ffprobe JSON").to.be.a("string");
    const res = await fetch(raw as string);
    expect(res.status).to.equal(200);
    await shot(page, "detail");

    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    // The dialog's close event (queued after it closes) clears the route and gives focus back to the link.
    await page.waitForFunction("!location.hash.startsWith('#/files/')");
    await page.waitForFunction("document.activeElement && document.activeElement.className === 'file-link'");
  });

  it("shows an unprocessable file's reason, visibly distinct from processed ones", async () => {
    await page.goto(`${lab.endpoints.dashboardUrl}#/files/${encodeURIComponent(uploaded.corrupt)}`);
    const reason = page.locator("dialog#detail[open] #detail-reason");
    await reason.waitFor();
    expect(await reason.textContent()).to.match(/could not be read as media.*Invalid data found/s);
    expect(await page.locator("dialog#detail[open] .badge-failed").textContent()).to.equal("Unprocessable");
    await shot(page, "failed");
    await page.keyboard.press("Escape");

    const failedBadge = row(page, uploaded.corrupt).locator(".badge");
    const okBadge = row(page, uploaded.video).locator(".badge");
    const style = (l: typeof okBadge) => l.evaluate((el) => getComputedStyle(el).color);
    expect(await style(failedBadge)).to.not.equal(await style(okBadge));
    const rowBg = (key: string) => row(page, key).evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(await rowBg(uploaded.corrupt)).to.not.equal(await rowBg(uploaded.video));
  });

  it("is usable from the keyboard", async () => {
    await page.reload(); // still signed in: the tokens are in sessionStorage
    await row(page, uploaded.video).waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement.className")).to.equal("skip-link");
    // Tab through the page to the first file link, then open it with Enter.
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = (await page.evaluate("document.activeElement.className")) === "file-link";
    }
    expect(reached, "a file link is reachable with Tab").to.equal(true);
    const outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle");
    expect(outline, "focused links show a focus ring").to.equal("solid");
    await page.keyboard.press("Enter");
    await page.locator("dialog#detail[open] .facts").first().waitFor();
    expect(await page.evaluate("document.activeElement.closest('dialog') !== null")).to.equal(true);
    await page.keyboard.press("Escape");
    await page.locator("dialog#detail[open]").waitFor({ state: "detached" });
  });

  it("fits a 375 px screen without horizontal scrolling", async () => {
    await page.setViewportSize(NARROW);
    await page.evaluate("window.scrollTo(0, 0)");
    await row(page, uploaded.video).waitFor();
    const widths = (await page.evaluate(
      "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
    )) as [number, number];
    expect(widths[0], "page width at 375 px").to.be.at.most(widths[1]);
    await shot(page, "narrow", { fullPage: true });
    await row(page, "library/multi-language.mkv").locator("a.file-link").click();
    await page.locator("dialog#detail[open] #streams-table").waitFor();
    await shot(page, "narrow-detail");
    await page.keyboard.press("Escape");
    await page.setViewportSize(WIDE);
  });

  it("clears finished uploads from the list", async () => {
    await page.setInputFiles("#upload-input", [
      { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not media") },
    ]);
    // Refused before anything is sent: the page knows the accepted types from config.json.
    const refused = page.locator('#upload-list li[data-state="error"]', { hasText: "notes.txt" });
    await refused.waitFor();
    expect(await refused.locator(".upload-status").textContent()).to.match(/Not accepted: text\/plain/);
    await page.click("#clear-uploads");
    expect(await page.locator("#upload-list li").count()).to.equal(0);
    expect(await page.locator("#clear-uploads").isHidden()).to.equal(true);
  });

  it("counts the whole table in the cards, beyond the loaded page, before and after deletes and re-processing", async () => {
    const doc = DynamoDBDocumentClient.from(lab.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
    const table = lab.endpoints.tableName;
    const template = (
      await doc.send(new GetCommand({ TableName: table, Key: { objectKey: "library/trailer-720p.mp4" } }))
    ).Item as MetadataItem;
    // 120 more documents (every 8th unprocessable), more than the 50 a page loads.
    for (let i = 0; i < 120; i++) {
      const key = `bulk/file-${String(i).padStart(3, "0")}.mp4`;
      const bad = i % 8 === 0;
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...template,
            key,
            objectKey: key,
            ...listingAttributes(key, LIST_SHARDS.default),
            size: 1000 + i,
            ...(bad
              ? { status: "unprocessable", kind: "other", reason: "not media", streams: [], container: undefined }
              : {}),
            processedAt: new Date(Date.now() - i * 1000).toISOString(),
          },
        }),
      );
    }
    const fromTable = async () => {
      const items: MetadataItem[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const res = await doc.send(
          new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
        );
        items.push(...((res.Items ?? []) as MetadataItem[]));
        start = res.LastEvaluatedKey;
      } while (start);
      const live = items.filter((d) => d.deleted !== true);
      return {
        Files: String(live.length),
        Processed: String(live.filter((d) => d.status === "ok").length),
        Unprocessable: String(live.filter((d) => d.status === "unprocessable").length),
      };
    };
    const cards = async () => {
      await lab.stats.idle();
      await page.click("#refresh"); // the cards re-read GET /stats after the list reloads
      await page.locator('#files[aria-busy="false"]').waitFor();
      const expected = await fromTable();
      await page.waitForFunction(
        `document.querySelector("#summary .tile .tile-value")?.textContent === ${JSON.stringify(expected.Files)}`,
        undefined,
        { timeout: 20_000 },
      );
      const shown = Object.fromEntries(
        (await page
          .locator("#summary .tile")
          .evaluateAll((tiles) =>
            tiles.map((t) => [
              t.querySelector(".tile-label")?.textContent,
              t.querySelector(".tile-value")?.textContent,
            ]),
          )) as [string, string][],
      );
      return { shown, expected };
    };
    let { shown, expected } = await cards();
    expect(Number(expected.Files)).to.be.greaterThan(120);
    expect({ Files: shown.Files, Processed: shown.Processed, Unprocessable: shown.Unprocessable }).to.deep.equal(
      expected,
    );
    expect(await page.locator("#files-table tbody tr").count()).to.equal(50); // one page loaded
    await shot(page, "stats-cards");

    // Deletes (a tombstone, as the extractor writes one) and re-processing (unprocessable -> ok).
    for (const i of [1, 2, 3]) {
      const key = `bulk/file-${String(i).padStart(3, "0")}.mp4`;
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: { objectKey: key, key, deleted: true, sequencer: "ff", eventTime: new Date().toISOString() },
        }),
      );
    }
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: {
          ...template,
          key: "bulk/file-000.mp4",
          objectKey: "bulk/file-000.mp4",
          ...listingAttributes("bulk/file-000.mp4", LIST_SHARDS.default),
          processedAt: new Date().toISOString(),
        },
      }),
    );
    ({ shown, expected } = await cards());
    expect({ Files: shown.Files, Processed: shown.Processed, Unprocessable: shown.Unprocessable }).to.deep.equal(
      expected,
    );
  });

  it("signs out at the issuer and comes back signed out", async () => {
    await page.click("#sign-out");
    await page.waitForURL((u) => u.toString().startsWith(lab.endpoints.auth.issuer));
    // The lab issuer asks to confirm the sign-out (Cognito's /logout does not), on its own
    // styled page that loads nothing from another origin.
    const confirm = page.locator('button[name="logout"][value="yes"]');
    await confirm.waitFor();
    expect(await page.title()).to.equal("Sign out - media-pipeline lab");
    const external = await page.evaluate(
      "[...document.querySelectorAll('link[href],script[src],img[src]')].length + (document.documentElement.outerHTML.includes('googleapis') ? 1 : 0)",
    );
    expect(external).to.equal(0);
    await confirm.click();
    await page.waitForURL((u) => u.toString().startsWith(lab.endpoints.dashboardUrl));
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    expect(await page.locator("#user-name").count()).to.equal(0);
    expect(pageErrors, "uncaught errors in the page").to.deep.equal([]);
  });
});
