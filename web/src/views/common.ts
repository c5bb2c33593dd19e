/** Pieces shared by the views: badges, toasts, the app context. */
import type { DocumentStatus, MediaKind, MetadataDocument } from "../../../lib/schema";
import type { ApiClient } from "../api";
import { byId, h } from "../dom";

export function statusBadge(status: DocumentStatus): HTMLSpanElement {
  return status === "ok"
    ? h("span", { class: "badge badge-ok" }, h("span", { class: "dot", "aria-hidden": "true" }), "Processed")
    : h("span", { class: "badge badge-failed" }, h("span", { class: "dot", "aria-hidden": "true" }), "Unprocessable");
}

const KIND_LABELS: Record<MediaKind, string> = { video: "Video", audio: "Audio", image: "Image", other: "Other" };

export function kindBadge(kind: MediaKind): HTMLSpanElement {
  return h("span", { class: `kind kind-${kind}` }, KIND_LABELS[kind] ?? kind);
}

export function kindLabel(kind: MediaKind): string {
  return KIND_LABELS[kind] ?? kind;
}

/** Link to a file's detail view (hash route, so it works on any static host). */
export function detailHref(key: string): string {
  return `#/files/${encodeURIComponent(key)}`;
}

/** The key in a detail-view hash, or undefined. */
export function keyFromHash(hash: string): string | undefined {
  const m = /^#\/files\/(.+)$/.exec(hash);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
}

/** Says `message` to screen readers (a polite live region), without showing it. */
export function announce(message: string): void {
  const region = document.getElementById("announcer");
  if (region) region.textContent = message;
}

export function notify(message: string, tone: "info" | "error" = "info", timeoutMs = 6000): void {
  const box = byId("toasts");
  const toast = h(
    "div",
    { class: `toast toast-${tone}` },
    h("span", {}, message),
    h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss", onclick: () => toast.remove() }, "×"),
  );
  box.append(toast);
  if (timeoutMs > 0) setTimeout(() => toast.remove(), timeoutMs);
}

/** What views share: the API, the loaded documents, and hooks to refresh what depends on them. */
export interface AppContext {
  api: ApiClient;
  /** Called with an error from any API call: signs out on 401, shows a message otherwise. */
  fail(err: unknown): void;
  /** A document was created or changed (e.g. an upload got processed). */
  upsert(doc: MetadataDocument): void;
  /** What GET /health last said about the pipeline (views/pipeline.ts). */
  pipeline?: PipelineWatch;
}

export interface PipelineWatch {
  /** True while GET /health says the pipeline is paused (or partly). */
  paused(): boolean;
  /** Resolves once the pipeline runs again (immediately when it does). */
  running(): Promise<void>;
}
