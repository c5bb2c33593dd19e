/**
 * MPEG-TS and the pinned static ffprobe's iconv (issue 10, point 0).
 *
 * The static build (glibc linked in, built on Debian 9) looks for gconv modules at its
 * compiled-in /usr/lib/x86_64-linux-gnu/gconv. The mpegts demuxer converts DVB text (the
 * SDT's service names, ISO 6937 by default) with iconv, so on a host that has a gconv
 * module cache at that path (Debian, Ubuntu) ffprobe dlopens the host's ISO_6937.so, which
 * pulls in the host's shared libc into the static process: SIGSEGV on every MPEG-TS file
 * (seen with strace: gconv-modules.cache, ISO_6937.so, libc.so.6, then SEGV_MAPERR).
 * With GCONV_PATH set the cache is not used, but glibc still reads the gconv-modules file of
 * its compiled-in folder (on Debian: ISO-8859-15, UTF-16...), so the sandbox's folder aliases
 * every charset needing a module to none (ffprobe-sandbox.ts) and no module is ever loaded; the
 * DVB names stay unconverted, which the document never shows anyway.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { resolveLocalFfprobe, runFfprobe } from "../../handlers/extractor/ffprobe";
import { ffprobeEnvironment, gconvFolder } from "../../handlers/extractor/ffprobe-sandbox";
import { ensureMedia, type MediaName, mismatches, runFfmpeg } from "../../media/media";

const MPEGTS: MediaName[] = ["ts-h264-aac", "ts-mpeg2-mp2", "ts-audio-aac"];

/** The gconv module cache the static build's glibc opens when GCONV_PATH is unset (a string in the binary). */
const BUILD_GCONV_CACHE = "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache";

interface DirectRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Runs the pinned ffprobe on `file` with exactly `env`, without the sandbox wrapper, core
 * dumps off (`ulimit -c 0` in /bin/sh, which adds nothing to the environment and execs).
 */
function probeDirectly(ffprobePath: string, file: string, env: NodeJS.ProcessEnv): Promise<DirectRun> {
  const args = ["-c", 'ulimit -c 0; exec "$@"', "sh", ffprobePath, "-v", "error", "-show_format", "-show_streams"];
  return new Promise((resolve) => {
    const child = execFile("/bin/sh", [...args, file], { env, timeout: 60_000 }, () => undefined);
    child.on("exit", (exitCode, signal) => resolve({ exitCode, signal }));
  });
}

describe("MPEG-TS with the pinned static ffprobe (GCONV_PATH)", function () {
  this.timeout(120_000);
  let ffprobePath: string;
  const files = new Map<MediaName, string>();

  before(async () => {
    ffprobePath = await resolveLocalFfprobe();
    for (const name of MPEGTS) files.set(name, await ensureMedia(name));
  });

  it("probes every MPEG-TS fixture (H.264/AAC, MPEG-2/MP2, audio-only) ok through runFfprobe: they crashed with SIGSEGV before the GCONV_PATH fix", async () => {
    for (const name of MPEGTS) {
      const run = await runFfprobe({ ffprobePath, input: files.get(name) ?? "", timeoutMs: 30_000 });
      expect(run.signal, `${name}: ${run.stderr}`).to.equal(null);
      expect(run.exitCode, `${name}: ${run.stderr}`).to.equal(0);
      expect(mismatches(name, run.output), name).to.deep.equal([]);
    }
  });

  it("documentation of cause: without GCONV_PATH the same ffprobe crashes (SIGSEGV) on MPEG-TS where the build's gconv cache path exists (this Debian host); with it, it does not", async () => {
    const sandboxEnv = ffprobeEnvironment(await gconvFolder());
    const { GCONV_PATH, ...withoutGconv } = sandboxEnv;
    expect(GCONV_PATH).to.be.a("string");
    const hostHasBuildGconv = existsSync(BUILD_GCONV_CACHE);
    for (const name of MPEGTS) {
      const file = files.get(name) ?? "";
      const bare = await probeDirectly(ffprobePath, file, withoutGconv);
      if (hostHasBuildGconv) {
        // The crash the fix removes: on Debian/Ubuntu x86_64 (this machine and CI).
        expect(bare, `${name} without GCONV_PATH`).to.deep.equal({ exitCode: null, signal: "SIGSEGV" });
      } else {
        // No foreign gconv modules at the build's path (e.g. Amazon Linux 2023 keeps them in /usr/lib64/gconv).
        expect(bare, `${name} without GCONV_PATH, no ${BUILD_GCONV_CACHE}`).to.deep.equal({
          exitCode: 0,
          signal: null,
        });
      }
      const fixed = await probeDirectly(ffprobePath, file, sandboxEnv);
      expect(fixed, `${name} with GCONV_PATH=<empty folder>`).to.deep.equal({ exitCode: 0, signal: null });
    }
  });

  it("probes MPEG-TS whose DVB service name is in a charset glibc would load a module for (0x0B, ISO-8859-15): GCONV_PATH does not hide the build's own gconv folder", async () => {
    // glibc appends its compiled-in gconv folder to GCONV_PATH and reads that folder's
    // gconv-modules file: on Debian it lists ISO-8859-15, so ffprobe dlopened the host's
    // ISO8859-15.so and libc.so.6 and crashed (SIGSEGV) with GCONV_PATH set to an empty folder.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-ts-charset-"));
    try {
      for (const prefix of ["\x0b", "\x05", "\x13", "\x14", ""]) {
        const file = path.join(dir, `service-${Buffer.from(prefix, "latin1").toString("hex") || "default"}.ts`);
        // ffmpeg 4.1 writes the service name's bytes as given: the first byte selects the DVB charset.
        await runFfmpeg([
          "-f",
          "lavfi",
          "-i",
          "sine=d=0.3",
          "-c:a",
          "mp2",
          "-metadata",
          `service_name=${prefix}Caf\u00e9 Fran\u00e7ais`,
          "-metadata",
          "service_provider=p",
          "-f",
          "mpegts",
          file,
        ]);
        const run = await runFfprobe({ ffprobePath, input: file, timeoutMs: 30_000 });
        expect(run.signal, `${file}: ${run.stderr}`).to.equal(null);
        expect(run.exitCode, `${file}: ${run.stderr}`).to.equal(0);
        expect(run.output?.streams?.[0]?.codec_name, file).to.equal("mp2");
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it("documentation of cause: the crash is MPEG-TS's iconv, not the environment as such (an MP4 probes fine without GCONV_PATH)", async () => {
    const { GCONV_PATH: _, ...withoutGconv } = ffprobeEnvironment(await gconvFolder());
    const mp4 = await ensureMedia("mp4-moov-end");
    expect(await probeDirectly(ffprobePath, mp4, withoutGconv)).to.deep.equal({ exitCode: 0, signal: null });
  });
});
