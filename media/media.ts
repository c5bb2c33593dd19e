/**
 * Test media, generated at test time with the npm static ffmpeg (4.1) and cached.
 *
 *   const file = await ensureMedia("mp4-moov-end");   // .cache/media/mp4-moov-end-<hash>.mp4
 *   EXPECTED["mp4-moov-end"]                           // what the pinned ffprobe reports for it
 *
 * Every file is small (a few seconds, low resolution) and made once: its name carries a
 * hash of its recipe (and of the recipes it derives from), so changing a recipe makes a new
 * file and an unchanged one is reused across runs and processes. A file is written under a
 * temp name and renamed into place, so a killed run never leaves a half file behind.
 * Encoders run single-threaded with bitexact flags, so the bytes are reproducible.
 *
 * Besides the files that exercise particular code paths, there is one (1 s, 160x120 or 64x48)
 * for each format people upload (issue 10, point 5): MP4, MOV/ProRes, Matroska and WebM with
 * subtitle tracks, MPEG-TS (H.264/AAC, MPEG-2/MP2, audio-only), MPEG-PS, AVI, MXF, FLV,
 * ASF/WMV, MP3, AAC (ADTS), M4A with cover art, Ogg Vorbis and Opus, FLAC, WAV, AIFF, AC-3,
 * PNG, GIF, JPEG, WebP and TIFF. Each must stay readable under the probe sandbox's format
 * whitelist (handlers/extractor/ffprobe-sandbox.ts).
 *
 * The `EXPECTED` table holds, per file, what it exercises and the facts the pinned ffprobe
 * (handlers/extractor/ffprobe.ts) reports on it; tests/media/media.test.ts checks the table
 * against real probes, so tests elsewhere can assert these facts with confidence.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../lib/repo-root";
import { npmBinary } from "./executable";

/** Where generated media live. */
export const MEDIA_DIR = path.join(REPO_ROOT, ".cache", "media");

/** Bump to regenerate everything (e.g. after changing shared flags below). */
const GENERATOR_VERSION = 1;

const FFMPEG_PACKAGE = "@ffmpeg-installer/linux-x64";

/** The npm static ffmpeg (4.1), with its execute bit ensured (media/executable.ts). */
export function ffmpegPath(): Promise<string> {
  return npmBinary(FFMPEG_PACKAGE, "ffmpeg");
}

// ---------------------------------------------------------------------------------------
// What each file is expected to look like to the pinned ffprobe
// ---------------------------------------------------------------------------------------

/** One stream as ffprobe reports it (`-show_streams`), in ffprobe's stream order. */
export interface ExpectedStream {
  /** ffprobe `codec_type`. */
  codecType: "video" | "audio" | "subtitle";
  /** ffprobe `codec_name`. */
  codecName: string;
  /** ffprobe `profile` (e.g. "Proxy" for ProRes 422 Proxy). */
  profile?: string;
  width?: number;
  height?: number;
  channels?: number;
  /** Hz (ffprobe prints it as a string). */
  sampleRate?: number;
  /** `tags.language`. */
  language?: string;
  /** `tags.title`. */
  title?: string;
  /** `side_data_list[].rotation` of the Display Matrix, as the pinned ffprobe prints it. */
  rotation?: number;
  /** `disposition.attached_pic` is 1 (cover art). */
  attachedPic?: boolean;
}

export interface ExpectedOk {
  ok: true;
  /** A substring of `format.format_name` (e.g. "mp4" in "mov,mp4,m4a,3gp,3g2,mj2"). */
  formatName: string;
  /** `format.duration` in seconds, ± DURATION_TOLERANCE_S; absent for still images (no duration). */
  durationS?: number;
  streams: ExpectedStream[];
  /** Container tags (`format.tags`) with exact values. */
  formatTags?: Record<string, string>;
  /** A container tag whose value is at least this long (characters). */
  longTag?: { key: string; minChars: number };
}

export interface ExpectedFailure {
  ok: false;
  /** Why ffprobe cannot read it. ffprobe exits non-zero and prints no streams. */
  reason: string;
  /** What ffprobe prints on stderr for the local file (with the file's extension as a format hint). */
  localStderr: RegExp;
}

export type ExpectedProbe = ExpectedOk | ExpectedFailure;

export interface MediaCase {
  /** File extension (without dot): the one a user would give such a file. */
  ext: string;
  /** What the file is and which code path it exercises. */
  exercises: string;
  /** Plausible size bounds, bytes (inclusive). */
  bytes: [min: number, max: number];
  probe: ExpectedProbe;
}

export const DURATION_TOLERANCE_S = 0.15;

const H264_320x240 = { codecType: "video", codecName: "h264", width: 320, height: 240 } as const;
const AAC_MONO = { codecType: "audio", codecName: "aac", channels: 1, sampleRate: 44100 } as const;
const MP4 = "mp4";
const MOOV_NOT_FOUND = /moov atom not found/;
// The format-breadth fixtures (issue 10, point 5): 1 s, 160x120 video, mono audio, 64x48 images.
const H264_160x120 = { codecType: "video", codecName: "h264", width: 160, height: 120 } as const;
const MPEG2_160x120 = { codecType: "video", codecName: "mpeg2video", width: 160, height: 120 } as const;
const MP2_MONO_48K = { codecType: "audio", codecName: "mp2", channels: 1, sampleRate: 48000 } as const;

