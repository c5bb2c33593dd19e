/**
 * The lab's admin endpoints, served by the lab gateway before anything else (they are not
 * in the API's route table, so nothing like them exists in the cloud):
 *
 *   GET  /_lab/status         the pipeline's status (LabPipelineControl.status())
 *   POST /_lab/pause          {"reason"?: string}: pause (recorded, survives a restart)
 *   POST /_lab/resume         resume
 *   POST /_lab/budget-alert   {"event": SNSEvent, "policy"?: {thresholdPercent, pauseOnForecast}}:
 *                             the kill switch's own handleBudgetNotifications, with the lab's control
 *
 * Only for the lab CLI (`npm run lab -- pause|resume|status|budget-alert`): loopback clients
 * only (403 otherwise, whatever address the lab listens on), no browsers (a request with
 * Origin or Sec-Fetch-Site is refused, preflights included, and no CORS header is ever
 * sent), and the per-lab token of <lab dir>/auth/admin-token (mode 0600) in the
 * x-lab-admin-token header (401 otherwise). Answers are JSON; dates are ISO strings.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import * as fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as path from "node:path";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { SNSEvent } from "aws-lambda";
import { type KillSwitchPolicy, readKillSwitchPolicy } from "../handlers/kill-switch/config";
import { handleBudgetNotifications, type RecordOutcome } from "../handlers/kill-switch/kill-switch";
import {
  type PauseResult,
  PipelineControlError,
  type PipelineStatus,
  type ResumeResult,
} from "../lib/pipeline-control";
import { METRICS_NAMESPACE } from "../lib/runtime-env";
import { labAuthPaths, writePrivateFile } from "./auth/secrets";
import { LAB_ACCOUNT_ID, LAB_REGION } from "./clients";
import { LabLogger, LabMetrics, type LogSink } from "./log";
import type { LabPipelineControl, RedriveResult } from "./pipeline-control";

export const ADMIN_PREFIX = "/_lab";
export const ADMIN_TOKEN_HEADER = "x-lab-admin-token";
export const DEFAULT_PAUSE_REASON = "paused by hand (npm run lab -- pause)";
const MAX_REASON_CHARS = 500;
const MAX_BODY_BYTES = 1024 * 1024;

/** Where the admin token lives: <lab dir>/auth/admin-token. */
export function labAdminTokenFile(labDir: string): string {
  return path.join(labAuthPaths(labDir).dir, "admin-token");
}

