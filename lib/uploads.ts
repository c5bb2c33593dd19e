/**
 * What browsers may upload, declared once: the read API enforces it when presigning
 * (handlers/api/uploads.ts), and the dashboard checks it before sending (lib/dashboard-config.ts).
 */

/** S3's limit for one PUT, the ceiling of a presigned upload. */
export const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;

/** The declared set: media only (the extractor reads nothing else). "type/*" accepts any subtype. */
export const UPLOAD_CONTENT_TYPES: readonly string[] = ["video/*", "audio/*", "image/*"];

/** Binary (IEC) units, the one convention for sizes on the page, in the CLIs and in the docs. */
const BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** A size in binary units: "512 B", "48.5 KiB", "5 GiB" (whole values without a decimal). */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return "—";
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)} ${BINARY_UNITS[unit]}`;
}
