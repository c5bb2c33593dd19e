/**
 * Upload of one or many files (file input or drag and drop): POST /uploads for a presigned
 * target, the bytes straight to the ingest bucket with a progress bar per file, then GET
 * /files/{key} about once a second until the pipeline has processed the object.
 */
import { contentTypeAllowed, type DashboardUploadConfig } from "../../../lib/dashboard-config";
import type { MetadataDocument } from "../../../lib/schema";
import { ApiError } from "../api";
import { h, replaceChildren } from "../dom";
import { formatBytes } from "../format";
import { sendFile } from "../upload";
import { type AppContext, announce, detailHref } from "./common";

/**
 * How often the document is polled after an upload (from POLL_INTERVAL_MS, growing by half
 * each time up to POLL_MAX_INTERVAL_MS: a 404 only means "not yet"), and for how long. While
 * the pipeline is paused (views/pipeline.ts) polling stops, and the clock with it.
 */
const POLL_INTERVAL_MS = 1000;
const POLL_MAX_INTERVAL_MS = 10_000;
const POLL_TIMEOUT_MS = 3 * 60_000;
/** Files uploading at once; the rest wait their turn. */
const PARALLEL_UPLOADS = 3;

type UploadState = "queued" | "uploading" | "processing" | "ok" | "unprocessable" | "error" | "timeout";

