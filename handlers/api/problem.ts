/**
 * Errors as RFC 9457 problem details (`application/problem+json`): a stable `type` a
 * client can switch on, a short `title`, the HTTP `status` and a human `detail`.
 * Never a stack trace or an internal error message.
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** The problem types this API returns. */
export const PROBLEM_TYPES = {
  invalidParameter: {
    type: "urn:media-pipeline:problem:invalid-parameter",
    title: "Invalid request parameter",
    status: 400,
  },
  invalidBody: { type: "urn:media-pipeline:problem:invalid-body", title: "Invalid request body", status: 400 },
  contentTypeNotAllowed: {
    type: "urn:media-pipeline:problem:content-type-not-allowed",
    title: "Content type not accepted for upload",
    status: 400,
  },
  uploadTooLarge: { type: "urn:media-pipeline:problem:upload-too-large", title: "Upload too large", status: 413 },
  forbidden: { type: "urn:media-pipeline:problem:forbidden", title: "Forbidden", status: 403 },
  notFound: { type: "urn:media-pipeline:problem:not-found", title: "Not found", status: 404 },
  routeNotFound: { type: "urn:media-pipeline:problem:route-not-found", title: "No such route", status: 404 },
  internal: { type: "urn:media-pipeline:problem:internal", title: "Internal error", status: 500 },
  unavailable: { type: "urn:media-pipeline:problem:unavailable", title: "Not available", status: 503 },
} as const;

export type ProblemKind = keyof typeof PROBLEM_TYPES;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
}

/** Thrown by route code for an expected client error; turned into a problem response. */
export class ProblemError extends Error {
  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
  ) {
    super(detail);
    this.name = "ProblemError";
  }
}

export function problem(kind: ProblemKind, detail: string): Problem {
  const { type, title, status } = PROBLEM_TYPES[kind];
  return { type, title, status, detail };
}

export function problemResponse(kind: ProblemKind, detail: string): APIGatewayProxyStructuredResultV2 {
  const body = problem(kind, detail);
  return {
    statusCode: body.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, "cache-control": "no-store" },
    body: JSON.stringify(body),
  };
}
