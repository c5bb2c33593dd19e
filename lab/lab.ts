/**
 * The local lab: the whole pipeline on this machine, no AWS account.
 *
 *   s3rver (ingest + metadata buckets)
 *     -> AWS-shaped S3 event notifications (lab/s3-notifications.ts)
 *     -> persistent queue with visibility timeout, retries and a DLQ (lab/queue.ts)
 *     -> worker invoking the extractor's real handleBatch (lab/worker.ts), whose execution
 *        environments run in a process of their own (lab/extractor-process.ts)
 *     -> dynalite (the metadata table, from lib/schema.ts)
 *   HTTP gateway (payload format 2.0, lab/api-gateway.ts) -> the read API (handlers/api)
 *
 * Everything is kept under one folder (default <repo>/.lab, or LAB_DIR), so a restart
 * loses nothing: objects, table, queued messages, the sequencer clock.
 *
 * startLab() is what `npm start` (lab/main.ts), the end-to-end tests and the bench use.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { S3Client } from "@aws-sdk/client-s3";
import { createApi, ROUTE_TABLE, resolveUploadPolicy } from "../handlers/api/routes";
import { resolveLocalFfprobe } from "../handlers/extractor/ffprobe";
import { decodeS3EventKey } from "../handlers/extractor/s3-event";
import { DynamoStatsStore } from "../handlers/stats/store";
import { DASHBOARD_SCOPES } from "../lib/auth";
import { LAB_NAMES } from "../lib/naming";
import { REPO_ROOT } from "../lib/repo-root";
import { DEFAULT_PROBE_TIMEOUT_MS } from "../lib/runtime-env";
import { createLabAdmin, labAdminToken } from "./admin";
import { type Authorizer, startApiGateway } from "./api-gateway";
import { createJwtAuthorizer } from "./auth/authorizer";
import { type LabIssuer, startLabIssuer } from "./auth/issuer";
import { labAuthPaths, labCursorSecret } from "./auth/secrets";
import { LAB_CREDENTIALS, LAB_REGION, makeLabDynamoClient, makeLabS3Client } from "./clients";
import { createDashboardHandler } from "./dashboard";
import { ensureMetadataTable, ensureStatsTable, startLabDynamo, sweepExpiredItems } from "./dynamodb";
import { type ExtractorProcess, startExtractorProcess } from "./extractor-process";
import { discardSink, fileSink, LabLogger, type LogSink, prettySink, teeSink } from "./log";
import { FOR_THIS_RUN, LabPipelineControl } from "./pipeline-control";
import { applyCors, ensureBucket } from "./provision";
import { LabQueue } from "./queue";
import { startLabS3 } from "./s3";
import { s3TestEventBody } from "./s3-notifications";
import { SequencerClock } from "./sequencer";
import { type LabStatsFeed, startLabStatsFeed } from "./stats-feed";
import { QueueWorker, type RetryBackoff } from "./worker";

/** Queue names the lab uses for the notification queue and its dead-letter queue. */
export const LAB_QUEUE_NAMES = { queue: "media-ingest-events", deadLetterQueue: "media-ingest-events-dlq" } as const;

/** The lab folder: LAB_DIR, else <repo>/.lab. */
export function defaultLabDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.LAB_DIR || path.join(REPO_ROOT, ".lab"));
}

/** Where each part keeps its state under the lab folder. */
export function labPaths(dir: string) {
  const data = path.join(dir, "data");
  return {
    dir,
    endpoints: path.join(dir, "endpoints.json"),
    lock: path.join(dir, "lab.pid"),
    data,
    s3: path.join(data, "s3"),
    dynamodb: path.join(data, "dynamodb"),
    queue: path.join(data, "queue", `${LAB_QUEUE_NAMES.queue}.jsonl`),
    deadLetterQueue: path.join(data, "queue", `${LAB_QUEUE_NAMES.deadLetterQueue}.jsonl`),
    sequencer: path.join(data, "sequencer.json"),
    /** Intents of S3 changes whose events are not queued yet (lab/s3-notifications.ts): replayed after a crash. */
    s3Journal: path.join(data, "s3-events.journal"),
    /** A recorded pause (lab/pipeline-control.ts): while it exists, the lab starts paused. */
    pause: path.join(data, "pause.json"),
    /** The ports of the first start, reused by later ones (an open dashboard tab and tokens survive a restart). */
    ports: path.join(dir, "ports.json"),
    log: path.join(dir, "logs", "pipeline.jsonl"),
  };
}

