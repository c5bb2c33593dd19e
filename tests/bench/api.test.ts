/**
 * The API bench's measurement (bench/api.ts): the fixed-rate (open model) load that issue 13's
 * p50 acceptance is checked on, the rate it picks, and which figures the checks compare.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import {
  type ApiFigures,
  type ApiLoadFigures,
  apiSection,
  pacedFigures,
  pacedRate,
  pacedSegment,
  sustained,
} from "../../bench/api";

function figures(request: string, p50Ms: number, extra: Partial<ApiLoadFigures> = {}): ApiLoadFigures {
  return {
    request,
    connections: 16,
    durationSec: 10,
    requests: 100,
    rps: 10,
    p50Ms,
    p90Ms: p50Ms * 2,
    p99Ms: p50Ms * 3,
    maxMs: p50Ms * 4,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    ...extra,
  };
}

/** A result whose saturated runs show the sharded list 1.7x slower at p50, and the given paced figures. */
function result(paced: { base: number; now: number; answered?: number }): ApiFigures {
  const rate = { connections: 0, offeredRps: 8, rps: paced.answered ?? 8 };
  return {
    documents: 10_000,
    listShards: 4,
    seedMs: 1,
    unsharded: [
      figures("GET /files?limit=25 (1 partition)", 300),
      figures("GET /files?kind=audio&limit=25 (1 partition)", 400),
    ],
    runs: [
      figures("GET /files?limit=25", 510),
      figures("GET /files?kind=audio&limit=25", 680),
      figures("GET /files/{key} (random key)", 100),
    ],
    paced: {
      unsharded: [
        figures("GET /files?limit=25 (1 partition)", paced.base, rate),
        figures("GET /files?kind=audio&limit=25 (1 partition)", paced.base, rate),
      ],
      sharded: [
        figures("GET /files?limit=25", paced.now, rate),
        figures("GET /files?kind=audio&limit=25", paced.now, rate),
      ],
    },
  };
}

/** The section's checks of a result (the API section always has checks). */
const checksOf = (r: ApiFigures) => apiSection().checks?.(r) ?? [];
const p50Checks = (r: ApiFigures) => checksOf(r).filter((c) => c.name.includes("p50"));

describe("API bench (bench/api.ts)", () => {
  describe("pacedSegment: requests on a schedule (open model)", () => {
    let server: http.Server;
    let url: string;
    let inFlight = 0;
    let mostInFlight = 0;
    before(async () => {
      server = http.createServer((req, res) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          res.writeHead(req.url === "/missing" ? 404 : 200, { "content-type": "application/json" });
          res.end("{}");
        }, 250);
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("sends rate x duration requests without waiting for answers, timing each from its scheduled start", async () => {
      mostInFlight = 0;
      const run = await pacedSegment({ url, path: "/files?limit=25", rate: 20, durationSec: 1 });
      expect(run.sent).to.equal(20);
      expect(run.times).to.have.length(20);
      expect(run.non2xx + run.errors).to.equal(0);
      // Each answer takes 250 ms; a closed loop on one connection would have one request in flight.
      expect(mostInFlight).to.be.at.least(3);
      expect(Math.min(...run.times)).to.be.at.least(245);
    });

    it("counts non-2xx answers", async () => {
      const run = await pacedSegment({ url, path: "/missing", rate: 10, durationSec: 0.5 });
      expect(run.sent).to.equal(5);
      expect(run.non2xx).to.equal(5);
    });
  });

  it("paces at a quarter of the lower saturated throughput of the two layouts, at least 1 request/s", () => {
    expect(pacedRate([119, 70])).to.equal(17.5);
    expect(pacedRate([30, 80])).to.equal(7.5);
    expect(pacedRate([1, 1])).to.equal(1);
  });

  it("merges paced segments: answered rate, percentiles, the offered rate", () => {
    const f = pacedFigures("GET /files?limit=25", 4, [
      { times: [10, 30], sent: 2, non2xx: 0, errors: 0, seconds: 0.5 },
      { times: [20, 40], sent: 2, non2xx: 1, errors: 0, seconds: 0.5 },
    ]);
    expect(f).to.include({ offeredRps: 4, requests: 4, rps: 4, p50Ms: 20, p99Ms: 40, maxMs: 40, non2xx: 1 });
    expect(sustained(f)).to.equal(true);
    expect(sustained({ ...f, rps: 3.5 })).to.equal(false);
  });

  it("checks the p50 acceptance on the fixed-rate figures, not the saturated ones", () => {
    // Saturated 1.7x (throughput), paced 1.05x: the page's latency is no worse.
    expect(p50Checks(result({ base: 100, now: 105 })).map((c) => c.pass)).to.deep.equal([true, true]);
    // Paced 1.2x: worse, whatever the tolerance for noise.
    expect(p50Checks(result({ base: 100, now: 120 })).map((c) => c.pass)).to.deep.equal([false, false]);
  });

  it("fails the p50 check when a layout did not keep up with the fixed rate (its latency is a queue's)", () => {
    const checks = checksOf(result({ base: 100, now: 100, answered: 5 }));
    expect(checks.filter((c) => c.name.includes("p50")).map((c) => c.pass)).to.deep.equal([false, false]);
    expect(checks.filter((c) => c.name.includes("kept up")).every((c) => !c.pass)).to.equal(true);
  });

  it("renders both tables and says which one the acceptance compares", () => {
    const text = apiSection().render(result({ base: 100, now: 105 }));
    expect(text).to.match(/fixed rate both layouts carry/);
    expect(text).to.match(/what issue 13's acceptance compares at p50/);
    expect(text).to.match(/8 req\/s/);
    expect(text).to.match(/16 conns/);
  });
});
