/**
 * Fault-injecting HTTP proxies for the soak test, put between the extractor and the lab's
 * stand-ins (startLab's extractorEndpoints), so the real SDK retry path and the queue's
 * redelivery path are what absorbs them:
 *
 *   DynamoDB (dynalite)  ProvisionedThroughputExceededException (400) and InternalServerError
 *                        (500), the latter half the time AFTER forwarding (the write happened,
 *                        the client is told it failed: retries must be idempotent)
 *   S3 (s3rver)          on ranged GETs only (the probe's reads): SlowDown (503) and
 *                        InternalError (500), stalls (response held back; a few longer than
 *                        ffprobe waits), and connections cut in the middle of the body
 *   bursts               now and then (on average every burstEveryMs), every request of one
 *                        proxy fails for burstMs (a throttling storm): longer than the SDK's
 *                        own retries last, so whole messages fail and the queue's redelivery
 *                        has to bring them back
 *
 * Everything else is forwarded untouched. Decisions come from a seeded generator, so a run's
 * fault pattern follows its --seed (timing still varies).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FaultRates {
  /** Share of DynamoDB requests answered with ProvisionedThroughputExceededException. */
  dynamoThrottle: number;
  /** Share of DynamoDB requests answered with a 500. */
  dynamo5xx: number;
  /** Share of ranged S3 GETs answered with a 503 SlowDown or 500 InternalError. */
  s3Errors: number;
  /** Share of ranged S3 GETs held back for stallMs before being forwarded. */
  s3Stalls: number;
  /** Share of ranged S3 GETs whose connection is cut after part of the body. */
  s3Resets: number;
  /** How long a stall lasts, ms (below ffprobe's 10 s read timeout). */
  stallMs: number;
  /** Share of ranged S3 GETs held back for longStallMs: longer than ffprobe waits, so its probe fails. */
  s3LongStalls: number;
  longStallMs: number;
  /** Mean time between bursts, ms (0: none); during a burst every request of that proxy fails for burstMs. */
  burstEveryMs: number;
  burstMs: number;
}

export const NO_FAULTS: FaultRates = {
  dynamoThrottle: 0,
  dynamo5xx: 0,
  s3Errors: 0,
  s3Stalls: 0,
  s3Resets: 0,
  stallMs: 0,
  s3LongStalls: 0,
  longStallMs: 0,
  burstEveryMs: 0,
  burstMs: 0,
};

/**
 * Whether these rates inject anything. When they do not (`npm run soak -- --no-faults`), the
 * soak starts no proxies and the extractor talks to the stand-ins directly: a proxy that only
 * forwards would charge its HTTP parsing and copying to the soak's documents/s figure, on the
 * same two cores, for no fault at all.
 */
export function injectsFaults(rates: FaultRates): boolean {
  const perRequest = [
    rates.dynamoThrottle,
    rates.dynamo5xx,
    rates.s3Errors,
    rates.s3Stalls,
    rates.s3Resets,
    rates.s3LongStalls,
  ];
  return perRequest.some((rate) => rate > 0) || (rates.burstEveryMs > 0 && rates.burstMs > 0);
}

export interface FaultCounts {
  dynamoRequests: number;
  dynamoThrottles: number;
  /** 500s sent instead of forwarding. */
  dynamo5xxBefore: number;
  /** 500s sent after the request was forwarded and applied. */
  dynamo5xxAfter: number;
  s3RangedGets: number;
  s3Errors: number;
  s3Stalls: number;
  s3LongStalls: number;
  s3Resets: number;
  /** Bursts that failed at least one request (DynamoDB, S3); those failures are counted above too. */
  dynamoBursts: number;
  s3Bursts: number;
  /** Requests the proxy could not forward (the lab was down: a kill). */
  upstreamDown: number;
}

export function emptyFaultCounts(): FaultCounts {
  return {
    dynamoRequests: 0,
    dynamoThrottles: 0,
    dynamo5xxBefore: 0,
    dynamo5xxAfter: 0,
    s3RangedGets: 0,
    s3Errors: 0,
    s3Stalls: 0,
    s3LongStalls: 0,
    s3Resets: 0,
    dynamoBursts: 0,
    s3Bursts: 0,
    upstreamDown: 0,
  };
}

/** A small seeded PRNG (mulberry32): reproducible fault and workload patterns. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Bursts on a clock: the gaps between them are exponential with mean burstEveryMs. Returns a
 * function telling whether "now" is inside a burst; onHit runs once per burst that fails a request.
 */
function burstClock(rates: FaultRates, random: () => number, onHit: () => void): () => boolean {
  if (!(rates.burstEveryMs > 0) || !(rates.burstMs > 0)) return () => false;
  const gap = () => -Math.log(1 - random()) * rates.burstEveryMs;
  let start = Date.now() + gap();
  let hit = false;
  return () => {
    const now = Date.now();
    while (now >= start + rates.burstMs) {
      start += rates.burstMs + gap();
      hit = false;
    }
    if (now < start) return false;
    if (!hit) {
      hit = true;
      onHit();
    }
    return true;
  };
}

type Decision =
  | { kind: "forward" }
  | { kind: "respond"; status: number; headers: http.OutgoingHttpHeaders; body: string; afterForward: boolean }
  | { kind: "stall"; ms: number }
  | { kind: "reset" };

export interface FaultProxy {
  url: string;
  close(): Promise<void>;
}

