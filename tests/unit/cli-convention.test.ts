/**
 * The CLI convention (tools/cli.ts), checked on every command of package.json as npm runs it
 * (tsx on the script's file, in a child process): --help prints usage and exit codes on stdout
 * and exits 0; an unknown flag exits 2 with one line naming it; errors are one line without a
 * stack unless --verbose; a closed stdout ends the command quietly with 0.
 */
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { REPO_ROOT } from "../../lib/repo-root";
import { type Cli, helpText, runCommand, UsageError } from "../../tools/cli";

const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      [file, ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

/** package.json scripts that run a TypeScript CLI with tsx: { script: file }. */
async function cliScripts(): Promise<Record<string, string>> {
  const pkg = JSON.parse(await fs.readFile(path.join(REPO_ROOT, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  };
  const out: Record<string, string> = {};
  for (const [name, command] of Object.entries(pkg.scripts)) {
    const m = /^(?:tsx|node --import tsx) (\S+\.ts)$/.exec(command);
    if (m) out[name] = m[1];
  }
  return out;
}

/** The dashboard's own build (build/dashboard.ts) is the dashboard's; every other tsx script is a CLI here. */
const NOT_COVERED = new Set(["build:web"]);

/** Commands every adopter of tools/cli.ts must keep passing (a renamed script fails here). */
const EXPECTED = [
  "start",
  "lab",
  "probe",
  "plan",
  "bench",
  "soak",
  "backfill",
  "reconcile",
  "resume",
  "build",
  "smoke",
  "preflight",
  "redrive",
  "capacity",
  "config:yaml",
];

describe("CLI convention (tools/cli.ts)", function () {
  this.timeout(240_000);

  /** Runs a CLI module's `cli` in this process, capturing what it writes (fast: no child process). */
  async function inProcess(file: string, argv: string[]): Promise<Run> {
    const { cli } = (await import(path.join(REPO_ROOT, file))) as { cli: Cli };
    const out = { stdout: "", stderr: "" };
    const real = { out: process.stdout.write, err: process.stderr.write };
    process.stdout.write = ((chunk: string | Uint8Array) => {
      out.stdout += String(chunk);
      return true;
    }) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      out.stderr += String(chunk);
      return true;
    }) as typeof process.stderr.write;
    try {
      const sink = { out: (t: string) => process.stdout.write(t), err: (t: string) => process.stderr.write(t) };
      const code = await runCommand(cli, argv, sink);
      return { code, ...out };
    } finally {
      process.stdout.write = real.out;
      process.stderr.write = real.err;
    }
  }

  it("lists every command of package.json", async () => {
    expect(Object.keys(await cliScripts())).to.include.members(EXPECTED);
  });

  it("every command: an unknown flag is one line naming it, exit 2; --help lists the exit codes", async () => {
    const scripts = await cliScripts();
    for (const name of Object.keys(scripts).filter((n) => !NOT_COVERED.has(n))) {
      const unknown = await inProcess(scripts[name], ["--no-such-flag"]);
      expect(unknown.code, `${name} --no-such-flag: ${unknown.stderr}`).to.equal(2);
      expect(unknown.stdout, `${name} --no-such-flag stdout`).to.equal("");
      const lines = unknown.stderr.trimEnd().split("\n");
      expect(lines, `${name} --no-such-flag stderr`).to.have.length(1);
      expect(lines[0]).to.match(new RegExp(`^${name === "start" ? "lab" : name}: unknown option --no-such-flag`));

      const help = await inProcess(scripts[name], ["--help"]);
      expect(help.code, name).to.equal(0);
      expect(help.stdout, `${name} --help`).to.match(/exit codes:\n {2}0 {2}ok\n {2}1 {2}.+\n {2}2 {2}usage error/);
      expect(help.stderr, `${name} --help stderr`).to.equal("");
    }
  });

  // As npm runs them (tsx on the file, a child process): the module's entry point is wired to runCli.
  for (const name of EXPECTED.filter((n) => n !== "start")) {
    it(`npm run ${name} -- --help: usage on stdout, exit 0`, async () => {
      const scripts = await cliScripts();
      const help = await run(scripts[name], ["--help"]);
      expect(help.code, `${name} --help: ${help.stderr}`).to.equal(0);
      expect(help.stdout, `${name} --help`)
        .to.match(/^usage:/m)
        .and.match(/\nexit codes:\n/);
      expect(help.stderr, `${name} --help stderr`).to.equal("");
    });
  }

  it("lab token with no lab running: one clear line, exit 3", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-cli-nolab-"));
    try {
      const r = await run("lab/main.ts", ["token", "--dir", dir]);
      expect(r.code).to.equal(3);
      expect(r.stdout).to.equal("");
      expect(r.stderr).to.equal(`lab: no lab is running on ${dir}: start one with npm start\n`);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  describe("plan --program", () => {
    let dir: string;
    before(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-cli-program-"));
    });
    after(() => fs.rm(dir, { recursive: true, force: true }));

    it("a syntax error prints the compiler's error once, in one line, no stack (exit 1); --verbose adds it", async () => {
      const program = path.join(dir, "broken.ts");
      await fs.writeFile(program, 'import * as aws from "@pulumi/aws";\nnew aws.s3.Bucket("b" {});\n');
      const r = await run("tools/plan/main.ts", ["--program", program]);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal("");
      expect(r.stderr).to.equal(
        `plan: the program ${program} does not compile: ${program}:2:22: Expected ")" but found "{"\n`,
      );
      const verbose = await run("tools/plan/main.ts", ["--program", program, "--verbose"]);
      expect(verbose.code).to.equal(1);
      expect(verbose.stderr).to.match(/\n {4}at /);
    });

    it("a program outside the repository resolves @pulumi/* from this project (and a closed stdout is quiet)", async () => {
      // Enough resources that the JSON is larger than a pipe's buffer: head closes the pipe mid-write.
      const program = path.join(dir, "elsewhere.ts");
      await fs.writeFile(
        program,
        [
          'import * as aws from "@pulumi/aws";',
          'import * as pulumi from "@pulumi/pulumi";',
          "const names: pulumi.Output<string>[] = [];",
          'for (let i = 0; i < 400; i++) names.push(new aws.s3.Bucket("elsewhere-" + i, { forceDestroy: true, tags: { purpose: "a program outside the repository" } }).bucket);',
          "export const first = names[0];",
          "",
        ].join("\n"),
      );
      const r = await run("tools/plan/main.ts", ["--stack", "dev", "--program", program, "--json"]);
      expect(r.stderr).to.not.contain("Cannot find module");
      expect(r.code, r.stderr).to.be.oneOf([0, 3]); // 3: the pack refuses these bare buckets
      const plan = JSON.parse(r.stdout) as { resources: { type: string; name: string }[]; outputs: { first: string } };
      expect(plan.resources.filter((x) => x.type === "aws:s3/bucket:Bucket")).to.have.length(400);
      expect(plan.outputs.first).to.match(/^elsewhere-0-/);
      expect(r.stdout.length, "larger than a pipe buffer").to.be.greaterThan(256 * 1024);

      // `npm run plan -- --json | head -1`: exit 0, nothing on stderr but the mocked-plan notice.
      const piped = await new Promise<Run>((resolve) => {
        const child = spawn(
          "bash",
          ["-c", 'set -o pipefail; npm run plan -- --stack dev --program "$PROGRAM" --json | head -1'],
          { cwd: REPO_ROOT, env: { ...process.env, PROGRAM: program } },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => {
          stdout += d;
        });
        child.stderr.on("data", (d) => {
          stderr += d;
        });
        child.on("exit", (code) => resolve({ code, stdout, stderr }));
      });
      expect(piped.code, piped.stderr).to.be.oneOf([0]);
      expect(piped.stderr).to.not.match(/EPIPE|Error|at /);
      expect(piped.stdout).to.equal("\n"); // npm's banner opens with an empty line (npm run -s leaves it out)
    });
  });

  describe("runCommand", () => {
    const lines = () => {
      const io = { out: [] as string[], err: [] as string[] };
      return { io, sink: { out: (t: string) => io.out.push(t), err: (t: string) => io.err.push(t) } };
    };
    const cli = (main: Cli["main"]): Cli => ({ name: "demo", usage: "usage: demo", exitCodes: { 3: "named" }, main });

    it("lists the common and the named exit codes in --help", async () => {
      const { io, sink } = lines();
      expect(
        await runCommand(
          cli(async () => 9),
          ["--x", "--help"],
          sink,
        ),
      ).to.equal(0);
      expect(io.out.join("")).to.equal(helpText(cli(async () => 0)));
      expect(io.out.join("")).to.contain("  3  named\n");
    });

    it("a usage error is exit 2, one line; a failure exit 1, one line, the stack only with --verbose", async () => {
      let r = lines();
      expect(
        await runCommand(
          cli(async () => {
            throw new UsageError("give --stack NAME");
          }),
          [],
          r.sink,
        ),
      ).to.equal(2);
      expect(r.io.err).to.deep.equal(["demo: give --stack NAME (npm run demo -- --help)\n"]);

      const failing = cli(async () => {
        throw new Error("first line\nsecond line");
      });
      r = lines();
      expect(await runCommand(failing, [], r.sink)).to.equal(1);
      expect(r.io.err).to.deep.equal(["demo: first line | second line\n"]);
      r = lines();
      expect(await runCommand(failing, ["--verbose"], r.sink)).to.equal(1);
      expect(r.io.err.join("")).to.match(/\n {4}at /);
    });
  });
});
