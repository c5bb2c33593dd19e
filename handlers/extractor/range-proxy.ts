/**
 * A loopback HTTP endpoint that serves one object to ffprobe without downloading it.
 *
 * The static ffprobe cannot resolve host names or speak TLS, so it reads
 * http://127.0.0.1:<port>/<random path> instead, and every byte range it asks for is fetched
 * with a bounded ranged read (from S3 in the Lambda, from a file in the probe CLI).
 *
 * Each response carries at most one window: an open-ended `Range: bytes=N-` is answered
 * with a 206 whose Content-Range ends early, and ffprobe (run with `-reconnect 1`) asks
 * again from where it stopped. A request that continues exactly where the previous one
 * ended gets a window twice as large (16 KiB doubling up to 256 KiB), so a long sequential
 * read takes few requests, while a seek wastes at most the window in flight. Bytes this
 * probe already fetched are kept (read-cache.ts) and served again from memory when ffprobe
 * seeks back to them. Streaming
 * the rest of the object instead would let loopback socket buffers (megabytes with TCP
 * autotuning) swallow data ffprobe never reads before it seeks away.
 *
 * The S3 source (s3-source.ts) pins every read to the object's ETag and version, so a
 * replaced object fails the probe with ObjectChangedError instead of mixing two objects.
 *
 * The proxy lives for one probe and serves one object: only at its own unguessable path,
 * GET or HEAD, within a budget of requests that grows with the object's size. Anything else
 * gets 404 (another path) or 429 (over budget), and is counted, so that an input that makes
 * ffprobe ask for other resources, or read the object over and over, ends at once and is
 * told apart from one that is merely large.
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { ReadCache } from "./read-cache";

/** Where the bytes come from: an S3 object (s3-source.ts) or a local file (the probe CLI). */
export interface ByteSource {
  /** Total size in bytes. */
  size: number;
  /** Bytes [start, end] (inclusive). Rejects with ObjectChangedError when the object is not the one expected. */
  read(start: number, end: number, signal: AbortSignal): Promise<{ body: Readable; contentType?: string }>;
}

export interface RangeProxyOptions {
  source: ByteSource;
  /** First window of a request, bytes. */
  initialWindow?: number;
  /** Largest window, bytes. */
  maxWindow?: number;
  /** Bytes fetched that are kept to serve ffprobe's seeks back (default DEFAULT_CACHE_BYTES). */
  cacheBytes?: number;
  /**
   * Called once, at the first S3 failure (the object changed, or S3 failed): the probe's result
   * is decided then. ffprobe itself would keep reconnecting with growing pauses (1 s, 3 s,
   * 7 s...) until its deadline, so the caller stops it (probe-in-place.ts).
   */
  onUpstreamError?: (err: unknown) => void;
  /** Called once, at the first request refused (another path, or over budget): the probe's result is decided then. */
  onRefused?: () => void;
}

/** The object is gone or was replaced since the event: a newer event describes it. */
export class ObjectChangedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ObjectChangedError";
  }
}

export interface RangeProxyStats {
  /** Bytes received from S3. */
  bytesRead: number;
  /** Bytes served again from what this probe already fetched (ReadCache), without S3. */
  bytesFromCache: number;
  /** GetObject requests made. */
  s3Requests: number;
  /** HTTP requests ffprobe made. */
  clientRequests: number;
  /** Requests for any path but the object's own (answered 404). */
  otherPaths: number;
  /** Requests past the budget (answered 429): the input made ffprobe re-read the object without end. */
  overBudget: number;
  /** Each client request: first byte asked and bytes actually served. */
  ranges: { start: number; served: number }[];
  contentType?: string;
  /** The first S3 error seen, if any (transient or not: the caller classifies it). */
  upstreamError?: unknown;
  /**
   * The longest S3 took to answer one read (until its response arrived), ms. A read still
   * unanswered counts until RangeProxy.slowestReadMs() is asked (the caller does when ffprobe exits).
   */
  slowestReadMs: number;
}

/**
 * A seek's first window: about what ffprobe reads where it lands (a box header, a moof of a
 * few KB, a cluster or packet header), so a fragmented MP4's ~115 seeks cost ~16 KiB each
 * instead of 64 KiB (docs/cold-start.md, "Bytes per probe").
 */
export const DEFAULT_INITIAL_WINDOW = 16 * 1024;
/**
 * The largest window: a sequential read ends inside its last window, and the rest of it is
 * read for nothing (up to 2 MiB before). 256 KiB bounds that waste; a long sequential read
 * (MPEG-TS, a few MB) takes a few more GETs.
 */
export const DEFAULT_MAX_WINDOW = 256 * 1024;
/** A probe reads a few hundred KB to a few MB; 8 MiB holds all of it for the layouts the bench measures. */
export const DEFAULT_CACHE_BYTES = 8 * 1024 * 1024;

