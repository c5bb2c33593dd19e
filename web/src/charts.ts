/**
 * Small hand-written SVG charts: horizontal bars (categories), columns (histograms) and a
 * time series (points joined by a line). Each is an <svg role="img"> with a title and a
 * text description; every mark has a <title> tooltip and data-label/data-value attributes.
 * Colours come from styles.css (classes, CSS variables), so the charts follow the theme.
 */
import { s } from "./dom";
import { formatMs, formatTime } from "./format";
import { type Datum, niceScale, type TimePoint } from "./stats";

let ids = 0;
const nextId = (prefix: string) => `${prefix}-${++ids}`;

function frame(name: string, title: string, desc: string, width: number, height: number): SVGSVGElement {
  const titleId = nextId("chart-title");
  const descId = nextId("chart-desc");
  return s(
    "svg",
    {
      class: `chart chart-${name}`,
      "data-chart": name,
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-labelledby": `${titleId} ${descId}`,
      preserveAspectRatio: "xMidYMid meet",
    },
    s("title", { id: titleId }, title),
    s("desc", { id: descId }, desc),
  );
}

function describeData(data: readonly Datum[], unit: string): string {
  return data
    .filter((d) => d.value > 0)
    .map((d) => `${d.label}: ${d.value} ${unit}`)
    .join("; ");
}

const round = (n: number) => Math.round(n * 10) / 10;

/** One bar per category, longest first, labels on the left and counts at the bar ends. */
export function barChart(name: string, title: string, data: readonly Datum[], unit = "files"): SVGSVGElement {
  const width = 300;
  const row = 26;
  const labelW = 76;
  const valueW = 34;
  const height = Math.max(1, data.length) * row + 4;
  const svg = frame(name, title, describeData(data, unit) || "no data", width, height);
  const max = Math.max(1, ...data.map((d) => d.value));
  const span = width - labelW - valueW;
  data.forEach((d, i) => {
    const y = 2 + i * row;
    const w = Math.max(2, (d.value / max) * span);
    const label = d.label.length > 11 ? `${d.label.slice(0, 10)}…` : d.label;
    svg.append(
      s(
        "g",
        { class: "bar-row" },
        s(
          "text",
          { class: "label", x: labelW - 8, y: y + row / 2, "text-anchor": "end", "dominant-baseline": "central" },
          label,
        ),
        s(
          "rect",
          {
            class: `bar series-${i % 6}`,
            x: labelW,
            y: y + 4,
            width: round(w),
            height: row - 8,
            rx: 3,
            "data-label": d.label,
            "data-value": d.value,
          },
          s("title", {}, `${d.label}: ${d.value} ${unit}`),
        ),
        s(
          "text",
          { class: "value", x: round(labelW + w + 6), y: y + row / 2, "dominant-baseline": "central" },
          String(d.value),
        ),
      ),
    );
  });
  return svg;
}

/** Integer ticks from 0 to a nice top (about 4 steps of 1, 2 or 5 × 10^n). */
function countTicks(max: number): number[] {
  const { step, top } = niceScale(Math.max(1, max), 4);
  const whole = Math.max(1, Math.round(step));
  const ticks: number[] = [];
  for (let v = 0; v < Math.max(top, max) + whole; v += whole) ticks.push(v);
  return ticks;
}

