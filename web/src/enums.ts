/** The filter values the API accepts (handlers/api/routes.ts STATUS_VALUES / KIND_VALUES). */
import type { DocumentStatus, MediaKind } from "../../lib/schema";

export const STATUS_VALUES_LIST: readonly DocumentStatus[] = ["ok", "unprocessable"];
export const KIND_VALUES_LIST: readonly MediaKind[] = ["video", "audio", "image", "other"];