/**
 * Requests one probe may make: a floor for small objects, plus one per 256 KiB of object. A
 * 1 GB fragmented MP4 (about 115 fragments, each a seek) needs a few hundred; a reference
 * loop thousands within seconds.
 */
export function requestBudget(size: number): number {
  return 256 + Math.ceil(size / (256 * 1024));
}

export interface RangeProxy {
  /** URL for ffprobe (loopback, an unguessable path, no file extension: the format is found by probing). */
  url: string;
  stats: RangeProxyStats;
  /** stats.slowestReadMs, counting the reads still waiting for S3 until now. */
  slowestReadMs(): number;
  /**
   * Bytes [start, end] (inclusive) for the extractor itself (excerpt-probe.ts reads the movie
   * header): from what this probe already fetched, the rest fetched, counted and kept, so that
   * ffprobe reading the same bytes afterwards costs no second S3 read. `signal` ends a read S3
   * does not answer (the probe's deadline): no ffprobe timer covers these reads.
   */
  readBytes(start: number, end: number, signal?: AbortSignal): Promise<Buffer>;
  /**
   * Fetches the first window before ffprobe runs, and answers ffprobe's first request
   * (`bytes=0-`) with exactly that window: S3 is asked for the same bytes as when ffprobe's
   * request fetches it, but an object replaced since its event (a superseded event: common when
   * a backlog meets overwrites) fails here, before an ffprobe is started for nothing.
   */
  prefetchFirstWindow(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Parses a single-range "bytes=a-b" / "bytes=a-" / "bytes=-n" header against `size`. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | "invalid" | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return "invalid";
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "invalid";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return "invalid";
  return { start, end };
}

export async function startRangeProxy(options: RangeProxyOptions): Promise<RangeProxy> {
  const initialWindow = options.initialWindow ?? DEFAULT_INITIAL_WINDOW;
  const maxWindow = options.maxWindow ?? DEFAULT_MAX_WINDOW;
  const stats: RangeProxyStats = {
    bytesRead: 0,
    bytesFromCache: 0,
    s3Requests: 0,
    clientRequests: 0,
    otherPaths: 0,
    overBudget: 0,
    ranges: [],
    slowestReadMs: 0,
  };
  const cache = new ReadCache(options.cacheBytes ?? DEFAULT_CACHE_BYTES);
  const objectPath = `/${randomBytes(16).toString("hex")}`;
  const budget = requestBudget(options.source.size);
  let refusedOnce = false;
  const refused = () => {
    if (refusedOnce) return;
    refusedOnce = true;
    options.onRefused?.();
  };
  /** Start times of the reads S3 has not answered yet, by read. */
  const waiting = new Map<number, number>();
  let reads = 0;

  async function fetchWindow(start: number, end: number, signal: AbortSignal): Promise<Readable> {
    stats.s3Requests += 1;
    const asked = performance.now();
    const read = ++reads;
    waiting.set(read, asked);
    try {
      const { body, contentType } = await options.source.read(start, end, signal);
      stats.contentType ??= contentType;
      return body;
    } catch (err) {
      // An abort means the reader went away, not a failure.
      if (!signal.aborted && stats.upstreamError === undefined) {
        stats.upstreamError = err;
        options.onUpstreamError?.(err);
      }
      throw err;
    } finally {
      // Aborted reads count too: ffprobe giving up on a read that S3 never answered is the stall itself.
      waiting.delete(read);
      stats.slowestReadMs = Math.max(stats.slowestReadMs, Math.round(performance.now() - asked));
    }
  }

  /**
   * A body's chunks, each wait for the next one timed as a read S3 has not answered: S3 can
   * send its headers and then stall in the body, and that stall is S3's as much as a late
   * answer. Only the wait for S3 is timed, not the reader's (ffprobe taking its time).
   */
  async function* s3Chunks(body: Readable): AsyncGenerator<Buffer> {
    const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const asked = performance.now();
        const read = ++reads;
        waiting.set(read, asked);
        let next: IteratorResult<Buffer>;
        try {
          next = await chunks.next();
        } finally {
          waiting.delete(read);
          stats.slowestReadMs = Math.max(stats.slowestReadMs, Math.round(performance.now() - asked));
        }
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await chunks.return?.();
    }
  }

