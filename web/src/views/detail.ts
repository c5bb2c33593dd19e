/**
 * One file in a modal <dialog>: facts, streams, tags and the link to the full ffprobe JSON.
 * Opened by the hash route #/files/<key>; Escape, the close button or a click on the
 * backdrop closes it and gives focus back to where it was.
 */
import type { MetadataDocument, StreamSummary } from "../../../lib/schema";
import type { FileDetail } from "../api";
import { byId, h, replaceChildren } from "../dom";
import {
  baseName,
  formatBitRate,
  formatBytes,
  formatChannels,
  formatDateTime,
  formatDuration,
  formatFrameRate,
  formatMs,
  formatNumber,
  formatSampleRate,
} from "../format";
import { type AppContext, kindBadge, statusBadge } from "./common";

export interface DetailView {
  open(key: string): Promise<void>;
  close(): void;
  /** Called after the dialog closed (to clear the route). */
  onClose: () => void;
}

/** A term and its value, grouped in a <div> (allowed in <dl>) so they stay together in the grid. */
function fact(term: string, value: string | Node | undefined): HTMLElement[] {
  if (value === undefined || value === "" || value === "—") return [];
  return [h("div", { class: "fact" }, h("dt", {}, term), h("dd", {}, value))];
}

/** " (3% of the file)" when the probe read part of the object. */
function readShare(doc: MetadataDocument): string {
  if (!doc.size || doc.bytesRead >= doc.size) return "";
  const pct = (doc.bytesRead / doc.size) * 100;
  return ` (${pct < 1 ? pct.toFixed(2) : pct.toFixed(0)}% of the file)`;
}

function streamDetails(s: StreamSummary): string {
  const parts: string[] = [];
  if (s.width && s.height) parts.push(`${s.width}×${s.height}`);
  if (s.frameRate) parts.push(formatFrameRate(s.frameRate));
  if (s.pixelFormat) parts.push(s.pixelFormat);
  if (s.rotation) parts.push(`rotated ${s.rotation}°`);
  if (s.sampleRate) parts.push(formatSampleRate(s.sampleRate));
  if (s.channels !== undefined || s.channelLayout) parts.push(formatChannels(s.channels, s.channelLayout));
  if (s.attachedPic) parts.push("cover art");
  if (s.durationSec !== undefined) parts.push(formatDuration(s.durationSec));
  return parts.join(" · ") || "—";
}

function streamsTable(doc: MetadataDocument): HTMLElement {
  if (doc.streams.length === 0) return h("p", { class: "muted" }, "No streams.");
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "streams", id: "streams-table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col", class: "num" }, "#"),
          h("th", { scope: "col" }, "Type"),
          h("th", { scope: "col" }, "Codec"),
          h("th", { scope: "col" }, "Details"),
          h("th", { scope: "col" }, "Language"),
          h("th", { scope: "col", class: "num" }, "Bit rate"),
        ),
      ),
      h(
        "tbody",
        {},
        ...doc.streams.map((s) =>
          h(
            "tr",
            { "data-stream-kind": s.kind },
            h("td", { class: "num", "data-label": "#" }, String(s.index)),
            h("td", { "data-label": "Type" }, h("span", { class: `kind kind-${s.kind}` }, s.kind)),
            h(
              "td",
              { "data-label": "Codec" },
              h("strong", {}, s.codec ?? "—"),
              s.profile ? h("span", { class: "muted" }, ` ${s.profile}`) : null,
            ),
            h("td", { "data-label": "Details" }, streamDetails(s)),
            h("td", { class: s.language ? "" : "blank", "data-label": "Language" }, s.language ?? "—"),
            h("td", { class: s.bitRate ? "num" : "num blank", "data-label": "Bit rate" }, formatBitRate(s.bitRate)),
          ),
        ),
      ),
    ),
  );
}

