/**
 * npm run smoke -- --lab [--dir D] | --stack NAME [options]
 *
 * Proves a running pipeline works end to end, as a user meets it: the API's health, a sign-in
 * at the dashboard, an upload grant (POST /uploads), a PUT of a small generated WAV, the
 * document once processed (GET /files/{key}), checked against what was uploaded, screenshots
 * of the dashboard (signed in, the file list, the file's detail), the object deleted, and its
 * document gone. One line per step on stdout (or, with --json, one summary object), non-zero
 * exit at the first failed step. In the cloud it signs in as a Cognito user it creates for the
 * run and deletes at the end (tools/smoke/target.ts).
 *
 * tests/smoke/smoke.test.ts runs it against a lab in `npm test`; the GitHub workflows run it
 * against review stacks and staging (docs/ci.md).
 */
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import type { Page } from "playwright-core";
import type { UploadGrant } from "../../handlers/api/routes";
import { makeWav } from "../../lab/soak/media";
import type { MetadataDocument } from "../../lib/schema";
import { type Cli, parseFlags, runCli, UsageError } from "../cli";
import { openBrowser, type SmokeBrowser, screenshot, signIn } from "./browser";
import { labTarget, NoTargetError, type SmokeTarget, type SmokeUser, stackTarget } from "./target";

/** Exit code when there is nothing to test: no running lab, or no stack outputs. */
export const EXIT_NO_TARGET = 3;

export interface StepResult {
  step: string;
  ok: boolean;
  ms: number;
  detail?: string;
  error?: string;
}

export interface SmokeSummary {
  target: string;
  passed: boolean;
  key?: string;
  screenshots: string[];
  steps: StepResult[];
  ms: number;
}

export interface SmokeOptions {
  target: SmokeTarget;
  screenshotDir: string;
  /** How long to wait for processing and for the document to go, in ms. */
  timeoutMs: number;
  /** Called after each step (the CLI prints a line). */
  onStep?: (r: StepResult) => void;
}

const WAV_SECONDS = 1;
const WAV_RATE = 8000;

class StepFailure extends Error {}

