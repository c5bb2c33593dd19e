/**
 * Every alarm a stack creates names its runbook in its description (components/runbooks.ts),
 * and that runbook exists with the sections an on-call engineer needs; no runbook is left
 * over for an alarm that no longer exists. The dead-letter queue's runbook says how to redrive.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { RUNBOOK_DIR, runbookId } from "../../components/runbooks";
import { REPO_ROOT } from "../../lib/repo-root";
import { planProgram } from "../../tools/plan/run-program";

const SECTIONS = ["Intro", "Symptoms", "Timeline", "Logs/metrics", "Fix", "Prevent", "Open questions"];

describe("runbooks (docs/runbooks)", function () {
  this.timeout(300_000);
  const linked = new Set<string>();
  const alarms: { stack: string; name: string; description: string }[] = [];

  before(async () => {
    for (const stack of ["dev", "prod"]) {
      const plan = await planProgram({ stack });
      for (const r of plan.resources.filter((x) => x.type === "aws:cloudwatch/metricAlarm:MetricAlarm")) {
        alarms.push({ stack, name: r.name, description: String(r.inputs.alarmDescription ?? "") });
      }
    }
  });

  it("maps alarm names to runbook ids without the stack prefix or component parts", () => {
    expect(runbookId("mp-dev-extractor-alarms-errors", "dev")).to.equal("extractor-errors");
    expect(runbookId("mp-prod-observability-dlq-depth", "prod")).to.equal("dlq-depth");
    expect(runbookId("mp-dev-kill-switch-log-alarms-debug-flood", "dev")).to.equal("kill-switch-log-debug-flood");
  });

  it("links every alarm of dev and prod to an existing runbook with every section", () => {
    expect(alarms.length).to.be.greaterThan(20);
    for (const a of alarms) {
      const m = /Runbook: (docs\/runbooks\/[a-z0-9-]+\.md)$/.exec(a.description);
      expect(m, `${a.stack} ${a.name}: "${a.description}"`).to.not.equal(null);
      const file = path.join(REPO_ROOT, (m as RegExpExecArray)[1]);
      expect(fs.existsSync(file), `${a.name}: ${file}`).to.equal(true);
      expect(a.description.length, a.name).to.be.at.most(1024); // CloudWatch's limit
      const text = fs.readFileSync(file, "utf8");
      for (const s of SECTIONS)
        expect(text, `${file}: ## ${s}`).to.match(new RegExp(`^## ${s.replace("/", "\\/")}$`, "m"));
      linked.add(path.basename(file));
    }
  });

  it("has no runbook for an alarm that does not exist", () => {
    const files = fs.readdirSync(path.join(REPO_ROOT, RUNBOOK_DIR)).filter((f) => f.endsWith(".md"));
    expect(files.sort()).to.deep.equal([...linked].sort());
  });

  it("tells how to redrive in the dead-letter queue's runbook", () => {
    const text = fs.readFileSync(path.join(REPO_ROOT, RUNBOOK_DIR, "dlq-depth.md"), "utf8");
    expect(text).to.contain("npm run redrive").and.contain("StartMessageMoveTask");
  });
});
