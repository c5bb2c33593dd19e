/**
 * The files table: server-side filters (status, kind) and search (a file name, or a key
 * prefix when the text has a "/"), composing with each other, and "Load more" with the API's
 * signed cursor. Nothing is filtered in the browser.
 */

import type { DocumentStatus, MediaKind, MetadataDocument } from "../../../lib/schema";
import { h, replaceChildren } from "../dom";
import { KIND_VALUES_LIST, STATUS_VALUES_LIST } from "../enums";
import {
  baseName,
  codecSummary,
  formatBytes,
  formatDateTime,
  formatDuration,
  formatName,
  formatRelative,
  resolutionOf,
} from "../format";
import { type AppContext, detailHref, kindBadge, kindLabel, statusBadge } from "./common";

const PAGE_SIZE = 50;

export interface FilesView {
  element: HTMLElement;
  /** Every loaded document (all pages, before the search). */
  items(): readonly MetadataDocument[];
  reload(): Promise<void>;
  upsert(doc: MetadataDocument): void;
  /** Called after the loaded documents change. */
  onChange: () => void;
}

export function createFilesView(ctx: AppContext): FilesView {
  let items: MetadataDocument[] = [];
  let cursor: string | undefined;
  let loading = false;
  let loadedOnce = false;
  let generation = 0;
  let status: DocumentStatus | "" = "";
  let kind: MediaKind | "" = "";
  let search = "";

  const searchInput = h("input", {
    id: "file-search",
    type: "search",
    placeholder: "File name, or folder/ prefix…",
    autocomplete: "off",
    spellcheck: "false",
  });
  const statusSelect = h(
    "select",
    { id: "filter-status" },
    h("option", { value: "" }, "Any status"),
    ...STATUS_VALUES_LIST.map((s) => h("option", { value: s }, s === "ok" ? "Processed" : "Unprocessable")),
  );
  const kindSelect = h(
    "select",
    { id: "filter-kind" },
    h("option", { value: "" }, "Any kind"),
    ...KIND_VALUES_LIST.map((k) => h("option", { value: k }, kindLabel(k))),
  );
  const refreshButton = h("button", { type: "button", class: "button button-quiet", id: "refresh" }, "Refresh");
  const summary = h("p", { class: "muted table-summary", id: "files-summary", "aria-live": "polite" });
  const tableBody = h("tbody");
  const table = h(
    "table",
    { class: "files", id: "files-table", "aria-describedby": "files-summary" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "Name"),
        h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col" }, "Kind"),
        h("th", { scope: "col" }, "Format"),
        h("th", { scope: "col", class: "num" }, "Duration"),
        h("th", { scope: "col", class: "num" }, "Resolution"),
        h("th", { scope: "col", class: "num" }, "Size"),
        h("th", { scope: "col" }, "Processed"),
      ),
    ),
    tableBody,
  );
  const emptyState = h("div", { class: "empty", hidden: true });
  const moreButton = h("button", { type: "button", class: "button", id: "load-more", hidden: true }, "Load more");

  const element = h(
    "section",
    { class: "panel", id: "files", "aria-labelledby": "files-heading" },
    h("div", { class: "panel-head" }, h("h2", { id: "files-heading" }, "Files"), refreshButton),
    h(
      "div",
      { class: "toolbar", role: "search" },
      h("div", { class: "field field-grow" }, h("label", { for: "file-search" }, "Search"), searchInput),
      h("div", { class: "field" }, h("label", { for: "filter-status" }, "Status"), statusSelect),
      h("div", { class: "field" }, h("label", { for: "filter-kind" }, "Kind"), kindSelect),
    ),
    summary,
    h("div", { class: "table-wrap" }, table),
    emptyState,
    h("div", { class: "more" }, moreButton),
  );

  function visible(): MetadataDocument[] {
    return items;
  }

  /** The search as the API takes it: a key prefix when the text has a "/", else a file-name search. */
  function searchQuery(): { q?: string; prefix?: string } {
    const text = search.trim();
    if (!text) return {};
    return text.includes("/") ? { prefix: text } : { q: text };
  }

  /** A right-aligned cell; "blank" when there is no value (hidden in the narrow layout). */
  function numberCell(label: string, value: string): HTMLTableCellElement {
    return h("td", { class: value === "—" ? "num blank" : "num", "data-label": label }, value);
  }

  function row(doc: MetadataDocument): HTMLTableRowElement {
    const failed = doc.status !== "ok";
    const name = baseName(doc.key);
    // Browser uploads live under uploads/<user id>/: the id says nothing to a reader.
    const rawFolder = doc.key.length > name.length ? doc.key.slice(0, doc.key.length - name.length) : "";
    const folder = /^uploads\/[^/]+\/$/.test(rawFolder) ? "uploads/" : rawFolder;
    const link = h("a", { class: "file-link", href: detailHref(doc.key), title: doc.key }, name);
    const tr = h(
      "tr",
      { class: failed ? "row-failed" : "", "data-key": doc.key, "data-status": doc.status },
      h(
        "td",
        { class: "cell-name", "data-label": "Name" },
        link,
        folder ? h("span", { class: "folder", title: doc.key }, folder) : null,
        failed && doc.reason ? h("p", { class: "reason" }, doc.reason) : null,
      ),
      h("td", { "data-label": "Status" }, statusBadge(doc.status)),
      h("td", { "data-label": "Kind" }, kindBadge(doc.kind)),
      h(
        "td",
        { class: failed ? "blank" : "", "data-label": "Format" },
        failed
          ? "—"
          : [h("span", { class: "format" }, formatName(doc)), h("span", { class: "codecs muted" }, codecSummary(doc))],
      ),
      numberCell("Duration", formatDuration(doc.container?.durationSec)),
      numberCell("Resolution", resolutionOf(doc) ?? "—"),
      numberCell("Size", formatBytes(doc.size)),
      h(
        "td",
        { class: "cell-time", "data-label": "Processed" },
        h(
          "time",
          { datetime: doc.processedAt, title: formatDateTime(doc.processedAt) },
          formatRelative(doc.processedAt),
        ),
      ),
    );
    // The whole row opens the detail view for pointer users; keyboard users have the link.
    tr.addEventListener("click", (e) => {
      if ((e.target as Element).closest("a, button")) return;
      if (window.getSelection()?.toString()) return;
      link.click();
    });
    return tr;
  }

  function render(): void {
    const shown = visible();
    replaceChildren(tableBody, ...shown.map(row));
    table.hidden = shown.length === 0;
    const filtered = status || kind || search.trim();
    if (!loadedOnce) {
      summary.textContent = "Loading files…";
    } else if (items.length === 0) {
      summary.textContent = "";
    } else if (search.trim()) {
      summary.textContent = `${items.length} file${items.length === 1 ? "" : "s"} match “${search.trim()}”${cursor ? " so far, more available" : ""}.`;
    } else {
      summary.textContent = `${items.length} file${items.length === 1 ? "" : "s"}${cursor ? " loaded, more available" : ""}.`;
    }
    emptyState.hidden = !loadedOnce || shown.length > 0;
    if (loadedOnce && items.length === 0) {
      replaceChildren(
        emptyState,
        h("p", { class: "empty-title" }, filtered ? "No files match these filters." : "No files yet."),
        h(
          "p",
          { class: "muted" },
          filtered
            ? "Try another search, status or kind."
            : "Upload a video, song or picture above: it shows up here once processed.",
        ),
      );
    } else if (loadedOnce && shown.length === 0) {
      replaceChildren(emptyState, h("p", { class: "empty-title" }, "No loaded file matches your search."));
    }
    moreButton.hidden = !cursor;
    moreButton.disabled = loading;
    moreButton.textContent = loading && items.length > 0 ? "Loading…" : "Load more";
    refreshButton.disabled = loading;
    element.setAttribute("aria-busy", String(loading));
  }

  async function load(reset: boolean): Promise<void> {
    const mine = ++generation;
    loading = true;
    render();
    try {
      let next = reset ? undefined : cursor;
      const found: MetadataDocument[] = [];
      // A search page may come back empty with a cursor (the API bounds the reads per page): keep going a little.
      for (let pages = 0; pages < 5; pages++) {
        const page = await ctx.api.listFiles({
          limit: PAGE_SIZE - found.length,
          cursor: next,
          status,
          kind,
          ...searchQuery(),
        });
        if (mine !== generation) return; // a newer load (other filters) won
        found.push(...page.items);
        next = page.cursor;
        if (!next || found.length > 0) break;
      }
      const seen = new Set(reset ? [] : items.map((d) => d.key));
      items = reset ? found : [...items, ...found.filter((d) => !seen.has(d.key))];
      cursor = next;
      loadedOnce = true;
    } catch (err) {
      if (mine === generation) ctx.fail(err);
    } finally {
      if (mine === generation) {
        loading = false;
        render();
        view.onChange();
      }
    }
  }

  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  searchInput.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      if (searchInput.value === search) return;
      search = searchInput.value;
      void load(true);
    }, 300);
  });
  statusSelect.addEventListener("change", () => {
    status = statusSelect.value as DocumentStatus | "";
    void load(true);
  });
  kindSelect.addEventListener("change", () => {
    kind = kindSelect.value as MediaKind | "";
    void load(true);
  });
  refreshButton.addEventListener("click", () => void load(true));
  moreButton.addEventListener("click", () => void load(false));

  const view: FilesView = {
    element,
    items: () => items,
    reload: () => load(true),
    upsert(doc) {
      if ((status && doc.status !== status) || (kind && doc.kind !== kind)) return;
      const { q, prefix } = searchQuery();
      if (prefix && !doc.key.startsWith(prefix)) return;
      if (q && !baseName(doc.key).toLowerCase().includes(q.toLowerCase())) return;
      items = [doc, ...items.filter((d) => d.key !== doc.key)];
      loadedOnce = true;
      render();
      view.onChange();
    },
    onChange: () => undefined,
  };
  render();
  return view;
}