  /** Copies [start, end] from the source to `res` with backpressure; stops when the reader goes away. */
  async function serve(
    start: number,
    end: number,
    res: http.ServerResponse,
    record: { served: number },
  ): Promise<void> {
    const abort = new AbortController();
    // Only a reader that left early stops the copy: aborting after res.end() would build an
    // AbortError (with its stack) for every response, about 1% of the extractor's CPU.
    res.once("close", () => {
      if (!res.writableEnded) abort.abort();
    });
    const send = async (chunk: Buffer) => {
      record.served += chunk.length;
      if (!res.write(chunk)) await once(res, "drain", { signal: abort.signal }).catch(() => undefined);
    };
    // What this probe already fetched is served from memory (a seek back costs no S3 read).
    let pos = start;
    for (const chunk of cache.take(start, end)) {
      if (abort.signal.aborted) break;
      stats.bytesFromCache += chunk.length;
      pos += chunk.length;
      await send(chunk);
    }
    if (pos <= end && !abort.signal.aborted) {
      const body = await fetchWindow(pos, end, abort.signal);
      for await (const chunk of s3Chunks(body)) {
        stats.bytesRead += chunk.length;
        cache.add(pos, chunk);
        pos += chunk.length;
        if (abort.signal.aborted) break;
        await send(chunk);
      }
    }
    res.end();
  }

  // Where the previous response ended and how large its window was: a request that
  // continues exactly there is sequential reading, and gets a window twice as large.
  let sequentialOffset = -1;
  let lastWindow = 0;
  // Bytes [0, prefetched) fetched ahead of ffprobe's first request (prefetchFirstWindow).
  let prefetched = 0;

  const server = http.createServer((req, res) => {
    stats.clientRequests += 1;
    if (req.url !== objectPath) {
      stats.otherPaths += 1;
      refused();
      res.writeHead(404).end();
      return;
    }
    if (stats.clientRequests - stats.otherPaths > budget) {
      stats.overBudget += 1;
      refused();
      res.writeHead(429).end();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
      return;
    }
    const size = options.source.size;
    const range = parseRange(req.headers.range, size);
    if (range === "invalid") {
      res.writeHead(416, { "Content-Range": `bytes */${size}` }).end();
      return;
    }
    let { start, end } = range ?? { start: 0, end: size - 1 };
    if (range && start === 0 && prefetched > 0 && sequentialOffset < 0) {
      // ffprobe's first request: the window fetched ahead of it, as its request would have fetched it.
      end = Math.min(end, prefetched - 1);
      lastWindow = initialWindow;
      sequentialOffset = end + 1;
    } else if (range) {
      // The window starts where the bytes already fetched end: those are served from memory.
      const window = start === sequentialOffset ? Math.min(lastWindow * 2, maxWindow) : initialWindow;
      // It stops where held bytes resume, so nothing is fetched twice: ffprobe continues from there.
      const from = cache.coveredUntil(start);
      end = Math.min(end, from + window - 1, (cache.nextHeldAfter(from) ?? Number.POSITIVE_INFINITY) - 1);
      lastWindow = window;
      sequentialOffset = end + 1;
    }
    const headers: http.OutgoingHttpHeaders = {
      "Accept-Ranges": "bytes",
      "Content-Length": String(end - start + 1),
      "Content-Type": "application/octet-stream",
    };
    if (range) headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const record = { start, served: 0 };
    stats.ranges.push(record);
    serve(start, end, res, record).catch(() => {
      // The error is kept in stats.upstreamError; cutting the connection makes ffprobe fail fast.
      res.destroy();
    });
  });
  server.keepAliveTimeout = 1000;

  async function readBytes(start: number, end: number, signal?: AbortSignal): Promise<Buffer> {
    const parts: Buffer[] = [];
    let pos = start;
    const last = Math.min(end, options.source.size - 1);
    while (pos <= last) {
      for (const chunk of cache.take(pos, last)) {
        stats.bytesFromCache += chunk.length;
        parts.push(chunk);
        pos += chunk.length;
      }
      if (pos > last) break;
      const until = Math.min(last, (cache.nextHeldAfter(pos) ?? Number.POSITIVE_INFINITY) - 1);
      const body = await fetchWindow(pos, until, signal ?? new AbortController().signal);
      // A body that stalls after its first bytes is ended by the same signal.
      const destroy = () => body.destroy(new Error("the read was abandoned at the probe's deadline"));
      if (signal?.aborted) destroy();
      else signal?.addEventListener("abort", destroy, { once: true });
      const from = pos;
      try {
        for await (const chunk of s3Chunks(body)) {
          stats.bytesRead += chunk.length;
          cache.add(pos, chunk);
          parts.push(chunk);
          pos += chunk.length;
        }
      } finally {
        signal?.removeEventListener("abort", destroy);
      }
      if (pos === from) throw new Error(`the source returned no bytes at ${from}`);
    }
    return Buffer.concat(parts);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${objectPath}`,
    stats,
    slowestReadMs: () => {
      const now = performance.now();
      let slowest = stats.slowestReadMs;
      for (const asked of waiting.values()) slowest = Math.max(slowest, Math.round(now - asked));
      return slowest;
    },
    readBytes,
    async prefetchFirstWindow(signal) {
      const size = options.source.size;
      if (size === 0 || cache.coveredUntil(0) > 0 || stats.clientRequests > 0) return;
      await readBytes(0, Math.min(size, initialWindow) - 1, signal);
      prefetched = Math.min(size, initialWindow);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
