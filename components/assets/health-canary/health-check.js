/**
 * CloudWatch Synthetics canary for the read API (runtime syn-nodejs-puppeteer, see
 * components/health-canary.ts): one HTTP step, GET $HEALTH_URL, which passes when the API
 * answers 2xx with the JSON body {"status":"ok", ...} that handlers/api returns for
 * GET /health. A failed step fails the run, which lowers the canary's SuccessPercent.
 *
 * Packaged as nodejs/node_modules/healthCheck.js (handler "healthCheck.handler", named like
 * AWS's blueprints). The URL comes from the canary's run configuration (environment variable
 * HEALTH_URL), so this file, and the zip made of it, is the same for every stack.
 */

/** syn-nodejs-puppeteer-13.1 and later publish the library as @aws/synthetics-puppeteer; older runtimes as "Synthetics". */
function loadSynthetics() {
  try {
    return require("@aws/synthetics-puppeteer");
  } catch (err) {
    if (err?.code !== "MODULE_NOT_FOUND") throw err;
    return require("Synthetics");
  }
}

/** Request options for executeHttpStep (Node's http.request options plus `body`). */
function requestOptions(url, userAgent) {
  const target = new URL(url);
  const https = target.protocol === "https:";
  return {
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port ? Number(target.port) : https ? 443 : 80,
    method: "GET",
    path: `${target.pathname}${target.search}`,
    headers: { Accept: "application/json", "User-Agent": userAgent },
    body: "",
  };
}

/** Resolves when the response is 2xx with {"status":"ok"}; rejects (fails the step) otherwise. */
function validateHealth(res) {
  return new Promise((resolve, reject) => {
    if (res.statusCode < 200 || res.statusCode > 299) {
      res.resume();
      reject(new Error(`GET /health answered ${res.statusCode} ${res.statusMessage || ""}`.trim()));
      return;
    }
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (chunk) => {
      body += chunk;
    });
    res.on("error", reject);
    res.on("end", () => {
      let parsed;
      try {
        parsed = JSON.parse(body);
      } catch {
        reject(new Error(`GET /health answered ${res.statusCode} with a body that is not JSON: ${body.slice(0, 200)}`));
        return;
      }
      if (parsed?.status !== "ok") {
        reject(new Error(`GET /health answered status ${JSON.stringify(parsed?.status)}, not "ok"`));
        return;
      }
      resolve();
    });
  });
}

exports.handler = async () => {
  const url = process.env.HEALTH_URL;
  if (!url) throw new Error("HEALTH_URL is not set in the canary's run configuration");
  const synthetics = loadSynthetics();
  // Keep headers and the (small, public) body in the run report; never an Authorization header.
  synthetics.getConfiguration().setConfig({
    includeRequestHeaders: true,
    includeResponseHeaders: true,
    includeRequestBody: false,
    includeResponseBody: true,
    restrictedHeaders: ["authorization"],
  });
  const userAgent = `${synthetics.getCanaryUserAgentString()} media-pipeline-health-canary`;
  return synthetics.executeHttpStep("GET /health", requestOptions(url, userAgent), validateHealth, {
    continueOnHttpStepFailure: false,
  });
};

// For the unit tests (tests/components/health-canary.test.ts); the runtime only calls handler.
exports.requestOptions = requestOptions;
exports.validateHealth = validateHealth;
