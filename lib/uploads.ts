/**
 * What browsers may upload, declared once: the read API enforces it when presigning
 * (handlers/api/uploads.ts), and the dashboard checks it before sending (lib/dashboard-config.ts).
 */

/** S3's limit for one PUT, the ceiling of a presigned upload. */
export const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;

/** The declared set: media only (the extractor reads nothing else). "type/*" accepts any subtype. */
export const UPLOAD_CONTENT_TYPES: readonly string[] = ["video/*", "audio/*", "image/*"];