export const EXPECTED = {
  "mp4-moov-end": {
    ext: "mp4",
    exercises:
      "ffmpeg's default MP4 layout: ftyp, mdat, then moov at the END; an in-place reader must seek to the tail. 2 s H.264 320x240 15 fps + AAC mono.",
    bytes: [20_000, 200_000],
    probe: { ok: true, formatName: MP4, durationS: 2, streams: [H264_320x240, AAC_MONO] },
  },
  "mp4-faststart": {
    ext: "mp4",
    exercises: "The same clip with -movflags +faststart: moov BEFORE mdat (web-optimized), read from the head only.",
    bytes: [20_000, 200_000],
    probe: { ok: true, formatName: MP4, durationS: 2, streams: [H264_320x240, AAC_MONO] },
  },
  "mp4-fragmented": {
    ext: "mp4",
    exercises:
      "Fragmented MP4 (-movflags frag_keyframe+empty_moov): an empty moov at the start, then moof/mdat pairs; duration comes from the fragments.",
    bytes: [20_000, 200_000],
    probe: { ok: true, formatName: MP4, durationS: 2, streams: [H264_320x240, AAC_MONO] },
  },
  "mp4-rotated": {
    ext: "mp4",
    exercises:
      "mp4-moov-end re-muxed (-c copy) with -metadata:s:v:0 rotate=90: a tkhd display matrix. The pinned ffprobe reports side_data Display Matrix rotation 90 (ffmpeg 4.1 itself reads it back as rotate=270). Coded size stays 320x240.",
    bytes: [20_000, 200_000],
    probe: {
      ok: true,
      formatName: MP4,
      durationS: 2,
      streams: [{ ...H264_320x240, rotation: 90 }, AAC_MONO],
    },
  },
  "mkv-two-audio": {
    ext: "mkv",
    exercises:
      "Matroska with one video and TWO audio streams carrying languages and titles (eng AAC 'English', fra MP3 'Français': a non-ASCII tag).",
    bytes: [20_000, 300_000],
    probe: {
      ok: true,
      formatName: "matroska",
      durationS: 2,
      streams: [
        H264_320x240,
        { ...AAC_MONO, language: "eng", title: "English" },
        { codecType: "audio", codecName: "mp3", channels: 1, sampleRate: 44100, language: "fra", title: "Français" },
      ],
    },
  },
  "webm-vp9-opus": {
    ext: "webm",
    exercises: "WebM: VP9 video 160x120 + Opus audio, 1 s (format name 'matroska,webm').",
    bytes: [2_000, 200_000],
    probe: {
      ok: true,
      formatName: "webm",
      durationS: 1,
      streams: [
        { codecType: "video", codecName: "vp9", width: 160, height: 120 },
        { codecType: "audio", codecName: "opus", channels: 1, sampleRate: 48000 },
      ],
    },
  },
  "mp3-big-id3": {
    ext: "mp3",
    exercises:
      "MP3 behind an ID3v2.3 tag of ~560 KB (title, artist, album, a 550 000-character COMM comment, and a PNG cover as APIC): ffprobe must read past a tag larger than 400 KB before the first audio frame; the document must bound the huge tag; the cover shows as a video stream with disposition attached_pic.",
    bytes: [450_000, 700_000],
    probe: {
      ok: true,
      formatName: "mp3",
      durationS: 2,
      streams: [
        { codecType: "audio", codecName: "mp3", channels: 1, sampleRate: 44100 },
        { codecType: "video", codecName: "png", width: 64, height: 48, attachedPic: true },
      ],
      formatTags: { title: "Big Tag Fixture", artist: "media-pipeline tests", album: "Fixtures" },
      longTag: { key: "comment", minChars: 500_000 },
    },
  },
  wav: {
    ext: "wav",
    exercises: "WAV, PCM s16le mono 44.1 kHz, 1 s sine: plain uncompressed audio.",
    bytes: [80_000, 100_000],
    probe: {
      ok: true,
      formatName: "wav",
      durationS: 1,
      streams: [{ codecType: "audio", codecName: "pcm_s16le", channels: 1, sampleRate: 44100 }],
    },
  },
  flac: {
    ext: "flac",
    exercises: "FLAC mono 44.1 kHz, 1 s sine: lossless audio in its own container.",
    bytes: [5_000, 100_000],
    probe: {
      ok: true,
      formatName: "flac",
      durationS: 1,
      streams: [{ codecType: "audio", codecName: "flac", channels: 1, sampleRate: 44100 }],
    },
  },
  png: {
    ext: "png",
    exercises: "A single 64x48 PNG still image: format 'png_pipe', one video stream, no duration.",
    bytes: [100, 20_000],
    probe: { ok: true, formatName: "png", streams: [{ codecType: "video", codecName: "png", width: 64, height: 48 }] },
  },
  gif: {
    ext: "gif",
    exercises: "An animated GIF: 5 frames of 64x48 at 5 fps (1 s), looping.",
    bytes: [500, 50_000],
    probe: {
      ok: true,
      formatName: "gif",
      durationS: 1,
      streams: [{ codecType: "video", codecName: "gif", width: 64, height: 48 }],
    },
  },
  "mov-prores": {
    ext: "mov",
    exercises:
      "QuickTime MOV as editors export it: ProRes 422 Proxy (prores_ks, fourcc apco) 160x120 15 fps + PCM s16le mono, 1 s.",
    bytes: [50_000, 400_000],
    probe: {
      ok: true,
      formatName: "mov",
      durationS: 1,
      streams: [
        { codecType: "video", codecName: "prores", profile: "Proxy", width: 160, height: 120 },
        { codecType: "audio", codecName: "pcm_s16le", channels: 1, sampleRate: 44100 },
      ],
    },
  },
  "mkv-subtitles": {
    ext: "mkv",
    exercises:
      "Matroska with H.264 + AAC and TWO subtitle tracks: SubRip (srt, eng 'English') and ASS (fra 'Français'), 1 s.",
    bytes: [5_000, 100_000],
    probe: {
      ok: true,
      formatName: "matroska",
      durationS: 1,
      streams: [
        H264_160x120,
        AAC_MONO,
        { codecType: "subtitle", codecName: "subrip", language: "eng", title: "English" },
        { codecType: "subtitle", codecName: "ass", language: "fra", title: "Français" },
      ],
    },
  },
  "webm-webvtt": {
    ext: "webm",
    exercises: "WebM with VP8 160x120 + Vorbis mono 48 kHz and a WebVTT subtitle track (eng), 1 s.",
    bytes: [3_000, 100_000],
    probe: {
      ok: true,
      formatName: "webm",
      durationS: 1,
      streams: [
        { codecType: "video", codecName: "vp8", width: 160, height: 120 },
        { codecType: "audio", codecName: "vorbis", channels: 1, sampleRate: 48000 },
        { codecType: "subtitle", codecName: "webvtt", language: "eng" },
      ],
    },
  },
  "ts-h264-aac": {
    ext: "ts",
    exercises:
      "MPEG-TS with H.264 + AAC (HLS segments, camcorder .mts), 1 s. The pinned static ffprobe crashed (SIGSEGV) on every MPEG-TS file until its environment got an empty GCONV_PATH.",
    bytes: [10_000, 100_000],
    probe: { ok: true, formatName: "mpegts", durationS: 1, streams: [H264_160x120, AAC_MONO] },
  },
  "ts-mpeg2-mp2": {
    ext: "ts",
    exercises: "MPEG-TS as broadcast recordings carry it: MPEG-2 video 160x120 + MP2 mono 48 kHz, 1 s.",
    bytes: [10_000, 150_000],
    probe: { ok: true, formatName: "mpegts", durationS: 1, streams: [MPEG2_160x120, MP2_MONO_48K] },
  },
  "ts-audio-aac": {
    ext: "ts",
    exercises:
      "Audio-only MPEG-TS (an HLS audio rendition): AAC mono, 1 s, one AAC frame per PES packet (-pes_payload_size 0; with ffmpeg's default of ~0.37 s of audio per PES, ffprobe's duration of a 1 s file reads 0.70 s).",
    bytes: [3_000, 60_000],
    probe: { ok: true, formatName: "mpegts", durationS: 1, streams: [AAC_MONO] },
  },
  "mpeg-ps": {
    ext: "mpg",
    exercises: "MPEG-2 program stream (DVD VOB / .mpg, ffmpeg's 'vob' muxer): MPEG-2 video + MP2, 1 s.",
    bytes: [10_000, 150_000],
    probe: { ok: true, formatName: "mpeg", durationS: 1, streams: [MPEG2_160x120, MP2_MONO_48K] },
  },
  avi: {
    ext: "avi",
    exercises: "AVI with MPEG-4 Part 2 video 160x120 + MP3 mono, 1 s (the classic DivX/Xvid shape).",
    bytes: [10_000, 150_000],
    probe: {
      ok: true,
      formatName: "avi",
      durationS: 1,
      streams: [
        { codecType: "video", codecName: "mpeg4", width: 160, height: 120 },
        { codecType: "audio", codecName: "mp3", channels: 1, sampleRate: 44100 },
      ],
    },
  },
  mxf: {
    ext: "mxf",
    exercises:
      "MXF OP1a (broadcast/camera exchange): MPEG-2 video 160x120 at 25 fps (ffmpeg 4.1's MXF muxer refuses 15 fps) + PCM s16le mono 48 kHz, 1 s.",
    bytes: [50_000, 400_000],
    probe: {
      ok: true,
      formatName: "mxf",
      durationS: 1,
      streams: [MPEG2_160x120, { codecType: "audio", codecName: "pcm_s16le", channels: 1, sampleRate: 48000 }],
    },
  },
  flv: {
    ext: "flv",
    exercises: "FLV (Flash video, RTMP recordings) with H.264 + AAC, 1 s.",
    bytes: [5_000, 100_000],
    probe: { ok: true, formatName: "flv", durationS: 1, streams: [H264_160x120, AAC_MONO] },
  },
  wmv: {
    ext: "wmv",
    exercises: "ASF/WMV: Windows Media Video 8 (wmv2) 160x120 + Windows Media Audio 2 (wmav2) mono, 1 s.",
    bytes: [10_000, 150_000],
    probe: {
      ok: true,
      formatName: "asf",
      durationS: 1,
      streams: [
        { codecType: "video", codecName: "wmv2", width: 160, height: 120 },
        { codecType: "audio", codecName: "wmav2", channels: 1, sampleRate: 44100 },
      ],
    },
  },
  "mp3-plain": {
    ext: "mp3",
    exercises:
      "A bare MP3 (no ID3 tag at all), mono 64 kb/s, 1 s: found by its frame headers alone, as over the proxy (no file name).",
    bytes: [4_000, 30_000],
    probe: {
      ok: true,
      formatName: "mp3",
      durationS: 1,
      streams: [{ codecType: "audio", codecName: "mp3", channels: 1, sampleRate: 44100 }],
    },
  },
  "aac-adts": {
    ext: "aac",
    exercises: "Raw AAC in ADTS frames (.aac), mono, 1 s.",
    bytes: [4_000, 30_000],
    probe: { ok: true, formatName: "aac", durationS: 1, streams: [AAC_MONO] },
  },
  "m4a-cover": {
    ext: "m4a",
    exercises:
      "M4A (ffmpeg's 'ipod' muxer) with AAC mono and the 64x48 PNG as cover art: the cover is a video stream with disposition attached_pic, and the document's kind stays audio.",
    bytes: [4_000, 40_000],
    probe: {
      ok: true,
      formatName: "m4a",
      durationS: 1,
      streams: [AAC_MONO, { codecType: "video", codecName: "png", width: 64, height: 48, attachedPic: true }],
    },
  },
  "ogg-vorbis": {
    ext: "ogg",
    exercises: "Ogg Vorbis (libvorbis) mono 44.1 kHz, 1 s.",
    bytes: [2_000, 30_000],
    probe: {
      ok: true,
      formatName: "ogg",
      durationS: 1,
      streams: [{ codecType: "audio", codecName: "vorbis", channels: 1, sampleRate: 44100 }],
    },
  },
  "ogg-opus": {
    ext: "opus",
    exercises: "Ogg Opus (libopus, .opus) mono 48 kHz, 1 s.",
    bytes: [2_000, 30_000],
    probe: {
      ok: true,
      formatName: "ogg",
      durationS: 1,
      streams: [{ codecType: "audio", codecName: "opus", channels: 1, sampleRate: 48000 }],
    },
  },
  aiff: {
    ext: "aiff",
    exercises: "AIFF, PCM s16be mono 44.1 kHz, 1 s (the Mac counterpart of WAV).",
    bytes: [88_200, 90_000],
    probe: {
      ok: true,
      formatName: "aiff",
      durationS: 1,
      streams: [{ codecType: "audio", codecName: "pcm_s16be", channels: 1, sampleRate: 44100 }],
    },
  },
  ac3: {
    ext: "ac3",
    exercises: "Raw AC-3 (Dolby Digital) elementary stream, mono 48 kHz 96 kb/s, 1 s.",
    bytes: [5_000, 30_000],
    probe: {
      ok: true,
      formatName: "ac3",
      durationS: 1,
      streams: [{ codecType: "audio", codecName: "ac3", channels: 1, sampleRate: 48000 }],
    },
  },
  jpeg: {
    ext: "jpg",
    exercises: "A single 64x48 baseline JPEG (format 'jpeg_pipe', codec mjpeg), no duration.",
    bytes: [300, 20_000],
    probe: {
      ok: true,
      formatName: "jpeg_pipe",
      streams: [{ codecType: "video", codecName: "mjpeg", width: 64, height: 48 }],
    },
  },
  webp: {
    ext: "webp",
    exercises: "A single 64x48 lossy WebP still (libwebp; format 'webp_pipe'), no duration.",
    bytes: [100, 20_000],
    probe: {
      ok: true,
      formatName: "webp_pipe",
      streams: [{ codecType: "video", codecName: "webp", width: 64, height: 48 }],
    },
  },
  tiff: {
    ext: "tiff",
    exercises: "A single 64x48 RGB TIFF (format 'tiff_pipe'), no duration.",
    bytes: [1_000, 30_000],
    probe: {
      ok: true,
      formatName: "tiff_pipe",
      streams: [{ codecType: "video", codecName: "tiff", width: 64, height: 48 }],
    },
  },
  "mp4-truncated": {
    ext: "mp4",
    exercises: "mp4-moov-end cut to half its bytes: the moov atom at the end is lost (an interrupted upload).",
    bytes: [10_000, 100_000],
    probe: { ok: false, reason: "moov atom lost with the second half", localStderr: MOOV_NOT_FOUND },
  },
  empty: {
    ext: "mp4",
    exercises: "A 0-byte file named .mp4 (the extractor must not even run ffprobe on it).",
    bytes: [0, 0],
    probe: { ok: false, reason: "no bytes at all", localStderr: /Invalid data|moov atom not found/ },
  },
  "text-as-mp4": {
    ext: "mp4",
    exercises: "A short UTF-8 text file named .mp4: not media, whatever the name says.",
    bytes: [50, 1_000],
    probe: { ok: false, reason: "plain text, not media", localStderr: /Invalid data|moov atom not found/ },
  },
  "random-as-mov": {
    ext: "mov",
    exercises: "64 KiB of (seeded, reproducible) pseudo-random bytes named .mov: garbage with a media name.",
    bytes: [65_536, 65_536],
    probe: { ok: false, reason: "random bytes, no container", localStderr: /Invalid data|moov atom not found/ },
  },
} as const satisfies Record<string, MediaCase>;