interface UploadEntry {
  file: File;
  state: UploadState;
  loaded: number;
  key?: string;
  etag?: string;
  message?: string;
  doc?: MetadataDocument;
  el: HTMLLIElement;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The type the browser reports, else one guessed from the extension, else octet-stream. */
export function contentTypeOf(file: File): string {
  if (file.type) return file.type;
  const ext = file.name.split(".").pop()?.toLowerCase() ?? "";
  const guesses: Record<string, string> = {
    mkv: "video/x-matroska",
    mov: "video/quicktime",
    mp4: "video/mp4",
    m4a: "audio/mp4",
    webm: "video/webm",
    flac: "audio/flac",
    opus: "audio/ogg",
    wav: "audio/wav",
  };
  return guesses[ext] ?? "application/octet-stream";
}

export function createUploadsView(ctx: AppContext, limits: DashboardUploadConfig) {
  const entries: UploadEntry[] = [];
  let active = 0;

  const accept = limits.contentTypes.filter((t) => t !== "application/octet-stream").join(",");
  const input = h("input", {
    type: "file",
    id: "upload-input",
    class: "visually-hidden",
    tabindex: "-1",
    "aria-label": "Files to upload",
    multiple: true,
    ...(accept ? { accept } : {}),
  });
  const list = h("ul", { class: "uploads", id: "upload-list", "aria-label": "Uploads" });
  const zone = h(
    "div",
    { class: "dropzone", id: "dropzone" },
    h(
      "div",
      { class: "dropzone-text" },
      h("p", { class: "dropzone-title" }, "Drop video, audio or image files here"),
      h(
        "p",
        { class: "muted small" },
        `Up to ${formatBytes(limits.maxBytes)} each. They go straight to the ingest bucket and are described within seconds.`,
      ),
    ),
    h(
      "button",
      { type: "button", class: "button button-primary", id: "choose-files", onclick: () => input.click() },
      "Choose files",
    ),
    input,
  );

  const clearButton = h(
    "button",
    { type: "button", class: "button button-quiet uploads-clear", id: "clear-uploads", hidden: true },
    "Clear finished",
  );
  const element = h(
    "section",
    { class: "panel", id: "upload", "aria-labelledby": "upload-heading" },
    h("div", { class: "panel-head" }, h("h2", { id: "upload-heading" }, "Upload"), clearButton),
    zone,
    list,
  );

  const finished = (e: UploadEntry) => !["queued", "uploading", "processing"].includes(e.state);
  function updateClear(): void {
    clearButton.hidden = !entries.some(finished);
  }
  clearButton.addEventListener("click", () => {
    for (const e of entries.filter(finished)) {
      e.el.remove();
      entries.splice(entries.indexOf(e), 1);
    }
    updateClear();
    zone.querySelector<HTMLButtonElement>("#choose-files")?.focus();
  });

  /** What a screen reader hears when an upload changes state (not on every progress event). */
  const SPOKEN: Partial<Record<UploadState, (e: UploadEntry) => string>> = {
    processing: (e) => `${e.file.name} uploaded, processing`,
    ok: (e) => `${e.file.name} processed`,
    unprocessable: (e) => `${e.file.name} is unprocessable: ${e.doc?.reason ?? "no reason given"}`,
    error: (e) => `${e.file.name}: ${e.message ?? "failed"}`,
    timeout: (e) => `${e.file.name} uploaded, not processed yet`,
  };

  function render(entry: UploadEntry): void {
    const percent = entry.file.size ? Math.round((entry.loaded / entry.file.size) * 100) : 100;
    if (entry.el.dataset.state !== entry.state) {
      const say = SPOKEN[entry.state];
      if (say) announce(say(entry));
    }
    entry.el.dataset.state = entry.state;
    if (entry.key) entry.el.dataset.key = entry.key;
    let status: (Node | string)[];
    switch (entry.state) {
      case "queued":
        status = ["Waiting…"];
        break;
      case "uploading":
        status = [`Uploading… ${percent}%`];
        break;
      case "processing":
        status = entry.message
          ? [entry.message]
          : [h("span", { class: "spinner", "aria-hidden": "true" }), "Uploaded. Processing…"];
        break;
      case "ok":
        status = ["Processed. ", h("a", { href: detailHref(entry.key ?? "") }, "View details")];
        break;
      case "unprocessable":
        status = [
          h("strong", {}, "Unprocessable: "),
          entry.doc?.reason ?? "no reason given",
          " ",
          h("a", { href: detailHref(entry.key ?? "") }, "Details"),
        ];
        break;
      case "timeout":
        status = ["Uploaded, not processed yet. It will appear in the list when it is."];
        break;
      default:
        status = [entry.message ?? "Failed"];
    }
    const progress = h("progress", {
      max: 100,
      value: entry.state === "queued" ? 0 : entry.state === "uploading" ? percent : 100,
      "aria-label": `Upload of ${entry.file.name}`,
    });
    updateClear();
    replaceChildren(
      entry.el,
      h(
        "div",
        { class: "upload-head" },
        h("span", { class: "upload-name" }, entry.file.name),
        h("span", { class: "upload-size muted" }, formatBytes(entry.file.size)),
      ),
      progress,
      h("p", { class: "upload-status" }, ...status),
    );
  }

  async function waitForDocument(entry: UploadEntry): Promise<void> {
    let deadline = Date.now() + POLL_TIMEOUT_MS;
    const key = entry.key as string;
    let interval = POLL_INTERVAL_MS;
    while (Date.now() < deadline) {
      await sleep(interval);
      interval = Math.min(Math.round(interval * 1.5), POLL_MAX_INTERVAL_MS);
      if (ctx.pipeline?.paused()) {
        entry.message = "Waiting: processing is paused. The file is kept and will be described when it resumes.";
        render(entry);
        const pausedAt = Date.now();
        await ctx.pipeline.running();
        deadline += Date.now() - pausedAt;
        entry.message = undefined;
        interval = POLL_INTERVAL_MS;
        render(entry);
      }
      let doc: MetadataDocument | undefined;
      try {
        doc = await ctx.api.getFile(key);
      } catch (err) {
        if (err instanceof ApiError && (err.unauthorized || err.status === 403)) throw err;
        continue; // transient: keep polling
      }
      // Same key uploaded before: wait for the document of this upload (same ETag).
      if (doc && (!entry.etag || !doc.etag || doc.etag.replace(/"/g, "") === entry.etag)) {
        entry.doc = doc;
        entry.state = doc.status === "ok" ? "ok" : "unprocessable";
        render(entry);
        ctx.upsert(doc);
        return;
      }
    }
    entry.state = "timeout";
    render(entry);
  }

  async function run(entry: UploadEntry): Promise<void> {
    try {
      const contentType = contentTypeOf(entry.file);
      const target = await ctx.api.createUpload({ fileName: entry.file.name, contentType, size: entry.file.size });
      entry.key = target.key;
      entry.state = "uploading";
      render(entry);
      let last = 0;
      const result = await sendFile(entry.file, target, (p) => {
        entry.loaded = p.loaded;
        const now = performance.now();
        if (now - last > 50 || p.loaded === p.total) {
          last = now;
          render(entry);
        }
      });
      entry.etag = result.etag;
      entry.state = "processing";
      render(entry);
      await waitForDocument(entry);
    } catch (err) {
      entry.state = "error";
      entry.message = err instanceof Error ? err.message : String(err);
      render(entry);
      if (err instanceof ApiError && err.unauthorized) ctx.fail(err);
    }
  }

  function pump(): void {
    while (active < PARALLEL_UPLOADS) {
      const next = entries.find((e) => e.state === "queued");
      if (!next) return;
      active++;
      next.state = "uploading";
      render(next);
      void run(next).finally(() => {
        active--;
        pump();
      });
    }
  }

  function add(files: Iterable<File>): void {
    for (const file of files) {
      const entry: UploadEntry = { file, state: "queued", loaded: 0, el: h("li", { class: "upload" }) };
      const type = contentTypeOf(file);
      if (file.size > limits.maxBytes) {
        entry.state = "error";
        entry.message = `Too large: the limit is ${formatBytes(limits.maxBytes)}.`;
      } else if (file.size === 0) {
        entry.state = "error";
        entry.message = "The file is empty.";
      } else if (!contentTypeAllowed(type, limits.contentTypes)) {
        entry.state = "error";
        entry.message = `Not accepted: ${type} files cannot be uploaded here.`;
      }
      entries.unshift(entry);
      list.prepend(entry.el);
      render(entry);
    }
    pump();
  }

  input.addEventListener("change", () => {
    if (input.files) add([...input.files]);
    input.value = "";
  });
  let depth = 0;
  zone.addEventListener("dragenter", (e) => {
    e.preventDefault();
    depth++;
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    zone.classList.remove("dragging");
    const files = e.dataTransfer?.files;
    if (files?.length) add([...files]);
  });

  return { element, add };
}