export interface LabQueueSettings {
  /** SQS VisibilityTimeout; must cover the longest batch (probe timeout x batch). */
  visibilityTimeoutMs?: number;
  /** Deliveries before the dead-letter queue. */
  maxReceiveCount?: number;
  batchSize?: number;
  concurrency?: number;
  retryBackoff?: RetryBackoff | false;
  pollWaitMs?: number;
}

export interface LabOptions {
  /** Lab folder (default: LAB_DIR or <repo>/.lab). */
  dir?: string;
  /** Loopback address to listen on. */
  host?: string;
  /**
   * Ports (0: any free port). Default for each: LAB_S3_PORT, LAB_DYNAMODB_PORT, LAB_API_PORT,
   * LAB_AUTH_PORT, else the port kept in <dir>/ports.json by the previous start (when still
   * free), else any free port. The ports used are written back to ports.json.
   */
  ports?: Partial<LabPorts>;
  /** Reuse the ports of ports.json (default true). */
  keepPorts?: boolean;
  /** No console output (logs still go to <dir>/logs/pipeline.jsonl). */
  quiet?: boolean;
  /** Console output; default: one line per processed object (ignored when quiet). */
  logSink?: LogSink;
  queue?: LabQueueSettings;
  probeTimeoutMs?: number;
  /** Extra browser origins allowed to call the API and upload to the ingest bucket (the dashboard's own origin always is). */
  corsOrigins?: string[];
  /** Start with the worker paused for this run only (uploads queue up); a pause recorded by `control` persists anyway. */
  paused?: boolean;
  /** How often tombstones past their TTL are swept (dynalite has no TTL). */
  ttlSweepIntervalMs?: number;
  /**
   * Where the extractor reaches S3 and DynamoDB, given the stand-ins' endpoints (default:
   * those). The soak test (lab/soak/) puts fault-injecting proxies here.
   */
  extractorEndpoints?: (direct: ExtractorEndpoints) => ExtractorEndpoints | Promise<ExtractorEndpoints>;
}

export interface ExtractorEndpoints {
  s3: string;
  dynamodb: string;
}

/** What a client needs to talk to a running lab; written to <dir>/endpoints.json. */
export interface LabEndpoints {
  region: string;
  s3Endpoint: string;
  ingestBucket: string;
  metadataBucket: string;
  dynamodbEndpoint: string;
  tableName: string;
  apiUrl: string;
  /** The dashboard (served by the API gateway for non-API paths). */
  dashboardUrl: string;
  /** The OpenID Connect issuer standing in for Cognito, and how to sign in. */
  auth: { issuer: string; clientId: string; audience: string[]; username: string; userFile: string };
  queueArn: string;
  deadLetterQueueArn: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  dir: string;
  pid: number;
  startedAt: string;
}

export interface Lab {
  dir: string;
  endpoints: LabEndpoints;
  /** S3 client for the lab's s3rver (the caller's; the extractor has its own). */
  s3: S3Client;
  /** DynamoDB client for the lab's dynalite. */
  dynamodb: DynamoDBClient;
  queue: LabQueue;
  deadLetterQueue: LabQueue;
  worker: QueueWorker;
  /** The extractor's execution environments, in a process of their own (lab/extractor-process.ts). */
  extractor: ExtractorProcess;
  /** Pause / resume / status, as the kill switch drives the cloud (lib/pipeline-control.ts). */
  control: LabPipelineControl;
  /** The stats aggregator's feed (idle(): every write so far is counted). */
  stats: LabStatsFeed;
  /** Drains the batch in progress, closes the servers, persists the queues. Idempotent. */
  stop(): Promise<void>;
}

export const LAB_QUEUE_DEFAULTS: Required<Omit<LabQueueSettings, "retryBackoff">> & { retryBackoff: RetryBackoff } = {
  visibilityTimeoutMs: 30_000,
  maxReceiveCount: 3,
  batchSize: 10,
  concurrency: 2,
  retryBackoff: { baseMs: 1_000 },
  pollWaitMs: 1_000,
};

/** The lab's listening ports, as kept in <dir>/ports.json. */
export interface LabPorts {
  s3: number;
  dynamodb: number;
  api: number;
  auth: number;
}

const PORT_VARIABLES: Record<keyof LabPorts, string> = {
  s3: "LAB_S3_PORT",
  dynamodb: "LAB_DYNAMODB_PORT",
  api: "LAB_API_PORT",
  auth: "LAB_AUTH_PORT",
};

const isPort = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0 && (n as number) <= 65535;