/** The lab's admin token (256 random bits), created on first use, readable by the owner only. */
export function labAdminToken(labDir: string): string {
  const file = labAdminTokenFile(labDir);
  try {
    const token = fs.readFileSync(file, "utf8").trim();
    if (token.length >= 32) return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const token = randomBytes(32).toString("base64url");
  writePrivateFile(file, `${token}\n`);
  return token;
}

/** 127.0.0.0/8, ::1, and IPv4-mapped 127.x. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.replace(/^::ffff:/i, "");
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === "::1" || /^(0{0,4}:){7}0{0,3}1$/.test(address);
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** An SNS event as a Lambda subscription receives it, carrying one message (e.g. the text AWS Budgets publishes). */
export function snsEventFor(message: string, subject = "AWS Budgets notification (lab)"): SNSEvent {
  const topic = `arn:aws:sns:${LAB_REGION}:${LAB_ACCOUNT_ID}:lab-budget-alerts`;
  return {
    Records: [
      {
        EventSource: "aws:sns",
        EventVersion: "1.0",
        EventSubscriptionArn: `${topic}:${randomUUID()}`,
        Sns: {
          Type: "Notification",
          MessageId: randomUUID(),
          TopicArn: topic,
          Subject: subject,
          Message: message,
          Timestamp: new Date().toISOString(),
          SignatureVersion: "1",
          Signature: "LAB",
          SigningCertUrl: "",
          UnsubscribeUrl: "",
          MessageAttributes: {},
        },
      },
    ],
  };
}

/** A file's content as an SNS event: an SNS event (JSON with Records[].Sns) as is, anything else as the message. */
export function snsEventFromFile(content: string): SNSEvent {
  const text = content.trim();
  if (text.startsWith("{")) {
    try {
      const v = JSON.parse(text) as Partial<SNSEvent>;
      if (Array.isArray(v.Records) && v.Records.every((r) => typeof r?.Sns?.Message === "string")) return v as SNSEvent;
    } catch {
      // not JSON: a message
    }
  }
  return snsEventFor(content);
}

// --- server ----------------------------------------------------------------------------

export interface LabAdminOptions {
  token: string;
  /** The lab's control; undefined while the lab is still starting (503). */
  control: () => LabPipelineControl | undefined;
  /** The lab's log sink: the kill switch logs and publishes metrics there, as on Lambda. */
  sink: LogSink;
  /** For the lab's own lines (pause, resume by hand). */
  logger: Logger;
  now?: () => Date;
  /** Pause policy when a budget-alert request names none (default: KILL_SWITCH_* of the lab's environment). */
  policy?: () => KillSwitchPolicy;
}

/** What a budget-alert request answers. */
export interface BudgetAlertResult {
  outcomes: RecordOutcome[];
  status: PipelineStatus;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type Route = { method: "GET" | "POST"; run: (body: unknown) => Promise<unknown> };

function isPolicy(v: unknown): v is KillSwitchPolicy {
  const p = v as KillSwitchPolicy;
  return (
    !!p &&
    typeof p.thresholdPercent === "number" &&
    Number.isFinite(p.thresholdPercent) &&
    p.thresholdPercent > 0 &&
    typeof p.pauseOnForecast === "boolean"
  );
}

/**
 * A gateway pre-handler: answers every request under /_lab (true), leaves the rest (false).
 * Mount it as the gateway's `admin` option.
 */
export function createLabAdmin(options: LabAdminOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const now = options.now ?? (() => new Date());
  const killSwitchLogger = new LabLogger({ serviceName: "kill-switch" }, options.sink);
  const killSwitchMetrics = new LabMetrics({ namespace: METRICS_NAMESPACE, serviceName: "kill-switch" }, options.sink);

  function control(): LabPipelineControl {
    const c = options.control();
    if (!c) throw new HttpError(503, "the lab is still starting; try again in a moment");
    return c;
  }

  const routes: Record<string, Route> = {
    status: { method: "GET", run: async () => control().status() },
    pause: {
      method: "POST",
      run: async (body): Promise<PauseResult> => {
        const raw = (body as { reason?: unknown } | undefined)?.reason;
        if (raw !== undefined && typeof raw !== "string") throw new HttpError(400, "reason must be a string");
        const reason = (raw ?? "").trim().slice(0, MAX_REASON_CHARS) || DEFAULT_PAUSE_REASON;
        const result = await control().pause(reason, now());
        if (!result.alreadyPaused) options.logger.warn("pipeline paused by hand", { reason, changes: result.changes });
        return result;
      },
    },
    resume: {
      method: "POST",
      run: async (): Promise<ResumeResult> => {
        const result = await control().resume();
        if (!result.wasRunning) options.logger.info("pipeline resumed", { changes: result.changes });
        return result;
      },
    },
    redrive: {
      method: "POST",
      run: async (): Promise<RedriveResult> => {
        const result = await control().redrive();
        if (result.moved > 0) options.logger.info("dead letters moved back to the queue", { ...result });
        return result;
      },
    },
    "budget-alert": {
      method: "POST",
      run: async (body): Promise<BudgetAlertResult> => {
        const b = body as { event?: Partial<SNSEvent>; policy?: unknown } | undefined;
        if (!Array.isArray(b?.event?.Records)) throw new HttpError(400, "body must be {event: <SNS event>}");
        if (b.policy !== undefined && !isPolicy(b.policy)) {
          throw new HttpError(400, "policy must be {thresholdPercent: positive number, pauseOnForecast: boolean}");
        }
        const c = control();
        const outcomes = await handleBudgetNotifications(b.event as SNSEvent, {
          control: c,
          policy: (b.policy as KillSwitchPolicy | undefined) ?? (options.policy ?? readKillSwitchPolicy)(),
          logger: killSwitchLogger,
          metrics: killSwitchMetrics,
          now,
        });
        return { outcomes, status: await c.status() };
      },
    },
  };

  async function answer(
    req: IncomingMessage,
  ): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    if (!isLoopback(req.socket.remoteAddress)) {
      throw new HttpError(403, "the lab's admin endpoints answer loopback clients only");
    }
    if (req.headers.origin !== undefined || req.headers["sec-fetch-site"] !== undefined) {
      throw new HttpError(403, "the lab's admin endpoints do not answer browsers; use npm run lab -- status");
    }
    const given = req.headers[ADMIN_TOKEN_HEADER];
    if (typeof given !== "string" || !sameSecret(given, options.token)) {
      throw new HttpError(
        401,
        `missing or wrong ${ADMIN_TOKEN_HEADER} (the lab CLI sends the lab folder's auth/admin-token)`,
      );
    }
    const name = (req.url ?? "").split("?")[0].slice(ADMIN_PREFIX.length + 1);
    const route = Object.hasOwn(routes, name) ? routes[name] : undefined;
    if (!route) throw new HttpError(404, `no admin endpoint ${ADMIN_PREFIX}/${name}`);
    if (req.method !== route.method) {
      throw new HttpError(405, `${ADMIN_PREFIX}/${name} takes ${route.method}`, { allow: route.method });
    }
    let body: unknown;
    if (route.method === "POST") {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) throw new HttpError(413, "request body too large");
        chunks.push(chunk as Buffer);
      }
      const text = Buffer.concat(chunks).toString("utf8").trim();
      if (text) {
        try {
          body = JSON.parse(text);
        } catch {
          throw new HttpError(400, "the body is not JSON");
        }
      }
    }
    return { status: 200, body: await route.run(body) };
  }

  return (req, res) => {
    const p = (req.url ?? "").split("?")[0];
    if (p !== ADMIN_PREFIX && !p.startsWith(`${ADMIN_PREFIX}/`)) return false;
    answer(req)
      .catch((err) => {
        if (err instanceof HttpError) {
          const headers: Record<string, string> = typeof err.extra.allow === "string" ? { allow: err.extra.allow } : {};
          return { status: err.status, body: { message: err.message }, headers };
        }
        const part = err instanceof PipelineControlError ? { part: err.part, transient: err.transient } : {};
        options.logger.error("lab admin request failed", { path: p, error: err as Error });
        return { status: 500, body: { message: (err as Error).message, ...part } };
      })
      .then(({ status, body, headers }) => {
        const text = JSON.stringify(body);
        res.writeHead(status, {
          "content-type": "application/json",
          "cache-control": "no-store",
          "content-length": String(Buffer.byteLength(text)),
          ...headers,
        });
        res.end(text);
      });
    return true;
  };
}

