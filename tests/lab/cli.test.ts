/**
 * `npm start` / `npm run lab -- <command>`: the CLI prints where everything is, and stops
 * cleanly on SIGINT (queue persisted, endpoints.json removed, exit code 0).
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { type LabEndpoints, labPaths } from "../../lab/lab";
import { forcesExit } from "../../lab/main";
import { REPO_ROOT } from "../../lib/repo-root";

const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");
const MAIN = path.join(REPO_ROOT, "lab", "main.ts");

function run(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string } {
  const child = spawn(TSX, [MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env } });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  return { child, output: () => out };
}

function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("lab CLI", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "mp-lab-cli-"));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it("starts on LAB_DIR, prints the endpoints and an example, and stops cleanly on SIGINT", async () => {
    const { child, output } = run([], { LAB_DIR: dir });
    const exited = exitCode(child);
    const deadline = Date.now() + 30_000;
    while (!output().includes("Ctrl-C stops the lab")) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`lab did not start:\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const endpoints = JSON.parse(await fs.readFile(labPaths(dir).endpoints, "utf8")) as LabEndpoints;
    expect(output())
      .to.contain(endpoints.s3Endpoint)
      .and.contain(endpoints.apiUrl)
      .and.contain(endpoints.dynamodbEndpoint);
    expect(output()).to.match(/aws --endpoint-url \S+ s3 cp .* && .*curl -s \S+\/files\//);
    expect((await fetch(`${endpoints.apiUrl}/health`)).status).to.equal(200);

    child.kill("SIGINT");
    expect(await exited).to.equal(0);
    expect(output()).to.contain("stopped");
    await fs.access(labPaths(dir).endpoints).then(
      () => expect.fail("endpoints.json should be gone after a clean stop"),
      () => undefined,
    );
    await fs.access(labPaths(dir).lock).then(
      () => expect.fail("the lock should be released"),
      () => undefined,
    );
    // The queue log is on disk for the next start.
    expect((await fs.stat(labPaths(dir).queue)).size).to.be.greaterThan(0);
  });

  it("stops cleanly when SIGTERM goes to the whole process group of `npm start` (every layer relays it)", async () => {
    // npm -> sh -> node, in a group of their own, as a supervisor or `kill -- -PGID` sees them.
    const child = spawn("npm", ["start", "--", "--dir", dir], {
      cwd: REPO_ROOT,
      detached: true,
      env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}` },
    });
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
    });
    child.stderr?.on("data", (d) => {
      out += d;
    });
    // npm itself dies of the signal; the lab is done when the last holder of the pipes is.
    const closed = new Promise((resolve) => child.once("close", resolve));
    const deadline = Date.now() + 45_000;
    while (!out.includes("Ctrl-C stops the lab")) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`lab did not start:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const labPid = (JSON.parse(await fs.readFile(labPaths(dir).endpoints, "utf8")) as LabEndpoints).pid;
    process.kill(-(child.pid as number), "SIGTERM");
    await closed;
    // Gone once its new parent (init) has reaped it.
    const alive = () => {
      try {
        process.kill(labPid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (const until = Date.now() + 20_000; alive() && Date.now() < until; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(alive(), "the lab process should have exited").to.equal(false);
    expect(out).to.contain("lab: stopped");
    expect(out).not.to.contain("without a clean stop");
    for (const file of [labPaths(dir).lock, labPaths(dir).endpoints]) {
      await fs.access(file).then(
        () => expect.fail(`${path.basename(file)} should be gone after a clean stop:\n${out}`),
        () => undefined,
      );
    }
  });

  it("treats signals within a second of the first as the same stop; a later Ctrl-C forces the exit", () => {
    expect(forcesExit("SIGTERM", 5)).to.equal(false);
    expect(forcesExit("SIGINT", 5)).to.equal(false);
    expect(forcesExit("SIGTERM", 60_000)).to.equal(false);
    expect(forcesExit("SIGINT", 2_000)).to.equal(true);
  });

  it("rejects an unknown command in one line naming it and the commands, exit code 2", async () => {
    const { child, output } = run(["frobnicate"]);
    expect(await exitCode(child)).to.equal(2);
    expect(output().trimEnd().split("\n")).to.have.length(1);
    expect(output()).to.contain('unknown command "frobnicate"').and.contain("start, token").and.contain("--help");
  });
});
