/**
 * Keeps dynalite's table descriptions in memory. dynalite reads a table's description from
 * LevelDB on every request (db/index.js getTable -> tableDb.get): an asynchronous LevelDB
 * read and a JSON parse before any item is touched, about 3% of the lab's CPU under load.
 * Descriptions change only through tableDb's own put, del and batch (CreateTable, UpdateTable,
 * DeleteTable, tags), which drop what is kept; a read that raced a change is not kept. Each
 * read answers a copy, as LevelDB's JSON decoding did, so an action that edits the description
 * it was given never edits the kept one.
 */

type Callback = (err: Error | null, value?: unknown) => void;

/** The members of dynalite's table sub-database this wraps. */
interface TableDb {
  get(key: string, callback?: Callback): unknown;
  put(key: string, value: unknown, callback?: (err?: Error | null) => void): unknown;
  del(key: string, callback?: (err?: Error | null) => void): unknown;
  batch(operations: unknown[], callback?: (err?: Error | null) => void): unknown;
}

function cacheTableReads(tableDb: TableDb): void {
  const kept = new Map<string, unknown>();
  let generation = 0;
  const forget = () => {
    kept.clear();
    generation += 1;
  };
  const get = tableDb.get.bind(tableDb);
  tableDb.get = (key, callback) => {
    if (typeof callback !== "function") return get(key); // a promise-style read: not kept
    if (kept.has(key)) {
      const copy = structuredClone(kept.get(key));
      process.nextTick(() => callback(null, copy));
      return undefined;
    }
    const started = generation;
    return get(key, (err, value) => {
      if (!err && started === generation && value !== undefined) kept.set(key, structuredClone(value));
      callback(err, value);
    });
  };
  for (const method of ["put", "del", "batch"] as const) {
    const write = (tableDb[method] as (...args: unknown[]) => unknown).bind(tableDb);
    (tableDb as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      forget();
      const last = args.length - 1;
      if (typeof args[last] === "function") {
        const callback = args[last] as (...a: unknown[]) => void;
        args[last] = (...result: unknown[]) => {
          forget();
          callback(...result);
        };
        return write(...args);
      }
      const result = write(...args);
      return result instanceof Promise ? result.finally(forget) : result;
    };
  }
}

let installed = false;

/**
 * Makes every dynalite store created from now on keep its table descriptions (dynalite's
 * index.js creates its store through db/index.js `create`). Idempotent.
 */
export function keepDynaliteTableDescriptions(): void {
  if (installed) return;
  installed = true;
  const db = require("dynalite/db") as { create: (options: unknown) => { tableDb: TableDb } };
  const create = db.create;
  db.create = (options) => {
    const store = create(options);
    cacheTableReads(store.tableDb);
    return store;
  };
}
