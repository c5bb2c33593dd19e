/**
 * Soak phase 2: the writers. Each uploads generated files of mixed kinds and sizes (media.ts)
 * until `files` PUTs are handed out or the deadline passes: new keys (some needing S3's event
 * encoding), overwrites, duplicates (same key, same bytes), deletes, re-creations, corrupt files,
 * and a few hot keys every writer races on. A request that fails (the lab is down, killed by
 * kills.ts) is retried until S3 acknowledges it; what each writer last had acknowledged is kept
 * in `run.owned` for the verdict.
 */
import { sleep } from "../../lib/sleep";
import { seededRandom } from "./fault-proxy";
import type { SoakRun } from "./start";

/** Runs `o.writers` writers at once until they are done. */
export async function uploadWithWriters(run: SoakRun): Promise<void> {
  const { o, uploader, media, uploads, owned } = run;

  async function untilAcknowledged<T>(op: () => Promise<T>): Promise<T> {
    const giveUp = Date.now() + 5 * 60_000;
    for (;;) {
      try {
        return await op();
      } catch (err) {
        if (Date.now() > giveUp) throw err;
        uploads.writerRetries += 1;
        await sleep(100 + Math.random() * 300);
      }
    }
  }

  async function put(key: string, body: Buffer): Promise<string> {
    const etag = await untilAcknowledged(() => uploader.put(key, body));
    uploads.puts += 1;
    uploads.bytes += body.length;
    run.draw("uploading");
    return etag;
  }

  async function remove(key: string): Promise<void> {
    await untilAcknowledged(() => uploader.remove(key));
    uploads.deletes += 1;
  }

  async function writer(w: number): Promise<void> {
    const random = seededRandom(o.seed * 1000 + w);
    const mine: string[] = [];
    const recent: { key: string; body: Buffer }[] = [];
    let seq = 0;
    const pickMine = (deleted: boolean) => {
      const candidates = mine.filter((k) => owned.get(k)?.deleted === deleted);
      return candidates.length > 0 ? candidates[Math.floor(random() * candidates.length)] : undefined;
    };
    const file = () => {
      const f = media.next(random);
      uploads.kinds[f.kind] = (uploads.kinds[f.kind] ?? 0) + 1;
      if (f.expect === "unprocessable") uploads.corrupt += 1;
      return f;
    };
    while (Date.now() < run.deadline) {
      const r = random();
      if (r < 0.08 && o.hotKeys > 0) {
        const key = `hot/${String(Math.floor(random() * o.hotKeys)).padStart(3, "0")}.bin`;
        if (random() < 0.25) {
          await remove(key);
          uploads.hotDeletes += 1;
        } else {
          if (run.slots++ >= o.files) break;
          await put(key, file().body);
          uploads.hotPuts += 1;
        }
        continue;
      }
      if (r < 0.16) {
        const key = pickMine(false);
        if (key) {
          await remove(key);
          owned.set(key, { deleted: true });
          continue;
        }
      } else if (r < 0.28) {
        const key = pickMine(false);
        if (key) {
          if (run.slots++ >= o.files) break;
          const f = file();
          owned.set(key, { etag: await put(key, f.body), deleted: false });
          recent.push({ key, body: f.body });
          uploads.overwrites += 1;
          continue;
        }
      } else if (r < 0.34) {
        const last = recent.filter((x) => owned.get(x.key)?.deleted === false).at(-1);
        if (last) {
          if (run.slots++ >= o.files) break;
          // Same key, same bytes: a second event for the same version.
          const etag = await put(last.key, last.body);
          owned.set(last.key, { etag, deleted: false });
          uploads.duplicates += 1;
          continue;
        }
      } else if (r < 0.38) {
        const key = pickMine(true);
        if (key) {
          if (run.slots++ >= o.files) break;
          owned.set(key, { etag: await put(key, file().body), deleted: false });
          uploads.recreated += 1;
          continue;
        }
      }
      if (run.slots++ >= o.files) break;
      const f = file();
      seq += 1;
      // Some keys need S3's event encoding (spaces, '+', non-ASCII).
      const name = seq % 7 === 0 ? `clip ${seq} ü+${f.kind}` : `${String(seq).padStart(5, "0")}-${f.kind}`;
      const key = `w${w}/${name}.${f.ext}`;
      owned.set(key, { etag: await put(key, f.body), deleted: false });
      mine.push(key);
      recent.push({ key, body: f.body });
      if (recent.length > 4) recent.shift();
      uploads.newKeys += 1;
    }
  }

  await Promise.all(Array.from({ length: o.writers }, (_, w) => writer(w)));
}
