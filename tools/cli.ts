/**
 * The one CLI convention of this repository. Every `npm run <command>` (probe, plan, lab,
 * bench, soak, backfill, reconcile, resume, smoke, build, and any new one) goes through runCli:
 *
 *   - `--help` / `-h` anywhere before `--`: usage and exit codes on stdout, exit 0;
 *   - exit codes: 0 ok, 1 the work failed, 2 usage error (unknown flag, bad value), plus
 *     the command's own named ones (3 and up), listed in its --help and in the README;
 *   - an unknown flag: ONE line on stderr naming it, exit 2;
 *   - errors: one line `<command>: <message>` on stderr; the stack only with `--verbose`;
 *   - a closed stdout (`npm run -s plan -- --json | head -1`): exit 0, quietly;
 *   - stdout carries the result (pure JSON with --json); progress and errors go to stderr.
 *     npm prints its `> script` banner on stdout: `npm run -s <command>` leaves it out.
 *
 * Adopting it in a new command (tools/<name>.ts, package.json "<name>": "tsx tools/<name>.ts"):
 *
 *   import { type Cli, parseFlags, runCli, UsageError } from "./cli";
 *   export const cli: Cli = {
 *     name: "capacity",
 *     usage: "usage: npm run capacity -- --stack NAME [--json]\n\n  --stack NAME  ...",
 *     exitCodes: { 3: "the stack's outputs could not be read" },   // only codes beyond 0/1/2
 *     async main(argv) {
 *       const { values } = parseFlags(argv, { stack: { type: "string" }, json: { type: "boolean" } });
 *       if (!values.stack) throw new UsageError("give --stack NAME");
 *       ...
 *       return 0;
 *     },
 *   };
 *   if (require.main === module) runCli(cli);
 *
 * tests/unit/cli-convention.test.ts runs every package.json script's --help and an unknown
 * flag: add the new script to its list.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export interface Cli {
  /** The npm script's name: messages start with `<name>:`. */
  name: string;
  /**
   * Usage text (without the exit codes, which helpText appends); a function of the arguments
   * for a command with subcommands (`npm run lab -- backfill --help`).
   */
  usage: string | ((argv: string[]) => string);
  /** Meaning of each exit code beyond the common ones (or a more precise meaning of 1). */
  exitCodes?: Record<number, string>;
  /** Runs the command; returns its exit code. Throw UsageError for a usage error (exit 2). */
  main(argv: string[], ctx: CliContext): Promise<number>;
}

export interface CliContext {
  /** --verbose was given: stacks on errors, and anything else the command chooses to say. */
  verbose: boolean;
}

/** A usage error: the command was called wrongly (exit 2). */
export class UsageError extends Error {
  override name = "UsageError";
}

const COMMON_EXIT_CODES: Record<number, string> = {
  0: "ok",
  1: "the work failed",
  2: "usage error (unknown flag, missing or bad value)",
};

/** The usage, then every exit code the command may return. */
export function helpText(cli: Pick<Cli, "usage" | "exitCodes">, argv: string[] = []): string {
  const usage = typeof cli.usage === "function" ? cli.usage(argv) : cli.usage;
  const codes = { ...COMMON_EXIT_CODES, ...cli.exitCodes };
  const lines = Object.keys(codes)
    .map(Number)
    .sort((a, b) => a - b)
    .map((code) => `  ${code}  ${codes[code]}`);
  return `${usage.trimEnd()}\n\n  --verbose  print stack traces with errors\n  --help     this text\n\nexit codes:\n${lines.join("\n")}\n`;
}

/** Flags before a `--` end-of-options marker. */
function flagsOf(argv: string[]): string[] {
  const end = argv.indexOf("--");
  return end < 0 ? argv : argv.slice(0, end);
}

export function wantsHelp(argv: string[]): boolean {
  return flagsOf(argv).some((a) => a === "--help" || a === "-h");
}

/**
 * node:util parseArgs, strict, with its errors turned into one-line UsageErrors
 * ("unknown option --stak", "unexpected argument \"x\"", "option --stack needs a value").
 */
export function parseFlags<O extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: O,
  settings: { positionals?: boolean } = {},
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: settings.positionals ?? false });
  } catch (err) {
    throw asUsageError(err);
  }
}

/** A parseArgs error as a short UsageError; any other error unchanged. */
export function asUsageError(err: unknown): unknown {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code !== "string" || !e.code.startsWith("ERR_PARSE_ARGS")) return err;
  const quoted = /'([^']*)'/.exec(e.message ?? "")?.[1] ?? "";
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new UsageError(`unknown option ${quoted}`);
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new UsageError(`unexpected argument ${JSON.stringify(quoted)}`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return new UsageError(
        /argument missing/.test(e.message ?? "")
          ? `option ${quoted.split(" ")[0]} needs a value`
          : `option ${quoted.split(" ")[0]} takes no value`,
      );
    default:
      return new UsageError(String(e.message).split("\n")[0]);
  }
}

export function isUsageError(err: unknown): boolean {
  return err instanceof UsageError || (err as Error)?.name === "UsageError" || asUsageError(err) !== err;
}

/** One line: the message with its newlines folded (a multi-line tool error stays readable). */
export function oneLine(message: string): string {
  return message
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/^at /.test(l))
    .join(" | ");
}

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Runs a command under the convention and returns its exit code (tests call this directly). */
export async function runCommand(cli: Cli, argv: string[], io: CliIo = processIo): Promise<number> {
  const flags = flagsOf(argv);
  const verbose = flags.includes("--verbose");
  const args = verbose ? argv.filter((a, i) => !(a === "--verbose" && i < flags.length)) : argv;
  if (wantsHelp(args)) {
    io.out(helpText(cli, args));
    return EXIT.ok;
  }
  try {
    return await cli.main(args, { verbose });
  } catch (raw) {
    const err = asUsageError(raw);
    const message = err instanceof Error ? err.message : String(err);
    if (isUsageError(err)) {
      io.err(`${cli.name}: ${oneLine(message)} (npm run ${cli.name} -- --help)\n`);
      return EXIT.usage;
    }
    io.err(`${cli.name}: ${oneLine(message)}\n`);
    if (verbose) {
      for (let e: unknown = err; e instanceof Error; e = e.cause) io.err(`${e.stack ?? e.message}\n`);
    }
    return EXIT.failed;
  }
}

/**
 * Exit 0 without a word when the reader of stdout goes away (EPIPE): `| head -1` has what it
 * wanted. Without a listener Node throws the EPIPE as an uncaught exception, with a stack.
 */
export function exitQuietlyOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(EXIT.ok);
      throw err;
    });
  }
}

/**
 * Exits once stdout and stderr have written everything: writes to a pipe are asynchronous,
 * and process.exit() right after a large write cuts it at the pipe's buffer (64 KiB).
 */
export function exitWhenFlushed(code: number): void {
  let pending = 2;
  const done = (err?: Error | null) => {
    // The write callback hears of a closed pipe before the stream's 'error' event does.
    if ((err as NodeJS.ErrnoException | null | undefined)?.code === "EPIPE") process.exit(EXIT.ok);
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  process.stdout.write("", done);
  process.stderr.write("", done);
}

/** The entry point of a CLI module: `if (require.main === module) runCli(cli);` */
export function runCli(cli: Cli, argv: string[] = process.argv.slice(2)): void {
  exitQuietlyOnClosedOutput();
  runCommand(cli, argv).then(exitWhenFlushed, () => exitWhenFlushed(EXIT.failed));
}