function body(doc: FileDetail, closeButton: HTMLButtonElement): HTMLElement[] {
  const failed = doc.status !== "ok";
  const c = doc.container;
  const tags = Object.entries(doc.tags ?? {});
  return [
    h(
      "header",
      { class: "detail-head" },
      h(
        "div",
        { class: "detail-title" },
        h("h2", { id: "detail-title" }, baseName(doc.key)),
        h("p", { class: "detail-key" }, doc.key),
        h("div", { class: "badges" }, statusBadge(doc.status), kindBadge(doc.kind)),
      ),
      closeButton,
    ),
    failed
      ? h(
          "div",
          { class: "callout callout-error", id: "detail-reason" },
          h("p", { class: "callout-title" }, "This file could not be read as media"),
          h("p", {}, doc.reason ?? "No reason was recorded."),
        )
      : null,
    h(
      "dl",
      { class: "facts" },
      ...fact("Format", c ? (c.formatLongName ?? c.format) : undefined),
      ...fact("Duration", formatDuration(c?.durationSec)),
      ...fact("Bit rate", formatBitRate(c?.bitRate)),
      ...fact("Size", `${formatBytes(doc.size)} (${formatNumber(doc.size)} bytes)`),
      ...fact("Content type", doc.contentType),
      ...fact("Processed", formatDateTime(doc.processedAt)),
      ...fact("Probe time", formatMs(doc.probeMs)),
      ...fact("Bytes read", `${formatBytes(doc.bytesRead)}${readShare(doc)}`),
      ...fact("ffprobe", doc.ffprobeVersion),
      ...fact("Extractor", doc.extractorVersion),
    ),
    h("h3", {}, `Streams (${doc.streams.length}${doc.streamsTruncated ? "+" : ""})`),
    streamsTable(doc),
    tags.length
      ? [h("h3", {}, "Tags"), h("dl", { class: "facts tags" }, ...tags.flatMap(([k, v]) => fact(k, v)))]
      : null,
    h(
      "footer",
      { class: "detail-foot" },
      doc.rawUrl
        ? h(
            "a",
            { class: "button", id: "raw-link", href: doc.rawUrl, target: "_blank", rel: "noopener noreferrer" },
            "Full ffprobe JSON",
            h("span", { class: "visually-hidden" }, " (opens in a new tab)"),
          )
        : h("span", { class: "muted" }, doc.raw ? "The full ffprobe JSON link is not available." : ""),
    ),
  ] as HTMLElement[];
}

export function createDetailView(ctx: AppContext): DetailView {
  const dialog = byId<HTMLDialogElement>("detail");
  let returnFocus: HTMLElement | null = null;
  let current = 0;

  const closeButton = () =>
    h(
      "button",
      { type: "button", class: "icon-button", "aria-label": "Close", onclick: () => view.close() },
      h("span", { "aria-hidden": "true" }, "×"),
    );

  dialog.addEventListener("close", () => {
    current++;
    returnFocus?.focus();
    returnFocus = null;
    view.onClose();
  });
  // A click on the backdrop (the dialog element itself, outside its content) closes it.
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) view.close();
  });

  const view: DetailView = {
    async open(key) {
      const mine = ++current;
      if (!dialog.open) {
        returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
        replaceChildren(
          dialog,
          h(
            "header",
            { class: "detail-head" },
            h(
              "div",
              { class: "detail-title" },
              h("h2", { id: "detail-title" }, baseName(key)),
              h("p", { class: "detail-key" }, key),
            ),
            closeButton(),
          ),
          h("p", { class: "loading", role: "status" }, "Loading…"),
        );
        dialog.showModal();
      }
      try {
        const doc = await ctx.api.getFile(key);
        if (mine !== current) return;
        if (!doc) {
          replaceChildren(
            dialog,
            h(
              "header",
              { class: "detail-head" },
              h(
                "div",
                { class: "detail-title" },
                h("h2", { id: "detail-title" }, baseName(key)),
                h("p", { class: "detail-key" }, key),
              ),
              closeButton(),
            ),
            h(
              "div",
              { class: "callout" },
              h(
                "p",
                {},
                "There is no metadata for this key (yet). If you just uploaded it, it is still being processed.",
              ),
            ),
          );
          dialog.querySelector<HTMLButtonElement>(".icon-button")?.focus();
          return;
        }
        const close = closeButton();
        replaceChildren(dialog, ...body(doc, close));
        // The loading view's close button had the focus; give it to the new one.
        if (!dialog.contains(document.activeElement)) close.focus();
      } catch (err) {
        if (mine !== current) return;
        view.close();
        ctx.fail(err);
      }
    },
    close() {
      if (dialog.open) dialog.close();
    },
    onClose: () => undefined,
  };
  return view;
}