export type MediaName = keyof typeof EXPECTED;

export const MEDIA_NAMES = Object.keys(EXPECTED) as MediaName[];

/** The parts of ffprobe's JSON compared against `EXPECTED` (a subset of FfprobeOutput). */
export interface ProbedFacts {
  format?: { format_name?: string; duration?: string; tags?: Record<string, string> };
  streams?: {
    codec_type?: string;
    codec_name?: string;
    profile?: string;
    width?: number;
    height?: number;
    channels?: number;
    sample_rate?: string;
    tags?: Record<string, string>;
    disposition?: Record<string, number>;
    side_data_list?: { side_data_type?: string; rotation?: number }[];
  }[];
}

/**
 * Compares ffprobe's JSON for `name` with `EXPECTED[name].probe`; returns the mismatches
 * (empty when it matches). For a failure case, only "no streams" is checked here.
 */
export function mismatches(name: MediaName, out: ProbedFacts | undefined): string[] {
  const want: ExpectedProbe = EXPECTED[name].probe;
  const errs: string[] = [];
  if (!want.ok) {
    if ((out?.streams?.length ?? 0) > 0) errs.push(`expected no streams, got ${out?.streams?.length}`);
    return errs;
  }
  if (!out?.format) return ["no format in the ffprobe output"];
  const fmt = out.format;
  if (!fmt.format_name?.includes(want.formatName)) errs.push(`format_name ${fmt.format_name} lacks ${want.formatName}`);
  if (want.durationS !== undefined) {
    const d = Number(fmt.duration);
    if (!(Math.abs(d - want.durationS) <= DURATION_TOLERANCE_S))
      errs.push(`duration ${fmt.duration} != ~${want.durationS}`);
  }
  for (const [k, v] of Object.entries(want.formatTags ?? {})) {
    if (fmt.tags?.[k] !== v)
      errs.push(`format tag ${k}=${JSON.stringify(fmt.tags?.[k])}, expected ${JSON.stringify(v)}`);
  }
  if (want.longTag) {
    const len = fmt.tags?.[want.longTag.key]?.length ?? 0;
    if (len < want.longTag.minChars)
      errs.push(`format tag ${want.longTag.key} has ${len} chars < ${want.longTag.minChars}`);
  }
  const streams = out.streams ?? [];
  if (streams.length !== want.streams.length) errs.push(`${streams.length} streams, expected ${want.streams.length}`);
  want.streams.forEach((w: ExpectedStream, i) => {
    const s = streams[i];
    if (!s) return;
    const got: Record<string, unknown> = {
      codecType: s.codec_type,
      codecName: s.codec_name,
      profile: s.profile,
      width: s.width,
      height: s.height,
      channels: s.channels,
      sampleRate: s.sample_rate === undefined ? undefined : Number(s.sample_rate),
      language: s.tags?.language,
      title: s.tags?.title,
      rotation: s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation,
      attachedPic: s.disposition?.attached_pic === 1,
    };
    for (const [k, v] of Object.entries(w)) {
      if (got[k] !== v) errs.push(`stream ${i} ${k}=${JSON.stringify(got[k])}, expected ${JSON.stringify(v)}`);
    }
  });
  return errs;
}