/** The ports a previous start kept (only valid entries); {} when there is no file. */
export function keptPorts(dir: string): Partial<LabPorts> {
  try {
    const raw = JSON.parse(fs.readFileSync(labPaths(dir).ports, "utf8")) as Record<string, unknown>;
    return Object.fromEntries(Object.keys(PORT_VARIABLES).flatMap((k) => (isPort(raw[k]) ? [[k, raw[k]]] : [])));
  } catch {
    return {};
  }
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * The port to listen on: the option (a flag), else the variable, else the kept port when no
 * other program took it meanwhile (`replaced` is called then), else 0 (any free port).
 */
async function choosePort(
  name: keyof LabPorts,
  option: number | undefined,
  kept: number | undefined,
  host: string,
  replaced: (port: number) => void,
): Promise<number> {
  if (option !== undefined) return option;
  const envName = PORT_VARIABLES[name];
  const raw = process.env[envName];
  if (raw !== undefined && raw !== "") {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${envName}=${raw} is not a port number`);
    return n;
  }
  if (kept === undefined) return 0;
  if (await portFree(host, kept)) return kept;
  replaced(kept);
  return 0;
}

/** True when a process with this pid exists (EPERM: it does, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** One lab per folder: a pid file, taken over when its process is gone. */
function takeLock(file: string): () => void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      return () => fs.rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number(fs.readFileSync(file, "utf8").trim());
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
        throw new Error(
          `a lab is already running on ${path.dirname(file)} (pid ${pid}${pid === process.pid ? ", this process" : ""}); ` +
            `stop it, or remove ${file} if that process is not a lab`,
        );
      }
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`cannot lock ${file}`);
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** The object key a notification body is about, for log lines. */
function keyOf(body: string): string | undefined {
  try {
    const key = JSON.parse(body)?.Records?.[0]?.s3?.object?.key;
    return typeof key === "string" ? decodeS3EventKey(key) : undefined;
  } catch {
    return undefined;
  }
}

export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const dir = path.resolve(options.dir ?? defaultLabDir());
  const paths = labPaths(dir);
  const host = options.host ?? "127.0.0.1";
  const settings = { ...LAB_QUEUE_DEFAULTS, ...options.queue };
  for (const p of [paths.s3, paths.dynamodb, path.dirname(paths.queue)]) fs.mkdirSync(p, { recursive: true });

  const cleanups: (() => unknown)[] = [];
  const cleanUp = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // keep closing the rest
      }
    }
  };

  try {
    cleanups.push(takeLock(paths.lock));
    const logFile = fileSink(paths.log);
    cleanups.push(() => logFile.close());
    const consoleSink = options.quiet ? discardSink : (options.logSink ?? prettySink());
    const sink = teeSink(logFile.sink, consoleSink);
    const labLogger = new LabLogger({ serviceName: "lab" }, sink);

    const ffprobe = resolveLocalFfprobe();
    ffprobe.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile

    // Queues first: the S3 adapter delivers into them.
    const deadLetterQueue = await LabQueue.open({ name: LAB_QUEUE_NAMES.deadLetterQueue, file: paths.deadLetterQueue });
    cleanups.push(() => deadLetterQueue.close());
    const queue = await LabQueue.open({
      name: LAB_QUEUE_NAMES.queue,
      file: paths.queue,
      visibilityTimeoutMs: settings.visibilityTimeoutMs,
      redrive: { deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
    });
    cleanups.push(() => queue.close());
    queue.on("dead-letter", (m) =>
      labLogger.warn("message moved to the dead-letter queue", {
        messageId: m.messageId,
        receiveCount: m.receiveCount,
        bucket: LAB_NAMES.ingestBucket,
        key: keyOf(m.body),
      }),
    );

    const kept = options.keepPorts === false ? {} : keptPorts(dir);
    const port = (name: keyof LabPorts) =>
      choosePort(name, options.ports?.[name], kept[name], host, (taken) =>
        labLogger.warn(`the ${name} port kept in ${paths.ports} is taken by another program; using a free one`, {
          port: taken,
        }),
      );
    // dynalite has no streams: its writes to the metadata table feed the stats aggregator.
    let statsFeed: LabStatsFeed | undefined;
    const dynamo = await startLabDynamo({
      path: paths.dynamodb,
      onRepair: (repair) =>
        labLogger.warn(
          "secondary index repaired after an unclean stop (dynalite's item and index writes are not atomic)",
          { ...repair },
        ),
      host,
      port: await port("dynamodb"),
      onWrite: (table, keys) => {
        if (table === LAB_NAMES.table) statsFeed?.written(keys);
      },
    });
    cleanups.push(() => dynamo.close());

    const s3Server = await startLabS3({
      directory: paths.s3,
      host,
      port: await port("s3"),
      notifications: {
        buckets: [LAB_NAMES.ingestBucket],
        sequencer: SequencerClock.open(paths.sequencer),
        deliver: async (body) => {
          await queue.send(body);
        },
        region: LAB_REGION,
        journal: paths.s3Journal,
      },
    });
    cleanups.push(() => s3Server.close());

    const s3 = makeLabS3Client(s3Server.endpoint);
    const dynamodb = makeLabDynamoClient(dynamo.endpoint);
    const direct = { s3: s3Server.endpoint, dynamodb: dynamo.endpoint };
    const extractorAt = (await options.extractorEndpoints?.(direct)) ?? direct;
    const apiDynamo = makeLabDynamoClient(dynamo.endpoint);
    const apiS3 = makeLabS3Client(s3Server.endpoint); // presigns only
    cleanups.push(() => {
      for (const c of [s3, dynamodb, apiDynamo, apiS3]) c.destroy();
    });

    await ensureMetadataTable(dynamodb, LAB_NAMES.table);
    await ensureStatsTable(dynamodb, LAB_NAMES.statsTable);
    // One serialized writer: dynalite has no transactions (handlers/stats/store.ts).
    const statsStore = new DynamoStatsStore(dynamodb, LAB_NAMES.statsTable, false);
    statsFeed = startLabStatsFeed({
      dynamodb,
      tableName: LAB_NAMES.table,
      store: statsStore,
      statsTableName: LAB_NAMES.statsTable,
      onError: (err) => labLogger.error("stats aggregator failed; the keys are retried", { error: err as Error }),
    });
    const feed = statsFeed;
    cleanups.push(() => feed.stop());
    await ensureBucket(s3, LAB_NAMES.ingestBucket);
    await ensureBucket(s3, LAB_NAMES.metadataBucket);

    const uploadPolicy = resolveUploadPolicy();
    const api = createApi({
      dynamodb: apiDynamo,
      tableName: LAB_NAMES.table,
      s3: apiS3,
      ingestBucket: LAB_NAMES.ingestBucket,
      metadataBucket: LAB_NAMES.metadataBucket,
      cursorSecret: labCursorSecret(dir),
      uploads: uploadPolicy,
      logger: new LabLogger({ serviceName: "api" }, sink),
      stats: statsStore,
      pipelineState: async () => {
        if (!control) return { state: "running" };
        const s = await control.status();
        return {
          state: s.state,
          ...(s.pausedAt ? { pausedAt: s.pausedAt.toISOString() } : {}),
          ...(s.queue ? { pending: s.queue.visible + s.queue.inFlight } : {}),
        };
      },
    });
    // The gateway starts first (the issuer must know the dashboard's URL); until the issuer is up, tokens are refused.
    let issuer: LabIssuer | undefined;
    let authorizer: Authorizer | undefined;
    let control: LabPipelineControl | undefined;
    const corsOrigins: string[] = [...(options.corsOrigins ?? [])];
    const gateway = await startApiGateway({
      host,
      port: await port("api"),
      routes: ROUTE_TABLE.map((r) => ({ ...r, handler: api })),
      authorizer: (event, route) =>
        authorizer ? authorizer(event, route) : Promise.resolve({ deny: "unauthorized", description: "starting" }),
      cors: {
        allowOrigins: corsOrigins,
        allowMethods: ["GET", "POST", "OPTIONS"],
        allowHeaders: ["authorization", "content-type"],
        maxAgeSeconds: 600,
      },
      fallback: createDashboardHandler({
        config: () => ({
          apiUrl: "", // same origin as the page
          auth: {
            authority: issuer?.issuer ?? "",
            clientId: issuer?.clientId ?? "",
            scopes: [...DASHBOARD_SCOPES],
            redirectPath: "/",
          },
          uploads: { maxBytes: uploadPolicy.maxBytes, contentTypes: [...uploadPolicy.contentTypes] },
        }),
        onError: (err) => labLogger.error("dashboard error", { error: err as Error }),
      }),
      onError: (err) => labLogger.error("API handler failed", { error: err as Error }),
      admin: createLabAdmin({ token: labAdminToken(dir), control: () => control, sink, logger: labLogger }),
    });
    cleanups.push(() => gateway.close());
    const apiOrigin = new URL(gateway.url);
    const dashboardOrigins = [apiOrigin.origin, `http://localhost:${apiOrigin.port}`];
    corsOrigins.push(...dashboardOrigins);

    issuer = await startLabIssuer({
      dir,
      host,
      port: await port("auth"),
      redirectUris: [...dashboardOrigins, ...(options.corsOrigins ?? [])].map((o) => `${o}/`),
      apiResource: gateway.url,
      onError: (err) => labLogger.error("issuer error", { error: err as Error }),
    });
    cleanups.push(() => issuer?.close());
    authorizer = createJwtAuthorizer({
      issuer: issuer.issuer,
      audience: issuer.audience,
      onError: (err) => labLogger.error("JWT authorizer error", { error: err as Error }),
    });

    await applyCors(s3, LAB_NAMES.ingestBucket, [...dashboardOrigins, ...(options.corsOrigins ?? [])]);
    // As S3 does when a notification configuration is put: consumers must ignore it.
    await queue.send(s3TestEventBody(LAB_NAMES.ingestBucket));

    // The extractor's execution environments, in a process of their own (lab/extractor-process.ts).
    const extractor = await startExtractorProcess(
      {
        s3Endpoint: extractorAt.s3,
        dynamodbEndpoint: extractorAt.dynamodb,
        tableName: LAB_NAMES.table,
        metadataBucket: LAB_NAMES.metadataBucket,
        ffprobePath: await ffprobe,
        probeTimeoutMs: options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
      },
      sink,
    );
    cleanups.push(() => extractor.close());
    const worker = new QueueWorker({
      queue,
      handler: (event) => extractor.handleBatch(event),
      batchSize: settings.batchSize,
      concurrency: settings.concurrency,
      pollWaitMs: settings.pollWaitMs,
      retryBackoff: settings.retryBackoff,
      region: LAB_REGION,
      onBatch: (report) => {
        if (report.failed.length > 0) {
          labLogger.warn("messages will be retried", {
            failed: report.failed.length,
            of: report.messageIds.length,
            ...(report.error ? { error: report.error as Error } : {}),
          });
        }
      },
      onError: (err) => labLogger.error("worker error", { error: err as Error }),
    });
    // Before start(): a recorded pause holds the worker from the first batch on.
    control = new LabPipelineControl({
      worker,
      queue,
      deadLetterQueue,
      file: paths.pause,
      ...(options.paused ? { pausedForThisRun: { reason: FOR_THIS_RUN, at: new Date() } } : {}),
    });
    worker.start();
    cleanups.push(() => worker.stop());

    const sweep = async () => {
      try {
        const n = await sweepExpiredItems(dynamodb, LAB_NAMES.table);
        if (n > 0) labLogger.info("expired items deleted (TTL)", { count: n });
      } catch (err) {
        labLogger.error("TTL sweep failed", { error: err as Error });
      }
    };
    let sweeping: Promise<void> = sweep();
    const sweepTimer = setInterval(
      () => {
        sweeping = sweep();
      },
      options.ttlSweepIntervalMs ?? 10 * 60_000,
    );
    sweepTimer.unref();
    cleanups.push(() => {
      clearInterval(sweepTimer);
      return sweeping;
    });

    const endpoints: LabEndpoints = {
      region: LAB_REGION,
      s3Endpoint: s3Server.endpoint,
      ingestBucket: LAB_NAMES.ingestBucket,
      metadataBucket: LAB_NAMES.metadataBucket,
      dynamodbEndpoint: dynamo.endpoint,
      tableName: LAB_NAMES.table,
      apiUrl: gateway.url,
      dashboardUrl: `${gateway.url}/`,
      auth: {
        issuer: issuer.issuer,
        clientId: issuer.clientId,
        audience: issuer.audience,
        username: issuer.user.email,
        userFile: labAuthPaths(dir).user,
      },
      queueArn: queue.arn,
      deadLetterQueueArn: deadLetterQueue.arn,
      credentials: { ...LAB_CREDENTIALS },
      dir,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    };
    const portOf = (url: string) => Number(new URL(url).port);
    writeJsonAtomic(paths.ports, {
      s3: portOf(s3Server.endpoint),
      dynamodb: portOf(dynamo.endpoint),
      api: portOf(gateway.url),
      auth: portOf(issuer.issuer),
    } satisfies LabPorts);
    writeJsonAtomic(paths.endpoints, endpoints);
    cleanups.push(() => {
      // Only remove it if it still describes this lab.
      try {
        const current = JSON.parse(fs.readFileSync(paths.endpoints, "utf8")) as LabEndpoints;
        if (current.pid === process.pid && current.startedAt === endpoints.startedAt) fs.rmSync(paths.endpoints);
      } catch {
        // already gone
      }
    });

    let stopping: Promise<void> | undefined;
    return {
      dir,
      endpoints,
      s3,
      dynamodb,
      queue,
      deadLetterQueue,
      worker,
      extractor,
      control,
      stats: statsFeed,
      stop: () => {
        stopping ??= cleanUp();
        return stopping;
      },
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}
