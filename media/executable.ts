/**
 * Making sure an npm-shipped binary can be executed.
 *
 * npm may skip install scripts (the static ffmpeg/ffprobe packages chmod their binary in a
 * postinstall), so a binary under node_modules can lack its execute bit. Then a copy with
 * the bit set is made under `.cache/bin/` (written to a temp name, then renamed, so a
 * killed run never leaves a half-copied binary behind).
 */
import { constants } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { REPO_ROOT } from "../lib/repo-root";

const pending = new Map<string, Promise<string>>();

/**
 * `file` itself when it is executable, else an executable copy of it under `.cache/bin/<tag>/`.
 * `tag` names the copy's folder: pass something that changes with the binary (package@version).
 */
export function ensureExecutable(file: string, tag: string): Promise<string> {
  let result = pending.get(file);
  if (!result) {
    result = (async () => {
      try {
        await fs.access(file, constants.X_OK);
        return file;
      } catch {
        const copy = path.join(REPO_ROOT, ".cache", "bin", tag.replace(/[^\w.@-]+/g, "_"), path.basename(file));
        const [src, dst] = await Promise.all([fs.stat(file), fs.stat(copy).catch(() => undefined)]);
        if (dst?.size === src.size) return copy;
        await fs.mkdir(path.dirname(copy), { recursive: true });
        const tmp = `${copy}.tmp-${process.pid}`;
        await fs.copyFile(file, tmp);
        await fs.chmod(tmp, 0o755);
        await fs.rename(tmp, copy);
        return copy;
      }
    })();
    pending.set(file, result);
    result.catch(() => pending.delete(file));
  }
  return result;
}

/** The binary `name` shipped by npm package `pkg` (e.g. "@ffmpeg-installer/linux-x64", "ffmpeg"), made executable. */
export async function npmBinary(pkg: string, name: string): Promise<string> {
  const packageJson = require.resolve(`${pkg}/package.json`);
  const { version } = JSON.parse(await fs.readFile(packageJson, "utf8")) as { version: string };
  return ensureExecutable(path.join(path.dirname(packageJson), name), `${pkg}@${version}`);
}
