/**
 * npm run preflight against mocked AWS clients (aws-sdk-client-mock): each check's verdict,
 * the output (one line per check) and the exit code.
 */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CostExplorerClient, ListCostAllocationTagsCommand } from "@aws-sdk/client-cost-explorer";
import { IAMClient, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { GetAccountSettingsCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetAccountCommand, GetEmailIdentityCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { REPO_ROOT } from "../../lib/repo-root";
import { UsageError } from "../../tools/cli";
import {
  type Check,
  deployActions,
  main,
  type PreflightClients,
  principalToSimulate,
  readStackSettings,
  runPreflight,
  type StackSettings,
} from "../../tools/preflight";

const ACCOUNT = "210987654321";
const ROLE_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/alice`;

function settings(overrides: Partial<StackSettings> = {}): StackSettings {
  return {
    stack: "prod",
    region: "us-east-1",
    lab: false,
    accountId: ACCOUNT,
    alertEmail: "oncall@media.test",
    extractorReservedConcurrency: -1,
    apiReservedConcurrency: -1,
    extractorMaxConcurrency: 20,
    backfillMaxConcurrency: 10,
    budgetScope: "stack",
    invitationSesIdentityArn: "",
    syntheticsCanary: true,
    ...overrides,
  };
}

describe("npm run preflight", () => {
  const sts = mockClient(STSClient);
  const lambda = mockClient(LambdaClient);
  const iam = mockClient(IAMClient);
  const ce = mockClient(CostExplorerClient);
  const ses = mockClient(SESv2Client);
  const sesRegions: string[] = [];
  const clients = (): PreflightClients => ({
    sts: new STSClient({ region: "us-east-1" }),
    lambda: new LambdaClient({ region: "us-east-1" }),
    iam: new IAMClient({ region: "us-east-1" }),
    costExplorer: new CostExplorerClient({ region: "us-east-1" }),
    ses: (region) => {
      sesRegions.push(region);
      return new SESv2Client({ region });
    },
  });
  const byName = (checks: Check[], name: string) => checks.filter((c) => c.name === name);
  const levelOf = (checks: Check[], name: string) => byName(checks, name).map((c) => c.level);

  beforeEach(() => {
    for (const m of [sts, lambda, iam, ce, ses]) m.reset();
    sesRegions.length = 0;
    // A healthy production account: right account, quota 1000, the tag active, everything allowed.
    sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: ROLE_SESSION, UserId: "AROA:alice" });
    lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
    ce.on(ListCostAllocationTagsCommand).resolves({
      CostAllocationTags: [{ TagKey: "Environment", Type: "UserDefined", Status: "Active" }],
    });
    iam.on(SimulatePrincipalPolicyCommand).callsFake(async (input) => ({
      EvaluationResults: (input.ActionNames as string[]).map((a) => ({ EvalActionName: a, EvalDecision: "allowed" })),
    }));
  });

  it("passes a healthy production account, one ok line per check, and simulates the caller's role", async () => {
    const out: string[] = [];
    const code = await main(["--stack", "prod"], {
      settings: () => settings(),
      clients: clients,
      out: (l) => out.push(l),
    });
    expect(code).to.equal(0);
    expect(out[0]).to.equal("preflight of stack prod (production) in us-east-1");
    // Every check ok; the one warning: invitations use Cognito's own sender (about 50 a day).
    const lines = out.slice(1, -1);
    expect(
      lines.filter((l) => !l.startsWith("ok ")),
      out.join("\n"),
    ).to.deep.equal([
      "warn    invitations: Cognito's own sender sends about 50 invitation/verification mails a day for the whole account; set invitationSesIdentityArn for more",
    ]);
    expect(lines.map((l) => /^\S+\s+([^:]+):/.exec(l)?.[1])).to.deep.equal([
      "credentials",
      "account",
      "alert e-mail",
      "concurrency",
      "cost tag",
      "invitations",
      "permissions",
    ]);
    expect(out.at(-1)).to.equal("no blocker: go ahead with pulumi up");
    const simulated = iam.commandCalls(SimulatePrincipalPolicyCommand).map((c) => c.args[0].input);
    expect(simulated.every((i) => i.PolicySourceArn === `arn:aws:iam::${ACCOUNT}:role/deployer`)).to.equal(true);
    expect(simulated.flatMap((i) => i.ActionNames)).to.have.members(deployActions(settings()));
    expect(ce.commandCalls(ListCostAllocationTagsCommand)[0]?.args[0].input).to.deep.equal({
      TagKeys: ["Environment"],
      Type: "UserDefined",
    });
  });

  it("blocks a reservation on a new account (quota 10) and exits 1", async () => {
    lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 10, UnreservedConcurrentExecutions: 10 } });
    const s = settings({ lab: true, extractorReservedConcurrency: 2, extractorMaxConcurrency: 2 });
    const checks = await runPreflight(s, clients());
    const concurrency = byName(checks, "concurrency");
    expect(concurrency.map((c) => c.level)).to.deep.equal(["blocker"]);
    expect(concurrency[0]?.message).to.contain("Lambda keeps 100 unreserved");
    // The same account without a reservation is fine; a poller cap above the quota is a warning.
    const unreserved = await runPreflight(settings({ lab: true, extractorMaxConcurrency: 20 }), clients());
    expect(levelOf(unreserved, "concurrency")).to.deep.equal(["ok", "warn"]);
    const out: string[] = [];
    const code = await main(["--stack", "dev"], { settings: () => s, clients: clients, out: (l) => out.push(l) });
    expect(code).to.equal(1);
    expect(out.filter((l) => l.startsWith("BLOCKER concurrency: "))).to.have.length(1);
  });

  it("blocks credentials of another account, and the documentation example account id", async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: "111122223333", Arn: "arn:aws:iam::111122223333:user/bob" });
    let checks = await runPreflight(settings(), clients());
    expect(byName(checks, "account")[0]).to.deep.include({ level: "blocker" });
    expect(byName(checks, "account")[0]?.message).to.contain("configured for 210987654321");
    checks = await runPreflight(settings({ accountId: "123456789012" }), clients());
    expect(byName(checks, "account")[0]?.message).to.contain("AWS's documentation example");
  });

  it("blocks a stack-scoped budget whose Environment tag is not active", async () => {
    ce.on(ListCostAllocationTagsCommand).resolves({
      CostAllocationTags: [{ TagKey: "Environment", Type: "UserDefined", Status: "Inactive" }],
    });
    const checks = await runPreflight(settings(), clients());
    expect(levelOf(checks, "cost tag")).to.deep.equal(["blocker"]);
    expect(byName(checks, "cost tag")[0]?.message).to.contain("would count nothing");
    const accountScoped = await runPreflight(settings({ budgetScope: "account" }), clients());
    expect(levelOf(accountScoped, "cost tag")).to.deep.equal(["ok"]);
    expect(ce.commandCalls(ListCostAllocationTagsCommand)).to.have.length(1);
  });

  it("checks the SES identity and account when invitations go through SES, and warns about Cognito's own limit", async () => {
    let checks = await runPreflight(settings(), clients());
    expect(byName(checks, "invitations")[0]).to.deep.include({ level: "warn" });
    expect(byName(checks, "invitations")[0]?.message).to.contain("about 50");

    ses.on(GetAccountCommand).resolves({ SendingEnabled: true, ProductionAccessEnabled: false });
    ses.on(GetEmailIdentityCommand).resolves({ VerifiedForSendingStatus: true });
    const arn = `arn:aws:ses:eu-west-1:${ACCOUNT}:identity/media.test`;
    checks = await runPreflight(settings({ invitationSesIdentityArn: arn }), clients());
    expect(levelOf(checks, "invitations")).to.deep.equal(["blocker", "ok"]);
    expect(byName(checks, "invitations")[0]?.message).to.contain("sandbox");
    expect(sesRegions).to.deep.equal(["eu-west-1"]);
    expect(ses.commandCalls(GetEmailIdentityCommand)[0]?.args[0].input).to.deep.equal({ EmailIdentity: "media.test" });

    ses
      .on(GetAccountCommand)
      .resolves({ SendingEnabled: true, ProductionAccessEnabled: true, SendQuota: { Max24HourSend: 50000 } });
    ses.on(GetEmailIdentityCommand).resolves({ VerifiedForSendingStatus: false });
    checks = await runPreflight(settings({ invitationSesIdentityArn: arn }), clients());
    expect(levelOf(checks, "invitations")).to.deep.equal(["ok", "blocker"]);
  });

  it("lists the actions the caller may not make, and says so when it cannot simulate at all", async () => {
    iam.on(SimulatePrincipalPolicyCommand).callsFake(async (input) => ({
      EvaluationResults: (input.ActionNames as string[]).map((a) => ({
        EvalActionName: a,
        EvalDecision: a.startsWith("cognito-idp:") || a === "iam:PassRole" ? "implicitDeny" : "allowed",
      })),
    }));
    let checks = await runPreflight(settings(), clients());
    const permissions = byName(checks, "permissions")[0];
    expect(permissions?.level).to.equal("blocker");
    expect(permissions?.message).to.equal(
      `arn:aws:iam::${ACCOUNT}:role/deployer may not: iam:PassRole, cognito-idp:CreateUserPool, cognito-idp:CreateUserPoolDomain, cognito-idp:CreateUserPoolClient`,
    );
    iam
      .on(SimulatePrincipalPolicyCommand)
      .rejects(Object.assign(new Error("not authorized"), { name: "AccessDenied" }));
    checks = await runPreflight(settings(), clients());
    expect(byName(checks, "permissions")[0]).to.deep.include({
      level: "warn",
      message: "could not check (AccessDenied: not authorized)",
    });
  });

  it("requires an alert address outside labs, and a real one", async () => {
    let checks = await runPreflight(settings({ alertEmail: "" }), clients());
    expect(levelOf(checks, "alert e-mail")).to.deep.equal(["blocker"]);
    checks = await runPreflight(settings({ alertEmail: "media-alerts@example.com" }), clients());
    expect(levelOf(checks, "alert e-mail")).to.deep.equal(["blocker"]);
    checks = await runPreflight(settings({ lab: true, alertEmail: "" }), clients());
    expect(levelOf(checks, "alert e-mail")).to.deep.equal(["warn"]);
  });

  it("without credentials: one blocker line and nothing else is called", async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(Object.assign(new Error("Could not load credentials"), { name: "CredentialsProviderError" }));
    const checks = await runPreflight(settings(), clients());
    expect(checks).to.deep.equal([
      {
        name: "credentials",
        level: "blocker",
        message: "no usable AWS credentials (CredentialsProviderError: Could not load credentials)",
      },
    ]);
    expect(lambda.calls()).to.have.length(0);
  });

  it("maps callers to the principal to simulate", () => {
    expect(principalToSimulate(ROLE_SESSION)).to.equal(`arn:aws:iam::${ACCOUNT}:role/deployer`);
    expect(principalToSimulate(`arn:aws:iam::${ACCOUNT}:user/ops/carol`)).to.equal(
      `arn:aws:iam::${ACCOUNT}:user/ops/carol`,
    );
    expect(principalToSimulate(`arn:aws:iam::${ACCOUNT}:root`)).to.equal(undefined);
  });

  it("reads the stacks' settings from the Pulumi files: dev reserves nothing, prod is stack-scoped", () => {
    const dev = readStackSettings("dev");
    expect(dev).to.include({
      lab: true,
      extractorReservedConcurrency: -1,
      apiReservedConcurrency: -1,
      extractorMaxConcurrency: 2,
    });
    const prod = readStackSettings("prod");
    expect(prod).to.include({
      lab: false,
      budgetScope: "stack",
      extractorReservedConcurrency: -1,
      accountId: "123456789012",
    });
  });

  it("reads a stack through the configuration's schema: a bad value is refused with its key and range", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mp-preflight-"));
    fs.copyFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const stackFile = (extra: string) =>
      fs.writeFileSync(
        path.join(dir, "Pulumi.review.yaml"),
        `config:\n  aws:region: eu-west-1\n  media-pipeline:owner: me\n  media-pipeline:costCenter: lab\n  media-pipeline:lab: true\n${extra}`,
      );
    stackFile("");
    // Keys the stack leaves out get the schema's defaults (through Pulumi.yaml, as the CLI merges them).
    expect(readStackSettings("review", dir)).to.deep.equal({
      stack: "review",
      region: "eu-west-1",
      lab: true,
      accountId: "",
      alertEmail: "",
      extractorReservedConcurrency: -1,
      apiReservedConcurrency: -1,
      extractorMaxConcurrency: 5,
      backfillMaxConcurrency: 10,
      budgetScope: "account",
      invitationSesIdentityArn: "",
      syntheticsCanary: false,
    });
    stackFile("  media-pipeline:extractorMaxConcurrency: 0\n");
    expect(() => readStackSettings("review", dir)).to.throw(
      "config media-pipeline:extractorMaxConcurrency must be a whole number from 1 to 1000, got 0",
    );
  });

  it("--help prints usage to stdout (exit 0); an unknown flag or no stack is one line and exit 2", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), clients };
    expect(await main(["--help"], io)).to.equal(0);
    expect(out.join("\n")).to.contain("usage: npm run preflight -- --stack NAME");
    // An unknown flag is a UsageError: runCli (tools/cli.ts) prints it in one line, exit 2.
    const unknown = await main(["--stack", "dev", "--bogus"], io).catch((e: Error) => e);
    expect(unknown).to.be.instanceOf(UsageError).and.have.property("message", "unknown option --bogus");
    expect(await main([], io)).to.equal(2);
    expect(err[0]).to.equal("preflight: give --stack NAME (run with --help for usage)");
    expect(sts.calls()).to.have.length(0);
  });
});
