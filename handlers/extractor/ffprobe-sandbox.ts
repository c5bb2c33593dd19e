/**
 * What ffprobe may touch when it parses an upload: one object, through one loopback URL.
 *
 * Anyone who can put a file in the ingest bucket chooses what ffprobe parses. FFmpeg's
 * playlist, manifest and reference demuxers (HLS, DASH, concat, SDP, RTSP, image-sequence
 * patterns, lavfi...) open the URLs and files an input names: the "FFmpeg HLS/concat SSRF"
 * family, used against media services to reach internal addresses and read local files.
 * Three restrictions, each proven against the pinned build in tests/security/:
 *
 * - `-format_whitelist`: only self-contained container and image demuxers may open the input
 *   (FFmpeg checks it right after probing, in avformat_open_input, and refuses with "Format
 *   not on whitelist"; nested contexts inherit it). This is the restriction that holds: with
 *   the pinned build `-protocol_whitelist` alone did NOT stop the dash demuxer from opening
 *   a TCP connection.
 * - `-protocol_whitelist`: `http,tcp` for the loopback range proxy, `file` for a local path;
 *   never `file` and network together, never concat, subfile, data, crypto, udp, rtp, https.
 * - The child's environment is built here, not inherited: no AWS credentials or other
 *   secrets of the function, and `GCONV_PATH` pointing at an empty folder. The static build's
 *   iconv otherwise loads the host's gconv modules (built for another glibc) and crashes
 *   (SIGSEGV) on every MPEG-TS file; with an empty folder it behaves the same on Debian, in
 *   the lab and on Amazon Linux 2023.
 *
 * Memory: ffprobe runs under an address-space limit (RLIMIT_AS) set by `ulimit -v` in
 * /bin/sh, which then execs ffprobe (same pid, same process group). Node cannot set a
 * child's rlimits, and the Lambda nodejs22.x image (Amazon Linux 2023 minimal) ships bash
 * (/bin/sh) but not util-linux's prlimit; the lab's Debian /bin/sh (dash) has the same
 * builtin. Past the limit ffprobe's allocations fail and it exits with "Cannot allocate
 * memory" instead of taking the function down.
 */
import { constants } from "node:fs";
import { access, mkdir } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";

/**
 * Demuxers that read only the bytes they are given, covering what people upload: video
 * containers, audio files and still or animated images. Names as `ffprobe -demuxers` prints
 * them; FFmpeg matches each against every alias of a demuxer ("mov" covers mp4, m4a, 3gp).
 */
export const PROBE_DEMUXERS = [
  // Video containers
  "mov", // MP4, MOV (ProRes), M4A, 3GP; external data references (drefs) are off by default
  "matroska", // MKV, WebM
  "mpegts",
  "mpeg", // MPEG program stream (VOB, .mpg)
  "avi",
  "mxf",
  "flv",
  "asf", // WMV, WMA
  "ogg", // Vorbis, Opus, Theora, FLAC in Ogg
  "rm",
  "dv",
  "gxf",
  "nut",
  "ivf",
  "yuv4mpegpipe",
  // Elementary streams
  "h264",
  "hevc",
  "m4v",
  "mpegvideo",
  "obu",
  "mjpeg",
  // Audio
  "mp3",
  "aac", // ADTS
  "loas",
  "wav",
  "w64",
  "aiff",
  "caf",
  "flac",
  "ac3",
  "eac3",
  "dts",
  "dtshd",
  "truehd",
  "mlp",
  "amr",
  "amrnb",
  "amrwb",
  "au",
  "ape",
  "wv",
  "tta",
  "tak",
  "mpc",
  "mpc8",
  "dsf",
  // Images
  "png_pipe",
  "apng",
  "jpeg_pipe",
  "jpegls_pipe",
  "jpegxl_pipe",
  "gif",
  "gif_pipe",
  "webp_pipe",
  "tiff_pipe",
  "bmp_pipe",
  "psd_pipe",
  "dpx_pipe",
  "exr_pipe",
  "j2k_pipe",
  "hdr_pipe",
  "qoi_pipe",
  "pam_pipe",
  "pbm_pipe",
  "pgm_pipe",
  "ppm_pipe",
  "pcx_pipe",
  "sgi_pipe",
  "sunrast_pipe",
  "ico",
] as const;