// ---------------------------------------------------------------------------------------
// Recipes
// ---------------------------------------------------------------------------------------

interface Recipe {
  /** Media this one is derived from. */
  deps?: MediaName[];
  /** Everything that determines the output besides deps (goes into the cache key). */
  spec: unknown;
  /** Writes the file to `out` (a temp path with the right extension). */
  make(out: string, dep: (name: MediaName) => string): Promise<void>;
}

/** Flags every ffmpeg run gets: quiet, no prompts, one thread, no version strings in the output. */
const FF_HEAD = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-threads", "1"];
const FF_BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"];

const CLIP_INPUTS = ["-f", "lavfi", "-i", "testsrc=s=320x240:r=15:d=2", "-f", "lavfi", "-i", "sine=f=440:r=44100:d=2"];
const CLIP_CODECS = [
  ...["-map", "0:v", "-map", "1:a"],
  ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
  ...["-c:a", "aac", "-b:a", "64k", "-ac", "1"],
];

/** A recipe that is one ffmpeg run: `args` (output options included), then `-f <format> <out>`. */
function ffmpeg(format: string, args: string[], deps: MediaName[] = []): Recipe {
  return {
    deps,
    spec: { format, args },
    async make(out, dep) {
      const resolved = args.map((a) => a.replace(/^\{(.+)\}$/, (_, name: MediaName) => dep(name)));
      await runFfmpeg([...FF_HEAD, ...resolved, ...FF_BITEXACT, "-f", format, out]);
    },
  };
}

