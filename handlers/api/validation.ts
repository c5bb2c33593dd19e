/**
 * Every input of the API, as zod schemas: query strings, path parameters, the upload
 * request body, and the claims the authorizer passes on. A failed parse becomes a
 * ProblemError naming the field, what it must be and (briefly) what was given.
 */
// A namespace import lets esbuild drop what the API never uses (457 KB -> 94 KB of zod in the bundle: docs/cold-start.md).
import * as z from "zod";
import type { DocumentStatus, MediaKind } from "../../lib/schema";
import { ProblemError, type ProblemKind } from "./problem";
import { MEDIA_TYPE, SAFE_SUBJECT } from "./uploads";

export const LIST_LIMITS = { min: 1, max: 100, default: 25 } as const;
export const STATUS_VALUES = ["ok", "unprocessable"] as const satisfies readonly DocumentStatus[];
export const KIND_VALUES = ["video", "audio", "image", "other"] as const satisfies readonly MediaKind[];
/** S3's limit on key length; longer keys cannot name an object. */
export const MAX_KEY_BYTES = 1024;
/** Largest POST /uploads body read. */
export const MAX_UPLOAD_REQUEST_BYTES = 16 * 1024;
const MAX_FILE_NAME_CHARS = 1024;
const MAX_CURSOR_CHARS = 4096;
/** Longest file-name search accepted. */
export const MAX_SEARCH_CHARS = 200;

const utf8Bytes = (s: string) => Buffer.byteLength(s, "utf8");
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f]/;

export const listQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^\d{1,4}$/, { error: `limit must be an integer from ${LIST_LIMITS.min} to ${LIST_LIMITS.max}` })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(LIST_LIMITS.min, { error: `limit must be an integer from ${LIST_LIMITS.min} to ${LIST_LIMITS.max}` })
        .max(LIST_LIMITS.max, { error: `limit must be an integer from ${LIST_LIMITS.min} to ${LIST_LIMITS.max}` }),
    )
    .default(LIST_LIMITS.default),
  status: z.enum(STATUS_VALUES, { error: `status must be one of ${STATUS_VALUES.join(", ")}` }).optional(),
  kind: z.enum(KIND_VALUES, { error: `kind must be one of ${KIND_VALUES.join(", ")}` }).optional(),
  q: z
    .string()
    .max(MAX_SEARCH_CHARS, { error: `q must be at most ${MAX_SEARCH_CHARS} characters` })
    .refine((s) => !CONTROL.test(s), { error: "q must not contain control characters" })
    .optional(),
  prefix: z
    .string()
    .refine((k) => utf8Bytes(k) <= MAX_KEY_BYTES, { error: `prefix must be at most ${MAX_KEY_BYTES} bytes of UTF-8` })
    .refine((s) => !CONTROL.test(s), { error: "prefix must not contain control characters" })
    .optional(),
  cursor: z.string().max(MAX_CURSOR_CHARS, { error: "cursor: the cursor is not one this API issued" }).optional(),
});
export type ListQuery = z.infer<typeof listQuerySchema>;

export const fileKeySchema = z
  .string({ error: "the object key is missing" })
  .min(1, { error: "the object key is missing" })
  .refine((k) => utf8Bytes(k) <= MAX_KEY_BYTES, { error: `an object key is at most ${MAX_KEY_BYTES} bytes of UTF-8` });

const required = (field: string, what: string) => ({
  error: (issue: { input?: unknown }) =>
    issue.input === undefined ? `${field} is required` : `${field} must be ${what}`,
});

export const uploadRequestSchema = z.strictObject(
  {
    fileName: z
      .string(required("fileName", "a string"))
      .min(1, { error: "fileName must not be empty" })
      .max(MAX_FILE_NAME_CHARS, { error: `fileName must be at most ${MAX_FILE_NAME_CHARS} characters` })
      .refine((s) => !CONTROL.test(s), { error: "fileName must not contain control characters" }),
    contentType: z
      .string(required("contentType", "a string"))
      .max(255, { error: "contentType must be at most 255 characters" })
      .transform((s) => s.trim().toLowerCase())
      .pipe(z.string().regex(MEDIA_TYPE, { error: "contentType must be a bare media type such as video/mp4" })),
    size: z
      .number(required("size", "a number of bytes"))
      .int({ error: "size must be a whole number of bytes" })
      .min(1, { error: "size must be at least 1 byte" }),
  },
  { error: "the body must be a JSON object with fileName, contentType and size" },
);
export type UploadRequest = z.infer<typeof uploadRequestSchema>;

/** The authorizer's claims as the handler needs them (API Gateway passes every claim as a string). */
export const uploaderClaimsSchema = z.object({
  sub: z
    .string({ error: "the access token names no user (sub claim)" })
    .regex(SAFE_SUBJECT, { error: "the access token's subject cannot name an upload folder" }),
});

function describeInput(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
  if (value === undefined || value === null || typeof value === "object") return "";
  return String(value);
}

function at(input: unknown, path: PropertyKey[]): unknown {
  let v: unknown = input;
  for (const p of path) v = v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** The first issue in words: "<message>, got <value>" (or the unknown fields of a strict object). */
export function describeIssue(error: z.ZodError, input: unknown, showInput: boolean): string {
  const issue = error.issues[0];
  if (!issue) return "invalid input";
  if (issue.code === "unrecognized_keys") {
    return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  }
  const got = showInput ? describeInput(at(input, issue.path)) : "";
  return got ? `${issue.message}, got ${got}` : issue.message;
}

/** Parses `input` or throws the problem of `kind` describing the first issue. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  kind: ProblemKind,
  options: { showInput?: boolean } = {},
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ProblemError(kind, describeIssue(result.error, input, options.showInput ?? true));
}

/** Query parameters with empty values dropped (`?status=` means no filter), as API Gateway passes them. */
export function queryOf(params: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== "") out[k] = v;
  return out;
}
