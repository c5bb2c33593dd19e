/**
 * Reading IAM / resource policy documents (bucket policies, IAM policies, topic and queue
 * policies): statements normalised, and the questions the policies ask of them.
 */
import { type Maybe, UNKNOWN } from "./util";

export interface Statement {
  effect: string;
  /** Principal "*" or {AWS: "*"} (anyone), or NotPrincipal (everyone but someone). */
  anyone: boolean;
  actions: string[];
  /** True when the statement uses NotAction (it then covers nearly every action). */
  notAction: boolean;
  resources: string[];
  notResource: boolean;
  /** Condition operator -> key -> values. */
  condition: Record<string, Record<string, string[]>>;
}

export function list(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (typeof v === "boolean" || typeof v === "number") return [String(v)];
  return Array.isArray(v)
    ? v.filter((x) => ["string", "boolean", "number"].includes(typeof x)).map((x) => String(x))
    : [];
}

/** A policy document from a `policy` prop: a JSON string (or an object); UNKNOWN when not known yet. */
export function policyDocument(value: Maybe<unknown>): Maybe<unknown> {
  if (value === UNKNOWN) return UNKNOWN;
  if (typeof value === "string") {
    try {
      return JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (value && typeof value === "object") {
    // A proxied object: copy it to plain JSON, treating any unknown inside as unknown overall.
    try {
      return JSON.parse(JSON.stringify(value));
    } catch {
      return UNKNOWN;
    }
  }
  return undefined;
}

export function statements(doc: unknown): Statement[] {
  if (!doc || typeof doc !== "object") return [];
  const raw = (doc as { Statement?: unknown }).Statement;
  const items = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return items
    .filter((s): s is Record<string, unknown> => !!s && typeof s === "object")
    .map((st) => {
      const principal = st.Principal;
      const anyone =
        st.NotPrincipal !== undefined ||
        principal === "*" ||
        (principal !== null &&
          typeof principal === "object" &&
          list((principal as Record<string, unknown>).AWS).includes("*"));
      const condition: Statement["condition"] = {};
      const rawCondition = st.Condition;
      if (rawCondition && typeof rawCondition === "object") {
        for (const [op, body] of Object.entries(rawCondition as Record<string, unknown>)) {
          condition[op] = {};
          if (body && typeof body === "object") {
            for (const [k, v] of Object.entries(body as Record<string, unknown>)) condition[op][k] = list(v);
          }
        }
      }
      return {
        effect: String(st.Effect ?? ""),
        anyone,
        actions: list(st.Action ?? st.NotAction),
        notAction: st.NotAction !== undefined,
        resources: list(st.Resource ?? st.NotResource),
        notResource: st.NotResource !== undefined,
        condition,
      };
    });
}

/**
 * Condition keys that tie a statement to a caller or a source the account controls (a service
 * acting for one resource or account, an organization, a VPC endpoint). An Allow to "*" limited by
 * one of these is not public. Any "...IfExists" operator is ignored: a request without the key
 * passes it.
 */
const RESTRICTING_KEYS = new Set([
  "aws:sourcearn",
  "aws:sourceaccount",
  "aws:sourceowner",
  "aws:sourceorgid",
  "aws:sourceorgpaths",
  "aws:principalaccount",
  "aws:principalarn",
  "aws:principalorgid",
  "aws:principalorgpaths",
  "aws:sourcevpce",
  "aws:sourcevpc",
  "aws:userid",
  "aws:sourceip",
]);

/** A statement that allows anyone (Principal "*") without a condition restricting who or from where. */
export function isPublicAllow(s: Statement): boolean {
  if (s.effect !== "Allow" || !s.anyone) return false;
  for (const [op, body] of Object.entries(s.condition)) {
    if (/ifexists$/i.test(op)) continue;
    for (const [key, values] of Object.entries(body)) {
      if (!RESTRICTING_KEYS.has(key.toLowerCase())) continue;
      // A wildcard value restricts nothing.
      if (values.length > 0 && !values.some((v) => v === "*" || v === "0.0.0.0/0" || v === "::/0")) return false;
    }
  }
  return true;
}

/** Whether `pattern` (an IAM action with `*` / `?` wildcards) matches `action`, case-insensitively. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("")}$`,
    "i",
  );
  return re.test(action);
}

/** S3 actions that put, change or delete objects. */
export const S3_WRITE_ACTIONS = [
  "s3:PutObject",
  "s3:DeleteObject",
  "s3:PutObjectAcl",
  "s3:RestoreObject",
  "s3:ReplicateObject",
];

/** The statement allows one of `actions` (NotAction counts as allowing everything it does not name). */
export function allowsAny(s: Statement, actions: readonly string[]): boolean {
  if (s.effect !== "Allow") return false;
  if (s.notAction) return actions.some((a) => !s.actions.some((p) => actionMatches(p, a)));
  return actions.some((a) => s.actions.some((p) => actionMatches(p, a)));
}
