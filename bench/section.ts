/**
 * What a bench section is, and the small utilities sections share (statistics, units,
 * tables, child processes). main.ts composes the sections; each lives in its own file.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { REPO_ROOT } from "../lib/repo-root";

export const BENCH_CACHE = path.join(REPO_ROOT, ".cache", "bench");

export interface BenchContext {
  /** Progress for humans: always stderr, so `--json` keeps stdout to the one JSON object. */
  log(message: string): void;
}

/** One acceptance criterion a section asserts on its own figures. */
export interface Check {
  name: string;
  pass: boolean;
  detail: string;
}

export interface BenchSection<T> {
  /** Key of the section's figures in the `--json` object, and its `--only` name. */
  name: string;
  run(ctx: BenchContext): Promise<T>;
  /** Human-readable report of the figures. */
  render(result: T): string;
  checks?(result: T): Check[];
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The p-th percentile (0-100) of sorted values, nearest rank. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "n/a";
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  return ms >= 100 ? `${Math.round(ms).toLocaleString("en-US")} ms` : `${ms.toFixed(1)} ms`;
}

export function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1)}x` : "n/a";
}

/** A plain text table: first row is the header; columns padded to their widest cell. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join("  ")
      .trimEnd();
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

/**
 * Runs `node <args>` in a fresh process (cwd: the repo) and parses the last line of its
 * stdout as JSON. stderr passes through to ours. Rejects when it exits non-zero.
 */
export function runNodeJson<T>(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      out += s;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 10 * 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split("\n").at(-1) ?? "";
      if (code !== 0) {
        reject(new Error(`node ${args.join(" ")} exited with ${code ?? signal}: ${out.slice(-2000)}`));
        return;
      }
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`node ${args.join(" ")} printed no JSON: ${out.slice(-2000)}`));
      }
    });
  });
}