async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 250; ; wait = Math.min(wait * 1.5, 2000)) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new StepFailure(`${what}: not within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** What the document must say about the WAV the smoke test uploaded; [] when it does. */
export function documentProblems(doc: MetadataDocument, key: string, size: number): string[] {
  const problems: string[] = [];
  const audio = doc.streams.find((s) => s.kind === "audio");
  if (doc.key !== key) problems.push(`key ${doc.key}, expected ${key}`);
  if (doc.status !== "ok") problems.push(`status ${doc.status}${doc.reason ? ` (${doc.reason})` : ""}`);
  if (doc.kind !== "audio") problems.push(`kind ${doc.kind}, expected audio`);
  if (doc.size !== size) problems.push(`size ${doc.size}, expected ${size}`);
  if (!audio) problems.push("no audio stream");
  else {
    if (audio.codec !== "pcm_s16le") problems.push(`codec ${audio.codec}, expected pcm_s16le`);
    if (audio.sampleRate !== WAV_RATE) problems.push(`sample rate ${audio.sampleRate}, expected ${WAV_RATE}`);
    if (audio.channels !== 1) problems.push(`${audio.channels} channels, expected 1`);
  }
  const duration = doc.container?.durationSec;
  if (duration === undefined || Math.abs(duration - WAV_SECONDS) > 0.05) {
    problems.push(`duration ${duration} s, expected ${WAV_SECONDS} s`);
  }
  return problems;
}

const fileUrl = (apiUrl: string, key: string) => `${apiUrl}/files/${key.split("/").map(encodeURIComponent).join("/")}`;

/** Runs every step; stops at the first failure, always cleans up (user, browser). */
export async function runSmoke(options: SmokeOptions): Promise<SmokeSummary> {
  const { target, screenshotDir, timeoutMs } = options;
  const started = Date.now();
  const summary: SmokeSummary = { target: target.where, passed: false, screenshots: [], steps: [], ms: 0 };
  let browser: SmokeBrowser | undefined;
  let user: SmokeUser | undefined;
  let token = "";
  let key = "";
  const wav = makeWav(WAV_SECONDS, WAV_RATE, 1);
  let uploadGrant: UploadGrant | undefined;
  let processed: MetadataDocument | undefined;
  let uploadedAt = 0;
  const auth = () => ({ authorization: `Bearer ${token}` });
  const shot = async (page: Page, name: string) => {
    summary.screenshots.push(await screenshot(page, screenshotDir, name));
  };

  const steps: [string, () => Promise<string | undefined>][] = [
    [
      "health",
      async () => {
        const res = await fetch(`${target.apiUrl}/health`);
        if (res.status !== 200) throw new StepFailure(`GET /health answered ${res.status}`);
        return "GET /health 200";
      },
    ],
    [
      "sign in",
      async () => {
        user = await target.user();
        browser = await openBrowser();
        token = await signIn(browser.page, target.dashboardUrl, user.username, user.password);
        await shot(browser.page, "1-signed-in");
        return `as ${user.username}`;
      },
    ],
    [
      "upload grant",
      async () => {
        const res = await fetch(`${target.apiUrl}/uploads`, {
          method: "POST",
          headers: { ...auth(), "content-type": "application/json" },
          body: JSON.stringify({
            fileName: `smoke-${randomBytes(4).toString("hex")}.wav`,
            contentType: "audio/wav",
            size: wav.length,
          }),
        });
        if (res.status !== 200) throw new StepFailure(`POST /uploads answered ${res.status}: ${await res.text()}`);
        const grant = (await res.json()) as UploadGrant;
        key = grant.key;
        summary.key = key;
        uploadGrant = grant;
        return `POST /uploads 200: ${key}`;
      },
    ],
    [
      "upload",
      async () => {
        const grant = uploadGrant as UploadGrant;
        const res = await fetch(grant.upload.url, { method: "PUT", headers: grant.upload.headers, body: wav });
        if (!res.ok) throw new StepFailure(`PUT of ${wav.length} bytes answered ${res.status}`);
        uploadedAt = Date.now();
        return `PUT ${wav.length} bytes (${WAV_SECONDS} s WAV)`;
      },
    ],
    [
      "processed",
      async () => {
        const doc = await poll("the document", timeoutMs, async () => {
          const res = await fetch(fileUrl(target.apiUrl, key), { headers: auth() });
          if (res.status === 404) return undefined;
          if (res.status !== 200) throw new StepFailure(`GET /files/{key} answered ${res.status}`);
          return (await res.json()) as MetadataDocument;
        });
        processed = doc;
        return `GET /files/{key} 200 after ${((Date.now() - uploadedAt) / 1000).toFixed(1)} s`;
      },
    ],
    [
      "document",
      async () => {
        const problems = documentProblems(processed as MetadataDocument, key, wav.length);
        if (problems.length > 0) throw new StepFailure(problems.join("; "));
        const doc = processed as MetadataDocument;
        return `${doc.status} ${doc.kind} ${doc.container?.durationSec} s, ${doc.streams.length} stream(s)`;
      },
    ],
    [
      "screenshots",
      async () => {
        const page = (browser as SmokeBrowser).page;
        await page.goto(target.dashboardUrl);
        const row = page.locator(`tr[data-key="${key.replace(/"/g, '\\"')}"]`);
        await row.waitFor();
        await row.scrollIntoViewIfNeeded();
        await shot(page, "2-file-list");
        await page.goto(`${target.dashboardUrl}#/files/${encodeURIComponent(key)}`);
        // The detail dialog, once its streams are in (before that it says "Loading…").
        await page.locator("dialog#detail[open] #streams-table").waitFor();
        await shot(page, "3-file-detail");
        return `${summary.screenshots.length} in ${screenshotDir}`;
      },
    ],
    [
      "delete",
      async () => {
        await target.deleteObject(key);
        return `DeleteObject s3://${target.bucket}/${key}`;
      },
    ],
    [
      "document gone",
      async () => {
        await poll("the document to go", timeoutMs, async () => {
          const res = await fetch(fileUrl(target.apiUrl, key), { headers: auth() });
          return res.status === 404 ? true : undefined;
        });
        return "GET /files/{key} 404";
      },
    ],
  ];
  try {
    for (const [name, run] of steps) {
      const t0 = Date.now();
      let result: StepResult;
      try {
        const detail = await run();
        result = { step: name, ok: true, ms: Date.now() - t0, ...(detail ? { detail } : {}) };
      } catch (err) {
        result = { step: name, ok: false, ms: Date.now() - t0, error: (err as Error).message.split("\n")[0] };
      }
      summary.steps.push(result);
      options.onStep?.(result);
      if (!result.ok) break;
    }
  } finally {
    await browser?.close();
    if (user) {
      try {
        await user.remove();
      } catch (err) {
        summary.steps.push({ step: "remove user", ok: false, ms: 0, error: (err as Error).message });
      }
    }
  }
  summary.passed = summary.steps.length === steps.length && summary.steps.every((s) => s.ok);
  summary.ms = Date.now() - started;
  return summary;
}