const DYNAMO_JSON = { "Content-Type": "application/x-amz-json-1.0" };
const THROTTLE_BODY = JSON.stringify({
  __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
  message:
    "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
});
const INTERNAL_BODY = JSON.stringify({
  __type: "com.amazonaws.dynamodb.v20120810#InternalServerError",
  message: "Internal server error",
});
const s3ErrorBody = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>SOAKFAULT</RequestId></Error>`;

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function startProxy(
  target: string,
  decide: (req: http.IncomingMessage) => Decision,
  counts: FaultCounts,
): Promise<FaultProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  const server = http.createServer(async (req, res) => {
    // When the client goes away (the extractor aborts a read when ffprobe seeks), drop the
    // upstream request too: a response nobody reads would hold its pooled socket forever.
    let forwarded: http.ClientRequest | undefined;
    let gone = false;
    res.on("close", () => {
      if (res.writableFinished) return;
      gone = true;
      forwarded?.destroy();
    });
    try {
      const body = await readBody(req);
      const decision = decide(req);
      if (decision.kind === "respond" && !decision.afterForward) {
        res.writeHead(decision.status, { ...decision.headers, "Content-Length": Buffer.byteLength(decision.body) });
        res.end(decision.body);
        return;
      }
      if (decision.kind === "stall") await new Promise((resolve) => setTimeout(resolve, decision.ms));
      if (gone) return;
      forwarded = http.request({
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
        agent,
      });
      forwarded.on("error", () => {
        if (gone) return; // destroyed above: not a failure of the lab
        counts.upstreamDown += 1;
        if (!res.headersSent) res.writeHead(502, { Connection: "close" });
        res.destroy();
      });
      forwarded.on("response", (up) => {
        if (decision.kind === "respond") {
          // The request went through; the client is told it failed.
          up.resume();
          up.on("end", () => {
            res.writeHead(decision.status, { ...decision.headers, "Content-Length": Buffer.byteLength(decision.body) });
            res.end(decision.body);
          });
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        // Pass the headers on now, as the stand-in sent them: a body that never comes (s3rver
        // answers a ranged GET of an empty object with Content-Length 1 and no byte) must not
        // hold the headers back too.
        res.flushHeaders();
        if (decision.kind === "reset") {
          // Pass the first chunk, then cut the connection mid-body.
          let sent = false;
          up.on("data", (chunk: Buffer) => {
            if (sent) return;
            sent = true;
            res.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)), () => {
              up.destroy();
              res.destroy();
            });
          });
          up.on("end", () => {
            if (!sent) res.destroy();
          });
          return;
        }
        up.pipe(res);
      });
      forwarded.end(body);
    } catch {
      res.destroy();
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A proxy in front of dynalite injecting throttling and 500s. */
export function startDynamoFaultProxy(
  target: string,
  rates: FaultRates,
  counts: FaultCounts,
  random: () => number,
): Promise<FaultProxy> {
  const burst = burstClock(rates, random, () => {
    counts.dynamoBursts += 1;
  });
  return startProxy(
    target,
    () => {
      counts.dynamoRequests += 1;
      const inBurst = burst();
      const r = inBurst ? 0 : random();
      if (inBurst || r < rates.dynamoThrottle) {
        counts.dynamoThrottles += 1;
        return { kind: "respond", status: 400, headers: DYNAMO_JSON, body: THROTTLE_BODY, afterForward: false };
      }
      if (r < rates.dynamoThrottle + rates.dynamo5xx) {
        const afterForward = random() < 0.5;
        if (afterForward) counts.dynamo5xxAfter += 1;
        else counts.dynamo5xxBefore += 1;
        return { kind: "respond", status: 500, headers: DYNAMO_JSON, body: INTERNAL_BODY, afterForward };
      }
      return { kind: "forward" };
    },
    counts,
  );
}

/** A proxy in front of s3rver injecting failures, stalls and cut connections into ranged GETs. */
export function startS3FaultProxy(
  target: string,
  rates: FaultRates,
  counts: FaultCounts,
  random: () => number,
): Promise<FaultProxy> {
  const xml = { "Content-Type": "application/xml" };
  const burst = burstClock(rates, random, () => {
    counts.s3Bursts += 1;
  });
  return startProxy(
    target,
    (req) => {
      if (req.method !== "GET" || !req.headers.range) return { kind: "forward" };
      counts.s3RangedGets += 1;
      const inBurst = burst();
      const r = inBurst ? 0 : random();
      let edge = rates.s3Errors;
      if (inBurst || r < edge) {
        counts.s3Errors += 1;
        return random() < 0.5
          ? {
              kind: "respond",
              status: 503,
              headers: xml,
              body: s3ErrorBody("SlowDown", "Please reduce your request rate."),
              afterForward: false,
            }
          : {
              kind: "respond",
              status: 500,
              headers: xml,
              body: s3ErrorBody("InternalError", "We encountered an internal error. Please try again."),
              afterForward: false,
            };
      }
      edge += rates.s3Stalls;
      if (r < edge) {
        counts.s3Stalls += 1;
        return { kind: "stall", ms: rates.stallMs };
      }
      edge += rates.s3LongStalls;
      if (r < edge) {
        counts.s3LongStalls += 1;
        return { kind: "stall", ms: rates.longStallMs };
      }
      edge += rates.s3Resets;
      if (r < edge) {
        counts.s3Resets += 1;
        return { kind: "reset" };
      }
      return { kind: "forward" };
    },
    counts,
  );
}