/** Like ffmpeg(), with text inputs (subtitles) written beside the output first; `{text:N}` in args is the Nth one's path. */
function ffmpegWithTexts(format: string, texts: { ext: string; text: string }[], args: string[]): Recipe {
  return {
    spec: { format, args, texts },
    async make(out) {
      const files = texts.map((t, i) => `${out}.in${i}.${t.ext}`);
      try {
        await Promise.all(texts.map((t, i) => fs.writeFile(files[i], t.text)));
        const resolved = args.map((a) => a.replace(/^\{text:(\d+)\}$/, (_, i: string) => files[Number(i)]));
        await runFfmpeg([...FF_HEAD, ...resolved, ...FF_BITEXACT, "-f", format, out]);
      } finally {
        await Promise.all(files.map((f) => fs.rm(f, { force: true })));
      }
    },
  };
}

/** 1 s of 160x120 15 fps test pattern (input 0) and a 440 Hz tone at 44.1 kHz (input 1). */
const CLIP_1S_INPUTS = [
  ...["-f", "lavfi", "-i", "testsrc=s=160x120:r=15:d=1"],
  ...["-f", "lavfi", "-i", "sine=f=440:r=44100:d=1"],
];
/** The same picture with the tone at 48 kHz (MP2, as broadcast and DVD carry it). */
const MPEG2_1S_INPUTS = [
  ...["-f", "lavfi", "-i", "testsrc=s=160x120:r=15:d=1"],
  ...["-f", "lavfi", "-i", "sine=f=440:r=48000:d=1"],
];
const MPEG2_MP2_CODECS = [
  ...["-map", "0:v", "-map", "1:a", "-c:v", "mpeg2video", "-b:v", "300k"],
  ...["-c:a", "mp2", "-b:a", "64k", "-ac", "1"],
];
const STILL_64x48_INPUT = ["-f", "lavfi", "-i", "testsrc=s=64x48:r=1:d=1", "-frames:v", "1"];
const SUBRIP_TEXT = "1\n00:00:00,000 --> 00:00:00,800\nHello from a media-pipeline fixture\n";
const WEBVTT_TEXT = "WEBVTT\n\n00:00:00.000 --> 00:00:00.800\nHello from a media-pipeline fixture\n";

const BIG_COMMENT_CHARS = 550_000;
const NOT_MEDIA_TEXT =
  "This is not a video.\nIt is a text file named .mp4, a media-pipeline test fixture.\nNothing here is media.\n";

