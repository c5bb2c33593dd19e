/**
 * The soak test's files: many distinct objects of mixed kinds and sizes, each with the
 * status the extractor must give it.
 *
 * Every body differs from the others (so an overwrite always changes the ETag) while staying
 * what it is: WAVs are generated (random length, rate and channels, noise samples: 1 KB to a
 * few MB); the media fixtures of media/media.ts get a tail their format ignores (an
 * ISO-BMFF `free` box after an MP4, an EBML Void element after Matroska/WebM, plain bytes
 * after FLAC, MP3, GIF and PNG); corrupt files are MP4s cut before their moov atom, text
 * files, the random-bytes fixture and empty objects.
 *
 * verify() probes two instances of every variant with the pinned ffprobe through the same
 * range proxy the extractor uses, so a generator mistake stops the soak before it can pass
 * for a pipeline bug.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import { Readable } from "node:stream";
import { probeSource } from "../../handlers/extractor/probe-in-place";
import { ensureMedia, type MediaName } from "../../media/media";

export type Expected = "ok" | "unprocessable";

export interface SoakFile {
  /** The variant, e.g. "wav", "mp4-faststart", "corrupt-truncated". */
  kind: string;
  /** File extension for the key (never used by the extractor). */
  ext: string;
  body: Buffer;
  expect: Expected;
}

interface Variant {
  kind: string;
  ext: string;
  expect: Expected;
  /** Relative frequency. */
  weight: number;
  make(random: () => number): Buffer;
}

/** A PCM WAV of `seconds` of noise. */
export function makeWav(seconds: number, sampleRate: number, channels: number): Buffer {
  const frames = Math.max(1, Math.round(seconds * sampleRate));
  const dataBytes = frames * channels * 2;
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write("WAVE", 8, "ascii");
  header.write("fmt ", 12, "ascii");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "ascii");
  header.writeUInt32LE(dataBytes, 40);
  return Buffer.concat([header, randomBytes(dataBytes)]);
}

const WORDS = ["media", "pipeline", "soak", "note", "plain", "text", "never", "video", "nothing", "here", "words"];

function letters(random: () => number, n: number): string {
  return Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join("");
}

function tail(random: () => number, min = 8, max = 2048): Buffer {
  return randomBytes(min + Math.floor(random() * (max - min)));
}

/** An ISO-BMFF `free` box: any reader skips it. */
function freeBox(payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + payload.length, 0);
  head.write("free", 4, "ascii");
  return Buffer.concat([head, payload]);
}

/** An EBML Void element (ID 0xEC, 8-byte size): Matroska readers skip it. */
function ebmlVoid(payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head[0] = 0xec;
  head[1] = 0x01;
  head.writeUIntBE(payload.length, 3, 6);
  return Buffer.concat([head, payload]);
}

export class SoakMedia {
  private readonly variants: Variant[];
  private readonly totalWeight: number;
  /** Expected status of every body handed out, by ETag (MD5 hex). */
  readonly expectedByEtag = new Map<string, Expected>();