/** A histogram: one column per bucket, in the given order, with a count axis. */
export function columnChart(name: string, title: string, data: readonly Datum[], unit = "files"): SVGSVGElement {
  const width = 300;
  const height = 180;
  const m = { top: 16, right: 6, bottom: 26, left: 26 };
  const svg = frame(name, title, describeData(data, unit) || "no data", width, height);
  const ticks = countTicks(Math.max(...data.map((d) => d.value), 1));
  const top = ticks[ticks.length - 1];
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const y = (v: number) => m.top + plotH - (v / top) * plotH;
  const grid = s("g", { class: "grid", "aria-hidden": "true" });
  for (const t of ticks) {
    grid.append(
      s("line", { x1: m.left, x2: width - m.right, y1: round(y(t)), y2: round(y(t)) }),
      s("text", { x: m.left - 6, y: round(y(t)), "text-anchor": "end", "dominant-baseline": "central" }, String(t)),
    );
  }
  svg.append(grid);
  const band = plotW / Math.max(1, data.length);
  data.forEach((d, i) => {
    const x = m.left + i * band + band * 0.18;
    const w = band * 0.64;
    const h = Math.max(d.value > 0 ? 2 : 0, (d.value / top) * plotH);
    const g = s("g", { class: "column" });
    g.append(
      s(
        "rect",
        {
          class: "bar",
          x: round(x),
          y: round(m.top + plotH - h),
          width: round(w),
          height: round(h),
          rx: 3,
          "data-label": d.label,
          "data-value": d.value,
        },
        s("title", {}, `${d.label}: ${d.value} ${unit}`),
      ),
      s("text", { class: "label", x: round(x + w / 2), y: height - m.bottom + 15, "text-anchor": "middle" }, d.label),
    );
    if (d.value > 0) {
      g.append(
        s(
          "text",
          { class: "value", x: round(x + w / 2), y: round(m.top + plotH - h - 5), "text-anchor": "middle" },
          String(d.value),
        ),
      );
    }
    svg.append(g);
  });
  svg.append(s("line", { class: "axis", x1: m.left, x2: width - m.right, y1: m.top + plotH, y2: m.top + plotH }));
  return svg;
}

/** Values over time: points (with tooltips naming the file) joined by a line, time on the x axis. */
export function timeChart(name: string, title: string, points: readonly TimePoint[]): SVGSVGElement {
  const width = 300;
  const height = 180;
  const m = { top: 16, right: 10, bottom: 26, left: 48 };
  const desc = points.length
    ? `${points.length} files; probe time from ${formatMs(Math.min(...points.map((p) => p.value)))} to ${formatMs(Math.max(...points.map((p) => p.value)))}`
    : "no data";
  const svg = frame(name, title, desc, width, height);
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  let t0 = Math.min(...points.map((p) => p.t));
  let t1 = Math.max(...points.map((p) => p.t));
  if (!(t1 > t0)) {
    t0 -= 30_000;
    t1 += 30_000;
  }
  const { step, top: maxV } = niceScale(Math.max(1, ...points.map((p) => p.value)));
  const x = (t: number) => m.left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (v: number) => m.top + plotH - (v / maxV) * plotH;
  const grid = s("g", { class: "grid", "aria-hidden": "true" });
  for (let v = 0; v <= maxV + step / 2; v += step) {
    grid.append(
      s("line", { x1: m.left, x2: width - m.right, y1: round(y(v)), y2: round(y(v)) }),
      s("text", { x: m.left - 6, y: round(y(v)), "text-anchor": "end", "dominant-baseline": "central" }, formatMs(v)),
    );
  }
  svg.append(grid);
  const axis = s("g", { class: "x-axis", "aria-hidden": "true" });
  axis.append(s("line", { class: "axis", x1: m.left, x2: width - m.right, y1: m.top + plotH, y2: m.top + plotH }));
  const [first, last] = [formatTime(t0), formatTime(t1)];
  if (first === last) {
    axis.append(s("text", { x: m.left + plotW / 2, y: height - 6, "text-anchor": "middle" }, first));
  } else {
    axis.append(s("text", { x: m.left, y: height - 6, "text-anchor": "start" }, first));
    axis.append(s("text", { x: width - m.right, y: height - 6, "text-anchor": "end" }, last));
  }
  svg.append(axis);
  if (points.length > 1) {
    svg.append(
      s("polyline", {
        class: "line",
        points: points.map((p) => `${round(x(p.t))},${round(y(p.value))}`).join(" "),
      }),
    );
  }
  for (const p of points) {
    svg.append(
      s(
        "circle",
        {
          class: "point",
          cx: round(x(p.t)),
          cy: round(y(p.value)),
          r: 3.5,
          "data-label": p.key,
          "data-value": p.value,
        },
        s("title", {}, `${p.key}: ${formatMs(p.value)} at ${formatTime(p.t)}`),
      ),
    );
  }
  return svg;
}
