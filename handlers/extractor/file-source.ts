/**
 * Byte ranges of a local file, so the probe CLI reads files exactly as the pipeline reads S3.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { ByteSource } from "./range-proxy";

export async function fileSource(file: string): Promise<ByteSource> {
  const { size } = await stat(file);
  return {
    size,
    async read(start, end, signal) {
      return { body: createReadStream(file, { start, end, signal }) };
    },
  };
}
