/**
 * Section "layouts": other common layouts of a >= 1 GiB file, probed in place the way the
 * extractor probes (bench/approach.ts inplace, fresh process per run): a fragmented MP4
 * without an index (every fragment's moof is visited: one seek each), Matroska, MPEG-TS.
 * Each is the bench's 10 s clip looped with -c copy, made once and cached.
 *
 * For each: bytes read from S3, GET requests and time (medians), beside what ffprobe itself
 * consumes reading the local copy (its AVIOContext statistics): the proxy's overhead is the
 * difference, and a seek should cost about what ffprobe reads there, not a read-ahead window.
 * The in-place result must match the local probe (format, duration, streams).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { resolveLocalFfprobe } from "../handlers/extractor/ffprobe";
import { readTopLevelBoxes } from "../media/mp4-boxes";
import type { ApproachInput, ApproachResult } from "./approach";
import { BIG_MP4_MIN_BYTES, ensureClip, loopClip, recipeHash } from "./big-mp4";
import { BENCH_BUCKET, ensureObject, startBenchS3 } from "./s3";
import {
  BENCH_CACHE,
  type BenchContext,
  type BenchSection,
  type Check,
  formatBytes,
  formatMs,
  formatRatio,
  median,
  runNodeJson,
  table,
} from "./section";

interface Layout {
  name: string;
  ext: string;
  format: string;
  extra: string[];
  describe: string;
}

const LAYOUTS: Layout[] = [
  {
    name: "fragmented-mp4",
    ext: "mp4",
    format: "mp4",
    // A fragment at every keyframe (2 s), no mfra index at the end (skip_trailer).
    extra: ["-movflags", "frag_keyframe+empty_moov+default_base_moof+skip_trailer"],
    describe: "fragmented MP4, a moof every 2 s, no mfra index",
  },
  { name: "matroska", ext: "mkv", format: "matroska", extra: [], describe: "Matroska (cues at the end)" },
  { name: "mpeg-ts", ext: "ts", format: "mpegts", extra: [], describe: "MPEG-TS" },
];

export interface LayoutFigures {
  name: string;
  describe: string;
  fileBytes: number;
  /** Fragmented MP4: moof boxes in the file. */
  fragments?: number;
  ms: number;
  bytesRead: number;
  requests: number;
  /** What ffprobe consumes of the local copy (AVIOContext statistics) and its seeks. */
  ffprobeOwn?: { bytes: number; seeks: number };
  runs: { ms: number; bytesRead: number; requests: number }[];
  probed: { formatName?: string; durationS?: number; streams: string[] };
  /** The same probe of the local file: must match. */
  local: { formatName?: string; durationS?: number; streams: string[] };
}

export interface LayoutsFigures {
  layouts: LayoutFigures[];
}

async function size(file: string): Promise<number | undefined> {
  return fs.stat(file).then(
    (s) => s.size,
    () => undefined,
  );
}

/**
 * ffprobe on the local copy at -v debug: its own byte and seek counts, and what it found.
 * GCONV_PATH names an empty folder: the pinned static build crashes on MPEG-TS when its
 * iconv finds the system's gconv modules (the extractor's runFfprobe sets the same).
 */
function localProbe(
  ffprobePath: string,
  file: string,
  gconv: string,
): Promise<{ own?: { bytes: number; seeks: number }; found: LayoutFigures["local"] }> {
  return new Promise((resolve) => {
    execFile(
      ffprobePath,
      ["-hide_banner", "-v", "debug", "-show_format", "-show_streams", "-show_chapters", "-of", "json", file],
      { maxBuffer: 64 * 1024 * 1024, env: { GCONV_PATH: gconv } },
      (_err, stdout, stderr) => {
        const m = /Statistics: (\d+) bytes read, (\d+) seeks/.exec(stderr);
        let found: LayoutFigures["local"] = { streams: [] };
        try {
          const out = JSON.parse(stdout) as {
            format?: { format_name?: string; duration?: string };
            streams?: { codec_type?: string; codec_name?: string }[];
          };
          found = {
            formatName: out.format?.format_name,
            durationS: out.format?.duration === undefined ? undefined : Number(out.format.duration),
            streams: (out.streams ?? []).map((s) => `${s.codec_type}:${s.codec_name}`),
          };
        } catch {
          // no JSON: reported as no streams
        }
        resolve({ own: m ? { bytes: Number(m[1]), seeks: Number(m[2]) } : undefined, found });
      },
    );
  });
}