// --- client ----------------------------------------------------------------------------

/** A status read back from JSON (pausedAt as a Date again). */
export function reviveStatus(json: unknown): PipelineStatus {
  const s = json as PipelineStatus & { pausedAt?: string | Date };
  return { ...s, ...(s.pausedAt !== undefined ? { pausedAt: new Date(s.pausedAt) } : {}) };
}

export class LabAdminError extends Error {
  constructor(
    message: string,
    /** The HTTP status, or 0 when the lab did not answer. */
    readonly status: number,
  ) {
    super(message);
    this.name = "LabAdminError";
  }
}

/** Calls a running lab's admin endpoints (what the lab CLI uses). */
export class LabAdminClient {
  constructor(
    private readonly apiUrl: string,
    private readonly token: string,
  ) {}

  async status(): Promise<PipelineStatus> {
    return reviveStatus(await this.call("GET", "status"));
  }

  async pause(reason?: string): Promise<PauseResult> {
    const r = (await this.call("POST", "pause", reason === undefined ? {} : { reason })) as PauseResult;
    return { ...r, status: reviveStatus(r.status) };
  }

  async resume(): Promise<ResumeResult> {
    const r = (await this.call("POST", "resume", {})) as ResumeResult;
    return { ...r, status: reviveStatus(r.status) };
  }

  async redrive(): Promise<RedriveResult> {
    return (await this.call("POST", "redrive", {})) as RedriveResult;
  }

  async budgetAlert(event: SNSEvent, policy?: KillSwitchPolicy): Promise<BudgetAlertResult> {
    const r = (await this.call("POST", "budget-alert", { event, ...(policy ? { policy } : {}) })) as BudgetAlertResult;
    return { ...r, status: reviveStatus(r.status) };
  }

  private async call(method: "GET" | "POST", name: string, body?: unknown): Promise<unknown> {
    const url = `${this.apiUrl}${ADMIN_PREFIX}/${name}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          [ADMIN_TOKEN_HEADER]: this.token,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new LabAdminError(`no answer from ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, 0);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new LabAdminError(`${method} ${url}: ${res.status}, not JSON: ${text.slice(0, 200)}`, res.status);
    }
    if (!res.ok) {
      const message = (json as { message?: string })?.message ?? text;
      throw new LabAdminError(`${method} ${url}: ${res.status} ${message}`, res.status);
    }
    return json;
  }
}