const RECIPES: Record<MediaName, Recipe> = {
  "mp4-moov-end": ffmpeg("mp4", [...CLIP_INPUTS, ...CLIP_CODECS]),
  "mp4-faststart": ffmpeg("mp4", [...CLIP_INPUTS, ...CLIP_CODECS, "-movflags", "+faststart"]),
  "mp4-fragmented": ffmpeg("mp4", [...CLIP_INPUTS, ...CLIP_CODECS, "-movflags", "frag_keyframe+empty_moov"]),
  // ffmpeg 4.1 ignores the rotate tag when encoding; a stream copy writes the matrix.
  "mp4-rotated": ffmpeg(
    "mp4",
    ["-i", "{mp4-moov-end}", "-c", "copy", "-metadata:s:v:0", "rotate=90"],
    ["mp4-moov-end"],
  ),
  "mkv-two-audio": ffmpeg("matroska", [
    ...["-f", "lavfi", "-i", "testsrc=s=320x240:r=15:d=2"],
    ...["-f", "lavfi", "-i", "sine=f=440:r=44100:d=2", "-f", "lavfi", "-i", "sine=f=660:r=44100:d=2"],
    ...["-map", "0:v", "-map", "1:a", "-map", "2:a"],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    ...["-c:a:0", "aac", "-b:a:0", "64k", "-c:a:1", "libmp3lame", "-b:a:1", "64k", "-ac", "1"],
    ...["-metadata:s:a:0", "language=eng", "-metadata:s:a:0", "title=English"],
    ...["-metadata:s:a:1", "language=fra", "-metadata:s:a:1", "title=Français"],
  ]),
  "webm-vp9-opus": ffmpeg("webm", [
    ...["-f", "lavfi", "-i", "testsrc=s=160x120:r=15:d=1", "-f", "lavfi", "-i", "sine=f=440:r=48000:d=1"],
    ...["-map", "0:v", "-map", "1:a"],
    ...["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k"],
    ...["-c:a", "libopus", "-b:a", "32k", "-ac", "1"],
  ]),
  "mp3-big-id3": {
    deps: ["png"],
    spec: { v: 1, commentChars: BIG_COMMENT_CHARS, audio: "sine 2 s libmp3lame 64k mono, no ffmpeg ID3" },
    async make(out, dep) {
      // ffmpeg's ffmetadata reader cuts values at ~1 KB and command-line arguments are limited
      // to 128 KiB each, so the ID3v2 tag is written here and put in front of a tagless MP3.
      const audio = `${out}.audio.mp3`;
      try {
        await runFfmpeg([
          ...FF_HEAD,
          ...["-f", "lavfi", "-i", "sine=f=440:r=44100:d=2"],
          ...["-c:a", "libmp3lame", "-b:a", "64k", "-ac", "1", "-id3v2_version", "0", "-write_id3v1", "0"],
          ...FF_BITEXACT,
          ...["-f", "mp3", audio],
        ]);
        const tag = id3v2Tag([
          textFrame("TIT2", "Big Tag Fixture"),
          textFrame("TPE1", "media-pipeline tests"),
          textFrame("TALB", "Fixtures"),
          commentFrame(bigText(BIG_COMMENT_CHARS)),
          pictureFrame("image/png", await fs.readFile(dep("png")), "Cover (front)"),
        ]);
        await fs.writeFile(out, Buffer.concat([tag, await fs.readFile(audio)]));
      } finally {
        await fs.rm(audio, { force: true });
      }
    },
  },
  wav: ffmpeg("wav", ["-f", "lavfi", "-i", "sine=f=440:r=44100:d=1", "-c:a", "pcm_s16le"]),
  flac: ffmpeg("flac", ["-f", "lavfi", "-i", "sine=f=440:r=44100:d=1", "-c:a", "flac"]),
  png: ffmpeg("image2", [
    "-f",
    "lavfi",
    "-i",
    "testsrc=s=64x48:r=1:d=1",
    "-frames:v",
    "1",
    "-c:v",
    "png",
    "-update",
    "1",
  ]),
  gif: ffmpeg("gif", ["-f", "lavfi", "-i", "testsrc=s=64x48:r=5:d=1", "-c:v", "gif", "-loop", "0"]),
  "mov-prores": ffmpeg("mov", [
    ...CLIP_1S_INPUTS,
    ...["-map", "0:v", "-map", "1:a", "-c:v", "prores_ks", "-profile:v", "0", "-c:a", "pcm_s16le", "-ac", "1"],
  ]),
  "mkv-subtitles": ffmpegWithTexts(
    "matroska",
    [{ ext: "srt", text: SUBRIP_TEXT }],
    [
      ...[...CLIP_1S_INPUTS, "-i", "{text:0}"],
      ...CLIP_CODECS, // maps 0:v and 1:a
      ...["-map", "2:s", "-map", "2:s", "-c:s:0", "srt", "-c:s:1", "ass"],
      ...["-metadata:s:s:0", "language=eng", "-metadata:s:s:0", "title=English"],
      ...["-metadata:s:s:1", "language=fra", "-metadata:s:s:1", "title=Français"],
    ],
  ),
  "webm-webvtt": ffmpegWithTexts(
    "webm",
    [{ ext: "vtt", text: WEBVTT_TEXT }],
    [
      ...["-f", "lavfi", "-i", "testsrc=s=160x120:r=15:d=1", "-f", "lavfi", "-i", "sine=f=440:r=48000:d=1"],
      ...["-i", "{text:0}", "-map", "0:v", "-map", "1:a", "-map", "2:s"],
      ...["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "100k"],
      ...["-c:a", "libvorbis", "-ac", "1", "-c:s", "webvtt", "-metadata:s:s:0", "language=eng"],
    ],
  ),
  "ts-h264-aac": ffmpeg("mpegts", [...CLIP_1S_INPUTS, ...CLIP_CODECS]),
  "ts-mpeg2-mp2": ffmpeg("mpegts", [...MPEG2_1S_INPUTS, ...MPEG2_MP2_CODECS]),
  "ts-audio-aac": ffmpeg("mpegts", [
    ...["-f", "lavfi", "-i", "sine=f=440:r=44100:d=1", "-c:a", "aac", "-b:a", "64k", "-ac", "1"],
    ...["-pes_payload_size", "0"],
  ]),
  "mpeg-ps": ffmpeg("vob", [...MPEG2_1S_INPUTS, ...MPEG2_MP2_CODECS]),
  avi: ffmpeg("avi", [
    ...CLIP_1S_INPUTS,
    ...["-map", "0:v", "-map", "1:a", "-c:v", "mpeg4", "-c:a", "libmp3lame", "-b:a", "64k", "-ac", "1"],
  ]),
  // ffmpeg 4.1's MXF muxer takes only broadcast frame rates (25, 29.97, ...) and 48 kHz PCM.
  mxf: ffmpeg("mxf", [
    ...["-f", "lavfi", "-i", "testsrc=s=160x120:r=25:d=1", "-f", "lavfi", "-i", "sine=f=440:r=48000:d=1"],
    ...["-map", "0:v", "-map", "1:a", "-c:v", "mpeg2video", "-b:v", "300k", "-c:a", "pcm_s16le", "-ac", "1"],
  ]),
  flv: ffmpeg("flv", [...CLIP_1S_INPUTS, ...CLIP_CODECS]),
  wmv: ffmpeg("asf", [
    ...CLIP_1S_INPUTS,
    ...["-map", "0:v", "-map", "1:a", "-c:v", "wmv2", "-b:v", "200k", "-c:a", "wmav2", "-b:a", "64k", "-ac", "1"],
  ]),
  "mp3-plain": ffmpeg("mp3", [
    ...["-f", "lavfi", "-i", "sine=f=440:r=44100:d=1", "-c:a", "libmp3lame", "-b:a", "64k", "-ac", "1"],
    ...["-id3v2_version", "0", "-write_id3v1", "0"],
  ]),
  "aac-adts": ffmpeg("adts", ["-f", "lavfi", "-i", "sine=f=440:r=44100:d=1", "-c:a", "aac", "-b:a", "64k", "-ac", "1"]),
  "m4a-cover": ffmpeg(
    "ipod",
    [
      ...["-f", "lavfi", "-i", "sine=f=440:r=44100:d=1", "-i", "{png}", "-map", "0:a", "-map", "1:v"],
      ...["-c:a", "aac", "-b:a", "64k", "-ac", "1", "-c:v", "copy", "-disposition:v:0", "attached_pic"],
    ],
    ["png"],
  ),
  "ogg-vorbis": ffmpeg("ogg", ["-f", "lavfi", "-i", "sine=f=440:r=44100:d=1", "-c:a", "libvorbis", "-ac", "1"]),
  "ogg-opus": ffmpeg("opus", [
    ...["-f", "lavfi", "-i", "sine=f=440:r=48000:d=1", "-c:a", "libopus", "-b:a", "32k", "-ac", "1"],
  ]),
  aiff: ffmpeg("aiff", ["-f", "lavfi", "-i", "sine=f=440:r=44100:d=1", "-c:a", "pcm_s16be"]),
  ac3: ffmpeg("ac3", ["-f", "lavfi", "-i", "sine=f=440:r=48000:d=1", "-c:a", "ac3", "-b:a", "96k", "-ac", "1"]),
  jpeg: ffmpeg("image2", [...STILL_64x48_INPUT, "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-update", "1"]),
  webp: ffmpeg("webp", [...STILL_64x48_INPUT, "-c:v", "libwebp"]),
  tiff: ffmpeg("image2", [...STILL_64x48_INPUT, "-c:v", "tiff", "-update", "1"]),
  "mp4-truncated": {
    deps: ["mp4-moov-end"],
    spec: { v: 1, keep: "first half" },
    async make(out, dep) {
      const whole = await fs.readFile(dep("mp4-moov-end"));
      await fs.writeFile(out, whole.subarray(0, Math.floor(whole.length / 2)));
    },
  },
  empty: {
    spec: { v: 1 },
    make: (out) => fs.writeFile(out, Buffer.alloc(0)),
  },
  "text-as-mp4": {
    spec: { v: 1, text: NOT_MEDIA_TEXT },
    make: (out) => fs.writeFile(out, NOT_MEDIA_TEXT),
  },
  "random-as-mov": {
    spec: { v: 1, seed: "media-pipeline random-as-mov", bytes: 65_536 },
    make: (out) => fs.writeFile(out, seededBytes("media-pipeline random-as-mov", 65_536)),
  },
};

// ---------------------------------------------------------------------------------------
// Generation and cache
// ---------------------------------------------------------------------------------------

let ffmpegVersion: string | undefined;
function ffmpegPackageVersion(): string {
  ffmpegVersion ??= (
    JSON.parse(readFileSync(require.resolve(`${FFMPEG_PACKAGE}/package.json`), "utf8")) as { version: string }
  ).version;
  return ffmpegVersion;
}

const keys = new Map<MediaName, string>();

/** Cache key of a recipe: its spec, the ffmpeg build and the keys of what it derives from. */
function cacheKey(name: MediaName): string {
  let key = keys.get(name);
  if (!key) {
    const r = RECIPES[name];
    const input = JSON.stringify({
      v: GENERATOR_VERSION,
      name,
      ffmpeg: ffmpegPackageVersion(),
      spec: r.spec,
      deps: (r.deps ?? []).map(cacheKey),
    });
    key = createHash("sha256").update(input).digest("hex").slice(0, 12);
    keys.set(name, key);
  }
  return key;
}

/** Where `name` is (or will be) cached. */
export function mediaPath(name: MediaName): string {
  return path.join(MEDIA_DIR, `${name}-${cacheKey(name)}.${EXPECTED[name].ext}`);
}

const generating = new Map<MediaName, Promise<string>>();

/** The path of the generated file `name`, generating it (and what it derives from) on first use. */
export function ensureMedia(name: MediaName): Promise<string> {
  if (!(name in RECIPES)) return Promise.reject(new Error(`unknown test media ${JSON.stringify(name)}`));
  let result = generating.get(name);
  if (!result) {
    result = generate(name);
    generating.set(name, result);
    result.catch(() => generating.delete(name));
  }
  return result;
}

async function generate(name: MediaName): Promise<string> {
  const file = mediaPath(name);
  if (await exists(file)) return file;
  const recipe = RECIPES[name];
  const deps = new Map<MediaName, string>();
  for (const d of recipe.deps ?? []) deps.set(d, await ensureMedia(d));
  await fs.mkdir(MEDIA_DIR, { recursive: true });
  // Same extension as the final file: ffmpeg and its muxers look at it.
  const tmp = path.join(
    MEDIA_DIR,
    `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp.${EXPECTED[name].ext}`,
  );
  try {
    await recipe.make(tmp, (d) => {
      const p = deps.get(d);
      if (!p) throw new Error(`recipe ${name} uses ${d} without declaring it`);
      return p;
    });
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw new Error(`generating test media ${name}: ${(err as Error).message}`, { cause: err });
  }
  return file;
}

/** Generates every file (at most one ffmpeg per core at a time); returns name -> path. */
export async function ensureAllMedia(): Promise<Record<MediaName, string>> {
  const paths = await Promise.all(MEDIA_NAMES.map((n) => ensureMedia(n)));
  return Object.fromEntries(MEDIA_NAMES.map((n, i) => [n, paths[i]])) as Record<MediaName, string>;
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

// At most one ffmpeg per core: they are single-threaded.
const maxFfmpeg = Math.max(1, os.availableParallelism());
let runningFfmpeg = 0;
const waitingFfmpeg: (() => void)[] = [];

/** Runs the npm ffmpeg with `args`; rejects with its stderr when it fails. */
export async function runFfmpeg(args: string[], options: { timeoutMs?: number } = {}): Promise<void> {
  const bin = await ffmpegPath();
  if (runningFfmpeg >= maxFfmpeg) await new Promise<void>((resolve) => waitingFfmpeg.push(resolve));
  runningFfmpeg += 1;
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(
        bin,
        args,
        { timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 },
        (err, _stdout, stderr) => {
          if (err) reject(new Error(`ffmpeg ${args.join(" ")} failed: ${stderr || err.message}`.slice(0, 4000)));
          else resolve();
        },
      );
    });
  } finally {
    runningFfmpeg -= 1;
    waitingFfmpeg.shift()?.();
  }
}

