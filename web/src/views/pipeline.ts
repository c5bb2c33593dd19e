/**
 * The pipeline's state on the page: GET /health says whether uploads are being processed.
 * While the pipeline is paused (the kill switch, or `npm run lab -- pause`) a banner says so
 * and explains that uploads are kept and queued, to be processed on resume. Health is polled
 * with backoff (HEALTH_INTERVAL_MS, doubling on errors up to HEALTH_MAX_MS) and not at all
 * after a 404 (an API without the route, or one taken down by the kill switch).
 */
import { type ApiClient, ApiError, type Health } from "../api";
import { h, replaceChildren } from "../dom";
import { formatDateTime, formatNumber } from "../format";
import type { PipelineWatch } from "./common";

export const HEALTH_INTERVAL_MS = 10_000;
export const HEALTH_MAX_MS = 5 * 60_000;

export function createPipelineBanner() {
  const element = h("section", {
    class: "banner banner-paused",
    id: "pipeline-banner",
    role: "status",
    "aria-live": "polite",
    hidden: "",
  });
  function show(pipeline: Health["pipeline"]): void {
    if (!pipeline || pipeline.state === "running") {
      element.hidden = true;
      replaceChildren(element);
      return;
    }
    const since = pipeline.pausedAt ? ` since ${formatDateTime(pipeline.pausedAt)}` : "";
    const pending =
      pipeline.pending !== undefined && pipeline.pending > 0
        ? ` ${formatNumber(pipeline.pending)} upload${pipeline.pending === 1 ? " is" : "s are"} waiting.`
        : "";
    replaceChildren(
      element,
      h(
        "strong",
        {},
        pipeline.state === "paused" ? `Processing is paused${since}.` : `Processing is partly paused${since}.`,
      ),
      h(
        "span",
        {},
        ` Uploads are kept and queued; they are described when processing resumes, so new files stay “Processing…” until then.${pending}`,
      ),
    );
    element.hidden = false;
  }
  return { element, show };
}

/** Polls GET /health, drives the banner, and tells the upload view when the pipeline runs. */
export function watchPipeline(api: ApiClient, banner: { show(p: Health["pipeline"]): void }): PipelineWatch {
  let state: Health["pipeline"];
  const waiters: (() => void)[] = [];
  let delay = HEALTH_INTERVAL_MS;
  const poll = async () => {
    try {
      state = (await api.health()).pipeline;
      banner.show(state);
      delay = HEALTH_INTERVAL_MS;
      if (!state || state.state === "running") {
        for (const w of waiters.splice(0)) w();
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        // No health route here: stop asking; never hold uploads on a state we cannot know.
        state = undefined;
        for (const w of waiters.splice(0)) w();
        return;
      }
      delay = Math.min(delay * 2, HEALTH_MAX_MS);
    }
    setTimeout(() => void poll(), delay);
  };
  void poll();
  return {
    paused: () => !!state && state.state !== "running",
    running: () =>
      !state || state.state === "running"
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            waiters.push(resolve);
          }),
  };
}