/**
 * Demuxers that open other resources an input names: playlists, manifests, session
 * descriptions, reference lists, filename patterns, filter graphs. Never on the whitelist;
 * listed so that a refusal of one of them gets a reason that says so.
 */
export const REFERENCE_DEMUXERS: ReadonlySet<string> = new Set([
  "hls",
  "dash",
  "webm_dash_manifest",
  "concat",
  "sdp",
  "rtp",
  "rtsp",
  "sap",
  "imf",
  "image2",
  "lavfi",
]);

/** Protocols for an input: the loopback range proxy (http over tcp), or one local file. */
export function protocolWhitelist(input: string): string {
  return input.startsWith("http://") ? "http,tcp" : "file";
}

/** The restriction arguments, placed before the input. */
export function sandboxArgs(input: string): string[] {
  return [
    "-protocol_whitelist",
    protocolWhitelist(input),
    "-format_whitelist",
    PROBE_DEMUXERS.join(","),
    // One decoding thread: each thread costs stack and a malloc arena of address space, and
    // probing decodes only a few frames.
    "-threads",
    "1",
  ];
}

let emptyGconvDir: Promise<string> | undefined;

/** An empty folder for GCONV_PATH (under the OS temp folder: /tmp in Lambda). */
export function emptyGconvFolder(): Promise<string> {
  emptyGconvDir ??= (async () => {
    const dir = path.join(os.tmpdir(), "media-pipeline-gconv-empty");
    await mkdir(dir, { recursive: true });
    return dir;
  })();
  return emptyGconvDir;
}

/**
 * The whole environment of an ffprobe child: nothing of the parent's (no AWS_* credentials,
 * no secrets), the C locale, few malloc arenas (each reserves 64 MiB of address space).
 */
export function ffprobeEnvironment(gconvDir: string): NodeJS.ProcessEnv {
  return { GCONV_PATH: gconvDir, LC_ALL: "C", MALLOC_ARENA_MAX: "2" };
}

/** The shell that applies the memory limit (bash on Amazon Linux 2023, dash on Debian). */
export const LIMIT_SHELL = "/bin/sh";

/** Exit code of the wrapper when the limit cannot be set: an environment fault, never the object's. */
export const LIMIT_NOT_APPLIED_EXIT = 125;

/**
 * The command that runs `binary args` under an address-space limit of `limitMiB`:
 * `/bin/sh -c 'ulimit -v KiB || exit 125; exec "$@"'`. The shell execs, so the limit holds
 * for ffprobe itself and the pid (and process group) are ffprobe's.
 */
export function limitedCommand(binary: string, args: string[], limitMiB: number): { file: string; args: string[] } {
  const script = `ulimit -v ${Math.floor(limitMiB * 1024)} || exit ${LIMIT_NOT_APPLIED_EXIT}; exec "$@"`;
  return { file: LIMIT_SHELL, args: ["-c", script, "ffprobe-sandbox", binary, ...args] };
}

/** Fails at start-up, not per object, when the memory limit could not be applied here. */
export async function checkSandboxAvailable(): Promise<void> {
  try {
    await access(LIMIT_SHELL, constants.X_OK);
  } catch {
    throw new Error(`${LIMIT_SHELL} is missing: ffprobe cannot be run under its memory limit`);
  }
}

/** The demuxer a "Format not on whitelist" refusal names (`[dash @ 0x...] Format not on whitelist`). */
export function refusedDemuxer(stderr: string): string | undefined {
  const m = /\[([a-z0-9_,]+) @ 0x[0-9a-f]+\] Format not on whitelist/i.exec(stderr);
  return m ? m[1] : undefined;
}
