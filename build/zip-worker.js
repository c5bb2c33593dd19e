/**
 * Runs yazl for build/zip.ts in a worker thread (yazl is asynchronous; the Pulumi components
 * that need a zip are constructed synchronously). Plain CommonJS so it loads under any
 * loader (tsx, the Pulumi language host, plain node). Posts { zip } or { error } on the port,
 * then wakes the waiting thread through the shared `done` flag.
 */

const { workerData } = require("node:worker_threads");

const { entries, port, done } = workerData;

function finish(message) {
  port.postMessage(message);
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
}

try {
  const yazl = require("yazl");
  const zip = new yazl.ZipFile();
  // The ZIP epoch (1980-01-01 00:00:00) in DOS date/time; yazl encodes DOS times in local
  // time, so the date is built in local time too. forceDosTimestamp: no "UT" extra field,
  // whose UTC seconds would differ from one time zone to the next.
  const mtime = new Date(1980, 0, 1, 0, 0, 0);
  const chunks = [];
  zip.outputStream.on("data", (chunk) => chunks.push(chunk));
  zip.outputStream.on("end", () => finish({ zip: Buffer.concat(chunks) }));
  zip.outputStream.on("error", (err) => finish({ error: String(err?.stack ?? err) }));
  for (const entry of entries) {
    const options = { mode: entry.mode, mtime, forceDosTimestamp: true };
    if (entry.data === undefined) {
      zip.addEmptyDirectory(entry.name, options);
    } else {
      const data = Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
      zip.addBuffer(data, entry.name, { ...options, compressionLevel: 9 });
    }
  }
  zip.end();
} catch (err) {
  finish({ error: String(err?.stack ?? err) });
}