export function formatStep(r: StepResult): string {
  return `${r.ok ? "ok  " : "FAIL"} ${r.step.padEnd(14)} ${String(r.ms).padStart(6)} ms  ${r.ok ? (r.detail ?? "") : r.error}`;
}

export const cli: Cli = {
  name: "smoke",
  usage: `usage:
  npm run smoke -- --lab [--dir D] [options]          the running lab (npm start)
  npm run smoke -- --stack NAME [options]             a deployed stack (pulumi stack output)

Checks a running pipeline end to end: GET /health, sign in at the dashboard, POST /uploads,
PUT a generated 1 s WAV, poll GET /files/{key} until processed, check the document,
screenshot the dashboard (signed in, file list, detail), delete the object, see the document go.
In the cloud it signs in as a Cognito user it creates for the run and deletes afterwards
(needs cognito-idp:AdminCreateUser/AdminSetUserPassword/AdminDeleteUser and s3:DeleteObject).

  --lab                  test the running lab
  --dir <folder>         the lab's folder (default: $LAB_DIR or .lab)
  --stack NAME           test a stack: apiUrl, dashboardUrl, uploadBucket, userPoolId from its outputs
  --api-url U, --dashboard-url U, --bucket B, --user-pool-id ID
                         override the stack's outputs (the way without the Pulumi CLI)
  --region R             AWS region (default: the SDK's, e.g. AWS_REGION)
  --screenshots <dir>    where the screenshots go (default test-output/smoke)
  --timeout <seconds>    wait at most this long for processing and for the delete (default 120)
  --json                 one JSON summary on stdout instead of a line per step

A browser is needed for the sign-in and the screenshots: Chromium at $CHROMIUM_PATH,
/usr/bin/chromium or /usr/bin/google-chrome.`,
  exitCodes: {
    1: "a step failed (the failed step and why are printed)",
    [EXIT_NO_TARGET]: "nothing to test: no lab is running on the folder",
  },
  async main(argv) {
    const { values } = parseFlags(argv, {
      lab: { type: "boolean", default: false },
      dir: { type: "string" },
      stack: { type: "string" },
      "api-url": { type: "string" },
      "dashboard-url": { type: "string" },
      bucket: { type: "string" },
      "user-pool-id": { type: "string" },
      region: { type: "string" },
      screenshots: { type: "string" },
      timeout: { type: "string" },
      json: { type: "boolean", default: false },
    });
    const cloudFlags = values.stack ?? values["api-url"] ?? values["user-pool-id"];
    if (values.lab === (cloudFlags !== undefined)) throw new UsageError("give either --lab or --stack NAME");
    const timeout = values.timeout === undefined ? 120 : Number(values.timeout);
    if (!(timeout > 0)) throw new UsageError(`--timeout needs a positive number of seconds, got ${values.timeout}`);
    let target: SmokeTarget;
    try {
      target = values.lab
        ? labTarget(values.dir)
        : await stackTarget(
            values.stack,
            {
              apiUrl: values["api-url"],
              dashboardUrl: values["dashboard-url"],
              bucket: values.bucket,
              userPoolId: values["user-pool-id"],
            },
            values.region,
          );
    } catch (err) {
      if (!(err instanceof NoTargetError)) throw err;
      process.stderr.write(`smoke: ${err.message}\n`);
      return EXIT_NO_TARGET;
    }
    const screenshotDir = path.resolve(values.screenshots ?? path.join("test-output", "smoke"));
    const say = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);
    say(`smoke: ${target.where}: ${target.apiUrl}`);
    try {
      const summary = await runSmoke({
        target,
        screenshotDir,
        timeoutMs: timeout * 1000,
        onStep: (r) => say(formatStep(r)),
      });
      if (values.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else say(`smoke: ${summary.passed ? "PASSED" : "FAILED"} in ${(summary.ms / 1000).toFixed(1)} s`);
      return summary.passed ? 0 : 1;
    } finally {
      target.close();
    }
  },
};

if (require.main === module) runCli(cli);