export function layoutsSection(options: { runs?: number } = {}): BenchSection<LayoutsFigures> {
  const runs = Math.max(options.runs ?? 2, 1);
  return {
    name: "layouts",
    async run(ctx: BenchContext): Promise<LayoutsFigures> {
      const [{ clip, clipKey, bytes: clipBytes }, ffprobePath] = await Promise.all([
        ensureClip(ctx),
        resolveLocalFfprobe(),
      ]);
      const gconv = await fs.mkdtemp(path.join(os.tmpdir(), "bench-gconv-"));
      const s3 = await startBenchS3();
      const results: LayoutFigures[] = [];
      try {
        for (const layout of LAYOUTS) {
          const file = path.join(
            BENCH_CACHE,
            `big-${layout.name}-${recipeHash({ v: 1, clipKey, layout, BIG_MP4_MIN_BYTES })}.${layout.ext}`,
          );
          if ((await size(file)) === undefined) {
            ctx.log(`making the >= 1 GiB ${layout.describe} (once; cached under .cache/bench)...`);
            await loopClip(clip, clipBytes, file, layout.format, layout.extra);
          }
          const fileBytes = (await size(file)) ?? 0;
          if (fileBytes < BIG_MP4_MIN_BYTES) throw new Error(`${file} is smaller than 1 GiB; delete it to regenerate`);
          let fragments: number | undefined;
          if (layout.name === "fragmented-mp4") {
            const boxes = await readTopLevelBoxes(file);
            if (boxes.some((b) => b.type === "mfra" || b.type === "sidx")) throw new Error(`${file} has an index`);
            fragments = boxes.filter((b) => b.type === "moof").length;
          }
          const local = await localProbe(ffprobePath, file, gconv);
          const obj = await ensureObject(ctx, s3.s3, `layouts/${path.basename(file)}`, file);
          const input: ApproachInput = {
            endpoint: s3.endpoint,
            bucket: BENCH_BUCKET,
            key: obj.key,
            size: obj.size,
            etag: obj.etag,
            ffprobePath,
            timeoutMs: 120_000,
          };
          const done: ApproachResult[] = [];
          for (let i = 0; i < runs; i++) {
            const r = await runNodeJson<ApproachResult>(
              ["--import", "tsx", "bench/approach.ts", "inplace", JSON.stringify(input)],
              { env: { ...process.env, GCONV_PATH: gconv } },
            );
            if (r.exitCode !== 0) throw new Error(`${layout.name}: ffprobe exited ${r.exitCode}`);
            done.push(r);
            ctx.log(
              `${layout.name} in place #${i + 1}: ${formatMs(r.ms)}, ${formatBytes(r.bytesRead)} in ${r.requests} GETs`,
            );
          }
          results.push({
            name: layout.name,
            describe: layout.describe,
            fileBytes,
            fragments,
            ms: median(done.map((r) => r.ms)),
            bytesRead: median(done.map((r) => r.bytesRead)),
            requests: median(done.map((r) => r.requests)),
            ffprobeOwn: local.own,
            runs: done.map((r) => ({ ms: Math.round(r.ms), bytesRead: r.bytesRead, requests: r.requests })),
            probed: { formatName: done[0].formatName, durationS: done[0].durationS, streams: done[0].streams },
            local: local.found,
          });
        }
      } finally {
        await s3.close();
        await fs.rm(gconv, { recursive: true, force: true });
      }
      return { layouts: results };
    },

    render(r: LayoutsFigures): string {
      const rows = [
        ["layout", "size", "in place: time", "bytes read", "GETs", "ffprobe's own read (local)", "read / own"],
      ];
      for (const l of r.layouts) {
        rows.push([
          `${l.name}${l.fragments ? ` (${l.fragments} fragments)` : ""}`,
          formatBytes(l.fileBytes),
          formatMs(l.ms),
          formatBytes(l.bytesRead),
          String(l.requests),
          l.ffprobeOwn ? `${formatBytes(l.ffprobeOwn.bytes)}, ${l.ffprobeOwn.seeks} seeks` : "n/a",
          l.ffprobeOwn ? formatRatio(l.bytesRead / l.ffprobeOwn.bytes) : "",
        ]);
      }
      return [
        `Layouts: >= 1 GiB files probed in place (median of ${r.layouts[0]?.runs.length ?? 0} runs each)`,
        "",
        table(rows),
        "",
        ...r.layouts.map(
          (l) =>
            `  ${l.name}: ${l.describe}; saw ${l.probed.formatName}, ${l.probed.durationS?.toFixed(1)} s, [${l.probed.streams.join(", ")}]; runs ${l.runs.map((x) => `${formatBytes(x.bytesRead)}/${x.requests} GETs/${formatMs(x.ms)}`).join("; ")}`,
        ),
      ].join("\n");
    },

    checks(r: LayoutsFigures): Check[] {
      return r.layouts.map((l) => ({
        name: `${l.name}: in place sees what ffprobe sees in the local file`,
        pass:
          l.probed.formatName === l.local.formatName &&
          l.probed.streams.join() === l.local.streams.join() &&
          Math.abs((l.probed.durationS ?? 0) - (l.local.durationS ?? 0)) < 0.001,
        detail: `${l.probed.formatName} [${l.probed.streams.join(", ")}] vs ${l.local.formatName} [${l.local.streams.join(", ")}]`,
      }));
    },
  };
}