// ---------------------------------------------------------------------------------------
// The fake ffprobe that hangs
// ---------------------------------------------------------------------------------------

const HANGING_FFPROBE = `#!/bin/sh
# Test stand-in for an ffprobe stuck on corrupt input: ignores SIGTERM and sleeps,
# so only a SIGKILL (of the process group: the sleep is a child) ends it.
trap '' TERM
sleep 60
`;

/** Path of an executable fake ffprobe that ignores SIGTERM and sleeps 60 s (for timeout tests). */
export async function hangingFfprobe(): Promise<string> {
  const hash = createHash("sha256").update(HANGING_FFPROBE).digest("hex").slice(0, 12);
  const file = path.join(MEDIA_DIR, `hanging-ffprobe-${hash}`, "ffprobe");
  if (await exists(file)) return file;
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, HANGING_FFPROBE, { mode: 0o755 });
  await fs.chmod(tmp, 0o755);
  await fs.rename(tmp, file);
  return file;
}

// ---------------------------------------------------------------------------------------
// ID3v2.3 writer (just what mp3-big-id3 needs) and reader of the tag size
// ---------------------------------------------------------------------------------------

/** Encoding byte and bytes of an ID3v2.3 string: ISO-8859-1 when possible, else UTF-16 with BOM. */
function id3String(text: string, terminate: boolean): { enc: number; bytes: Buffer } {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: checking for characters beyond Latin-1
  const latin1 = /^[\u0000-\u00ff]*$/.test(text);
  if (latin1) return { enc: 0, bytes: Buffer.concat([Buffer.from(text, "latin1"), Buffer.alloc(terminate ? 1 : 0)]) };
  return {
    enc: 1,
    bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le"), Buffer.alloc(terminate ? 2 : 0)]),
  };
}

