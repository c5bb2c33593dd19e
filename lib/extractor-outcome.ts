/**
 * What the extractor made of one object change: handlers/extractor/process-change.ts returns
 * it, its EMF metric Objects counts it (dimension Outcome), the backfill reports it per item and
 * the stack's dashboard (components/dashboard-body.ts) draws one line per outcome.
 */
export type Outcome =
  /** A document with status ok was written. */
  | "ok"
  /** A document with status unprocessable was written. */
  | "unprocessable"
  /** A removal was recorded. */
  | "removed"
  /** The table already reflects this event or a newer one (duplicate or out-of-order delivery). */
  | "not-newer"
  /** The object changed or vanished since the event; the newer event will describe it. */
  | "superseded"
  /**
   * A removal event, but the key still has a current object that the table already
   * describes (a noncurrent version was deleted in a versioned bucket): nothing to do.
   */
  | "still-present";
