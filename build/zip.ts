/**
 * Deterministic ZIP archives for Lambda code that must carry unix file modes, written with
 * yazl (https://github.com/thejoshwolfe/yazl).
 *
 * Why not let Pulumi zip a folder or an AssetArchive: Pulumi's archive code writes every
 * ZIP entry with a bare header (no "made by UNIX", no external attributes), so an
 * executable loses its execute bit (pulumi/pulumi#3593, still open; see
 * sdk/go/common/resource/archive/archive.go addNextFileToZIP). When a FileArchive points at
 * an existing `.zip`, Pulumi uploads the bytes as they are. So we write the zip ourselves,
 * with mode 0755 on the binary, and hand Pulumi a FileArchive of it.
 *
 * Deterministic: every entry has the same fixed time (1980-01-01 00:00, the ZIP epoch, DOS
 * format only), its own mode, deflate level 9, in the order given; so the same inputs give
 * the same bytes, the same hash, and no spurious layer replacement on the next `pulumi up`.
 *
 * yazl streams asynchronously, and the Pulumi components are constructed synchronously:
 * buildZip runs yazl in a worker thread (build/zip-worker.js) and waits for it.
 */
import * as path from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";

export interface ZipEntry {
  /** Path inside the archive, "/"-separated, no leading slash. Directories end with "/". */
  name: string;
  /** File contents; omit for a directory entry. */
  data?: Buffer;
  /** Unix permission bits, e.g. 0o755. */
  mode: number;
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const WORKER = path.join(__dirname, "zip-worker.js");
/** A safety net, not a deadline: the 60 MiB ffprobe binary deflates in seconds. */
const WORKER_WAIT_MS = 15 * 60_000;

/** Builds a ZIP archive from the entries, in the order given. */
export function buildZip(entries: readonly ZipEntry[]): Buffer {
  const seen = new Set<string>();
  const sent = entries.map((entry) => {
    if (seen.has(entry.name)) throw new Error(`zip entry ${entry.name} appears twice`);
    seen.add(entry.name);
    const isDir = entry.name.endsWith("/");
    if (isDir !== (entry.data === undefined)) {
      throw new Error(`zip entry ${entry.name}: directories end with "/" and carry no data; files carry data`);
    }
    // yazl takes the whole st_mode (file type bits included) for the external attributes.
    return { name: entry.name, data: entry.data, mode: (isDir ? S_IFDIR : S_IFREG) | (entry.mode & 0o7777) };
  });

  const done = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER, {
    workerData: { entries: sent, port: port2, done },
    transferList: [port2],
    execArgv: [],
  });
  try {
    if (Atomics.wait(done, 0, 0, WORKER_WAIT_MS) === "timed-out") {
      throw new Error(`the zip writer (${WORKER}) gave no answer in ${WORKER_WAIT_MS / 60_000} minutes`);
    }
    const reply = receiveMessageOnPort(port1)?.message as { zip?: Uint8Array; error?: string } | undefined;
    if (!reply?.zip) throw new Error(`writing the zip failed: ${reply?.error ?? "the worker sent nothing"}`);
    return Buffer.from(reply.zip.buffer, reply.zip.byteOffset, reply.zip.byteLength);
  } finally {
    port1.close();
    void worker.terminate();
  }
}