function id3Frame(id: string, body: Buffer): Buffer {
  const header = Buffer.alloc(10);
  header.write(id, 0, "latin1");
  header.writeUInt32BE(body.length, 4); // v2.3: plain 32-bit size; flags stay 0
  return Buffer.concat([header, body]);
}

function textFrame(id: string, text: string): Buffer {
  const s = id3String(text, false);
  return id3Frame(id, Buffer.concat([Buffer.from([s.enc]), s.bytes]));
}

function commentFrame(text: string, description = "", language = "eng"): Buffer {
  const d = id3String(description, true);
  const t = id3String(text, false);
  if (d.enc !== t.enc) throw new Error("COMM description and text must share an encoding");
  return id3Frame("COMM", Buffer.concat([Buffer.from([t.enc]), Buffer.from(language, "latin1"), d.bytes, t.bytes]));
}

function pictureFrame(mime: string, data: Buffer, description: string): Buffer {
  const d = id3String(description, true);
  const FRONT_COVER = 3;
  return id3Frame(
    "APIC",
    Buffer.concat([
      Buffer.from([d.enc]),
      Buffer.from(`${mime}\0`, "latin1"),
      Buffer.from([FRONT_COVER]),
      d.bytes,
      data,
    ]),
  );
}

function id3v2Tag(frames: Buffer[]): Buffer {
  const body = Buffer.concat(frames);
  if (body.length >= 2 ** 28) throw new Error("ID3v2 tag too large");
  const header = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 0]); // "ID3" v2.3.0, no flags
  for (let i = 0; i < 4; i++) header[6 + i] = (body.length >> (7 * (3 - i))) & 0x7f; // syncsafe
  return Buffer.concat([header, body]);
}

/** Total size in bytes (header included) of the ID3v2 tag at the start of `file`, 0 when there is none. */
export async function id3v2TagSize(file: string): Promise<number> {
  const fh = await fs.open(file, "r");
  try {
    const h = Buffer.alloc(10);
    const { bytesRead } = await fh.read(h, 0, 10, 0);
    if (bytesRead < 10 || h.toString("latin1", 0, 3) !== "ID3") return 0;
    const size = ((h[6] & 0x7f) << 21) | ((h[7] & 0x7f) << 14) | ((h[8] & 0x7f) << 7) | (h[9] & 0x7f);
    const footer = h[5] & 0x10 ? 10 : 0;
    return 10 + size + footer;
  } finally {
    await fh.close();
  }
}

/** Readable, deterministic filler text of exactly `chars` characters. */
function bigText(chars: number): string {
  const line = "media-pipeline test fixture: an oversized ID3 comment that a document must bound. ";
  return line.repeat(Math.ceil(chars / line.length)).slice(0, chars);
}

/** `length` pseudo-random bytes from `seed` (SHA-256 in counter mode): the same every run. */
function seededBytes(seed: string, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; i * 32 < length; i++) blocks.push(createHash("sha256").update(`${seed}:${i}`).digest());
  return Buffer.concat(blocks).subarray(0, length);
}