  private constructor(fixtures: Map<MediaName, Buffer>, options: { maxWavSeconds: number }) {
    const fx = (name: MediaName) => fixtures.get(name) as Buffer;
    const appended = (name: MediaName, ext: string, wrap: (p: Buffer) => Buffer, weight: number): Variant => ({
      kind: name,
      ext,
      expect: "ok",
      weight,
      make: (random) => Buffer.concat([fx(name), wrap(tail(random))]),
    });
    const raw = (p: Buffer) => p;
    this.variants = [
      {
        kind: "wav",
        ext: "wav",
        expect: "ok",
        weight: 30,
        make: (random) => {
          // Mostly short, sometimes long: sizes from about 1 KB to a few MB.
          const seconds = random() < 0.85 ? 0.02 + random() * 1.5 : 1.5 + random() * (options.maxWavSeconds - 1.5);
          const rate = [8000, 22050, 44100][Math.floor(random() * 3)];
          return makeWav(seconds, rate, random() < 0.7 ? 1 : 2);
        },
      },
      appended("mp4-faststart", "mp4", freeBox, 8),
      appended("mp4-moov-end", "mp4", freeBox, 8),
      appended("mp4-fragmented", "mp4", freeBox, 5),
      appended("mp4-rotated", "mov", freeBox, 4),
      appended("mkv-two-audio", "mkv", ebmlVoid, 5),
      appended("webm-vp9-opus", "webm", ebmlVoid, 5),
      appended("flac", "flac", raw, 6),
      appended("gif", "gif", raw, 5),
      appended("png", "png", raw, 6),
      appended("mp3-big-id3", "mp3", raw, 2),
      {
        kind: "corrupt-truncated",
        ext: "mp4",
        expect: "unprocessable",
        weight: 5,
        // The moov atom is at the end: any cut in the first half loses it.
        make: (random) => fx("mp4-moov-end").subarray(0, 64 + Math.floor(random() * (fx("mp4-moov-end").length / 2))),
      },
      {
        kind: "corrupt-text",
        ext: "mp4",
        expect: "unprocessable",
        weight: 4,
        make: (random) =>
          Buffer.from(
            `${Array.from({ length: 5 + Math.floor(random() * 40) }, () => WORDS[Math.floor(random() * WORDS.length)]).join(" ")} ${letters(random, 12)}\n`,
          ),
      },
      {
        kind: "corrupt-random",
        ext: "mov",
        expect: "unprocessable",
        weight: 2,
        make: () => fx("random-as-mov"),
      },
      { kind: "corrupt-empty", ext: "mp4", expect: "unprocessable", weight: 1, make: () => Buffer.alloc(0) },
    ];
    this.totalWeight = this.variants.reduce((n, v) => n + v.weight, 0);
  }

  static async create(options: { maxWavSeconds?: number } = {}): Promise<SoakMedia> {
    const names: MediaName[] = [
      "mp4-faststart",
      "mp4-moov-end",
      "mp4-fragmented",
      "mp4-rotated",
      "mkv-two-audio",
      "webm-vp9-opus",
      "flac",
      "gif",
      "png",
      "mp3-big-id3",
      "random-as-mov",
    ];
    const fixtures = new Map<MediaName, Buffer>();
    for (const name of names) fixtures.set(name, await fs.readFile(await ensureMedia(name)));
    return new SoakMedia(fixtures, { maxWavSeconds: options.maxWavSeconds ?? 20 });
  }

  get kinds(): string[] {
    return this.variants.map((v) => v.kind);
  }

  /** A new file; its expected status is remembered by ETag. */
  next(random: () => number, kind?: string): SoakFile {
    let variant: Variant | undefined;
    if (kind) variant = this.variants.find((v) => v.kind === kind);
    if (!variant) {
      let pick = random() * this.totalWeight;
      variant = this.variants.find((v) => {
        pick -= v.weight;
        return pick < 0;
      }) as Variant;
      variant ??= this.variants[0];
    }
    const body = variant.make(random);
    const etag = createHash("md5").update(body).digest("hex");
    const known = this.expectedByEtag.get(etag);
    if (known !== undefined && known !== variant.expect)
      throw new Error(`one body, two expectations (${variant.kind})`);
    this.expectedByEtag.set(etag, variant.expect);
    return { kind: variant.kind, ext: variant.ext, body, expect: variant.expect };
  }

  /** Probes two instances of every variant as the extractor would; throws listing the ones that disagree. */
  async verify(ffprobePath: string, random: () => number): Promise<void> {
    const wrong: string[] = [];
    for (const v of this.variants) {
      for (let i = 0; i < 2; i++) {
        const file = this.next(random, v.kind);
        if (file.body.length === 0) continue; // the extractor does not probe empty objects
        const body = file.body;
        const run = await probeSource(
          {
            size: body.length,
            read: async (start, end) => ({ body: Readable.from([body.subarray(start, end + 1)]) }),
          },
          { ffprobePath, timeoutMs: 20_000 },
        );
        const ok = run.exitCode === 0 && !!run.output && (run.output.streams?.length ?? 0) > 0;
        if ((ok ? "ok" : "unprocessable") !== v.expect)
          wrong.push(`${v.kind} (exit ${run.exitCode}: ${run.stderr.slice(0, 200)})`);
      }
    }
    if (wrong.length > 0) throw new Error(`soak media that ffprobe does not see as expected: ${wrong.join("; ")}`);
  }
}
