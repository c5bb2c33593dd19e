/** Summary numbers and the four charts, over the documents loaded in the table. */
import type { MetadataDocument } from "../../../lib/schema";
import { barChart, columnChart, timeChart } from "../charts";
import { h, replaceChildren } from "../dom";
import { formatBytes, formatDuration } from "../format";
import { codecMix, durationDistribution, processingTimeline, resolutionDistribution } from "../stats";

function figure(id: string, caption: string, note: string, chart: Element | null, empty: string): HTMLElement {
  return h(
    "figure",
    { class: "chart-card", id },
    h("figcaption", {}, h("span", { class: "chart-title" }, caption), h("span", { class: "muted small" }, note)),
    chart ?? h("p", { class: "chart-empty muted" }, empty),
  );
}

export function createOverview() {
  const tiles = h("section", { class: "tiles", id: "summary", "aria-label": "Summary" });
  const charts = h("div", { class: "charts" });
  const note = h("p", { class: "muted small" });
  const element = h(
    "section",
    { class: "panel", id: "overview", "aria-labelledby": "overview-heading" },
    h("div", { class: "panel-head" }, h("h2", { id: "overview-heading" }, "Overview"), note),
    charts,
  );

  function tile(label: string, value: string, tone = ""): HTMLElement {
    return h(
      "div",
      { class: `tile ${tone}` },
      h("p", { class: "tile-value" }, value),
      h("p", { class: "tile-label" }, label),
    );
  }

  function update(docs: readonly MetadataDocument[]): void {
    const okDocs = docs.filter((d) => d.status === "ok");
    const failed = docs.length - okDocs.length;
    const totalDuration = okDocs.reduce((n, d) => n + (d.container?.durationSec ?? 0), 0);
    replaceChildren(
      tiles,
      tile("Files", String(docs.length)),
      tile("Processed", String(okDocs.length), "tile-ok"),
      tile("Unprocessable", String(failed), failed > 0 ? "tile-failed" : ""),
      tile("Total size", formatBytes(docs.reduce((n, d) => n + d.size, 0))),
      tile("Total duration", totalDuration > 0 ? formatDuration(totalDuration) : "—"),
    );
    note.textContent = docs.length ? `Over the ${docs.length} loaded file${docs.length === 1 ? "" : "s"}` : "";

    const codecs = codecMix(docs);
    const resolutions = resolutionDistribution(docs);
    const durations = durationDistribution(docs);
    const timeline = processingTimeline(docs);
    const any = (d: { value: number }[]) => d.some((x) => x.value > 0);
    replaceChildren(
      charts,
      figure(
        "chart-codecs",
        "Codec mix",
        "files using each codec",
        codecs.length ? barChart("codecs", "Codec mix: files using each codec", codecs) : null,
        "No processed media yet.",
      ),
      figure(
        "chart-resolutions",
        "Resolution",
        "video files by height",
        any(resolutions) ? columnChart("resolutions", "Video resolution distribution", resolutions, "videos") : null,
        "No video yet.",
      ),
      figure(
        "chart-durations",
        "Duration",
        "audio and video files",
        any(durations) ? columnChart("durations", "Duration distribution", durations) : null,
        "No audio or video yet.",
      ),
      figure(
        "chart-processing",
        "Processing time",
        "ffprobe time per file, by when it was processed",
        timeline.length ? timeChart("processing", "Probe time over time", timeline) : null,
        "Nothing processed yet.",
      ),
    );
  }

  return { element, tiles, update };
}
