/**
 * Summary numbers and the four charts, over the whole table: GET /stats (running totals the
 * stats aggregator keeps as documents change), not the rows loaded in the files table. The
 * file list's filters and search do not change them.
 */
import type { TableStats } from "../../../lib/stats";
import { barChart, columnChart } from "../charts";
import { h, replaceChildren } from "../dom";
import { formatBytes, formatMs, formatNumber, formatTotalDuration } from "../format";

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

  function update(stats: TableStats | undefined): void {
    if (!stats) {
      replaceChildren(tiles, tile("Files", "…"), tile("Processed", "…"), tile("Unprocessable", "…"));
      note.textContent = "";
      replaceChildren(charts);
      return;
    }
    const failed = stats.byStatus.unprocessable;
    replaceChildren(
      tiles,
      tile("Files", formatNumber(stats.files)),
      tile("Processed", formatNumber(stats.byStatus.ok), "tile-ok"),
      tile("Unprocessable", formatNumber(failed), failed > 0 ? "tile-failed" : ""),
      tile("Total size", formatBytes(stats.totalBytes)),
      tile("Total duration", stats.totalDurationSec > 0 ? formatTotalDuration(stats.totalDurationSec) : "—"),
    );
    for (const el of tiles.children) el.setAttribute("data-scope", "table");
    note.textContent = stats.files
      ? `All ${formatNumber(stats.files)} file${stats.files === 1 ? "" : "s"} in the table`
      : "";

    const top = 6;
    const codecs =
      stats.codecs.length <= top + 1
        ? stats.codecs
        : [
            ...stats.codecs.slice(0, top),
            { label: "other", value: stats.codecs.slice(top).reduce((n, d) => n + d.value, 0) },
          ];
    const any = (d: { value: number }[]) => d.some((x) => x.value > 0);
    const p = stats.processingMs;
    // A histogram of probe times: the same shape however bursty the arrivals (a time line zigzags).
    const bound = (label: string) => {
      if (label === "inf") return "more";
      const ms = Number(label);
      return ms < 1000 ? `≤${ms} ms` : `≤${ms / 1000} s`;
    };
    // Only the buckets from the first to the last one used, so the labels stay readable.
    const used = p.histogram.map((d) => d.value > 0);
    const histogram = p.histogram
      .slice(used.indexOf(true), used.lastIndexOf(true) + 1)
      .map((d) => ({ label: bound(d.label), value: d.value }));
    const percentiles =
      p.count > 0 ? `median ≤${formatMs(p.p50Ms)}, 90% ≤${formatMs(p.p90Ms)}, 99% ≤${formatMs(p.p99Ms)}` : "";
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
        any(stats.resolutions)
          ? columnChart("resolutions", "Video resolution distribution", stats.resolutions, "videos")
          : null,
        "No video yet.",
      ),
      figure(
        "chart-durations",
        "Duration",
        "audio and video files",
        any(stats.durations) ? columnChart("durations", "Duration distribution", stats.durations) : null,
        "No audio or video yet.",
      ),
      figure(
        "chart-processing",
        "Processing time",
        percentiles ? `ffprobe time per file: ${percentiles}` : "ffprobe time per file",
        p.count > 0 ? columnChart("processing", "Probe time distribution", histogram, "files") : null,
        "Nothing processed yet.",
      ),
    );
  }

  return { element, tiles, update };
}
