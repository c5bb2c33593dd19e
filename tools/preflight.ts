/**
 * npm run preflight -- --stack NAME [--region REGION] [--principal ARN]
 *
 * Checks, with the caller's AWS credentials, what `pulumi up` cannot know before it fails
 * half-way (docs/deploy.md runs it first): one plain line per check, then exit 1 when any
 * check is a BLOCKER, 0 otherwise, 2 on a usage error.
 *
 *   account       the credentials' account is the stack's `accountId` (sts:GetCallerIdentity)
 *   alert e-mail  set, and not a documentation placeholder, outside lab stacks
 *   concurrency   the stack's reservations leave the account's minimum of 100 unreserved
 *                 executions, and the quota covers the SQS poller's cap (lambda:GetAccountSettings)
 *   cost tag      with budgetScope=stack, the Environment cost allocation tag is active
 *                 (ce:ListCostAllocationTags); otherwise the budget sees nothing
 *   invitations   Cognito's own sender sends about 50 mails a day; with an SES identity, the
 *                 identity is verified and the account may send (sesv2:GetAccount, GetEmailIdentity)
 *   permissions   the caller may make the calls `pulumi up` makes for the stack's services
 *                 (iam:SimulatePrincipalPolicy)
 *
 * The stack's settings come from Pulumi.yaml and Pulumi.<stack>.yaml, as `npm run plan` reads them.
 */
import { CostExplorerClient, ListCostAllocationTagsCommand } from "@aws-sdk/client-cost-explorer";
import { type EvaluationResult, IAMClient, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { GetAccountSettingsCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetAccountCommand, GetEmailIdentityCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromConfigStrings, type PipelineSettings, parsePipelineSettings } from "../lib/config-schema";
import { PROJECT_NAME } from "../lib/naming";
import { REPO_ROOT } from "../lib/repo-root";
import { type Cli, parseFlags, runCli } from "./cli";
import { loadStackConfig } from "./plan/stack-config";
export const USAGE = `usage: npm run preflight -- --stack NAME [--region REGION] [--principal ARN]

Checks with your AWS credentials what \`pulumi up\` cannot check before it starts: the account,
the Lambda concurrency quota against the stack's reservations, the cost allocation tag a
stack-scoped budget needs, Cognito/SES mail limits, and your permissions for the stack's
services. One line per check; exit 1 when a check is a BLOCKER.

  --stack NAME       the stack (reads Pulumi.yaml and Pulumi.<NAME>.yaml)
  --region REGION    AWS region (default: the stack's aws:region)
  --principal ARN    IAM user or role to simulate (default: the caller; an assumed-role
                     session is simulated as its role, so give ARNs with a path here)
  --help             this text`;

/** Lambda keeps this many executions unreserved: a reservation may take the rest only (AWS Lambda
 * developer guide, "Configuring reserved concurrency": up to the unreserved account concurrency minus 100). */
export const MIN_UNRESERVED_CONCURRENCY = 100;
/** AWS's documentation example account: a placeholder, never a real target. */
export const EXAMPLE_ACCOUNT_ID = "123456789012";
/** About what Cognito's built-in sender delivers per day and account (Cognito quotas). */
export const COGNITO_DEFAULT_DAILY_EMAILS = 50;
/** Reserved documentation domains (RFC 2606): mail there reaches nobody. */
const PLACEHOLDER_MAIL_DOMAIN = /@(.+\.)?example\.(com|org|net)$/i;

export type Level = "ok" | "warn" | "blocker";
export interface Check {
  name: string;
  level: Level;
  message: string;
}

/** The settings of the stack preflight reads (from the stack's configuration, lib/config-schema.ts). */
export type StackSettings = Pick<
  PipelineSettings,
  | "lab"
  | "accountId"
  | "alertEmail"
  | "extractorReservedConcurrency"
  | "apiReservedConcurrency"
  | "extractorMaxConcurrency"
  | "backfillMaxConcurrency"
  | "budgetScope"
  | "invitationSesIdentityArn"
  | "syntheticsCanary"
> & { stack: string; region: string };

/** The stack's settings as the program reads them: Pulumi.yaml under Pulumi.<stack>.yaml, parsed by the schema. */
export function readStackSettings(stack: string, projectRoot = REPO_ROOT): StackSettings {
  const { config } = loadStackConfig(projectRoot, stack);
  const s = parsePipelineSettings(fromConfigStrings((key) => config[`${PROJECT_NAME}:${key}`]));
  return {
    stack,
    region: config["aws:region"] ?? "",
    lab: s.lab,
    accountId: s.accountId,
    alertEmail: s.alertEmail,
    extractorReservedConcurrency: s.extractorReservedConcurrency,
    apiReservedConcurrency: s.apiReservedConcurrency,
    extractorMaxConcurrency: s.extractorMaxConcurrency,
    backfillMaxConcurrency: s.backfillMaxConcurrency,
    budgetScope: s.budgetScope,
    invitationSesIdentityArn: s.invitationSesIdentityArn,
    syntheticsCanary: s.syntheticsCanary,
  };
}

export interface PreflightClients {
  sts: STSClient;
  lambda: LambdaClient;
  iam: IAMClient;
  /** Cost Explorer answers in us-east-1 only. */
  costExplorer: CostExplorerClient;
  /** SES in the region of the configured identity. */
  ses: (region: string) => SESv2Client;
}

/**
 * One action per kind of call `pulumi up` makes for this stack's resources (create, configure,
 * tag, pass the roles). Not every call: enough that a missing service grant shows before a deploy.
 */
export function deployActions(s: StackSettings): string[] {
  return [
    "s3:CreateBucket",
    "s3:PutBucketPolicy",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketNotification",
    "s3:PutObject",
    "sqs:CreateQueue",
    "sqs:SetQueueAttributes",
    "dynamodb:CreateTable",
    "dynamodb:UpdateContinuousBackups",
    "lambda:CreateFunction",
    "lambda:PublishLayerVersion",
    "lambda:CreateEventSourceMapping",
    "lambda:AddPermission",
    "lambda:TagResource",
    ...(s.extractorReservedConcurrency >= 0 || s.apiReservedConcurrency >= 0 ? ["lambda:PutFunctionConcurrency"] : []),
    "iam:CreateRole",
    "iam:PutRolePolicy",
    "iam:PassRole",
    "logs:CreateLogGroup",
    "logs:PutRetentionPolicy",
    "logs:PutMetricFilter",
    "cognito-idp:CreateUserPool",
    "cognito-idp:CreateUserPoolDomain",
    "cognito-idp:CreateUserPoolClient",
    "apigateway:POST",
    "cloudfront:CreateDistribution",
    "cloudfront:CreateOriginAccessControl",
    "ssm:PutParameter",
    "sns:CreateTopic",
    "sns:Subscribe",
    "budgets:ModifyBudget",
    "events:PutRule",
    "events:PutTargets",
    "states:CreateStateMachine",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:PutDashboard",
    ...(s.syntheticsCanary ? ["synthetics:CreateCanary"] : []),
  ];
}

/** The IAM principal to simulate for a caller ARN; undefined for the root user (allowed everything). */
export function principalToSimulate(callerArn: string): string | undefined {
  const assumed = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  if (assumed) return `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}`;
  if (/^arn:[^:]+:iam::\d{12}:root$/.test(callerArn)) return undefined;
  return callerArn;
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return `${e.name ?? "Error"}: ${e.message ?? String(err)}`;
}

const ok = (name: string, message: string): Check => ({ name, level: "ok", message });
const warn = (name: string, message: string): Check => ({ name, level: "warn", message });
const blocker = (name: string, message: string): Check => ({ name, level: "blocker", message });

function checkAccount(s: StackSettings, account: string): Check {
  if (s.accountId === "") {
    return s.lab
      ? warn("account", `lab stack with no accountId: it would deploy into ${account}, the credentials' account`)
      : blocker("account", "accountId is not set; production stacks must name their account");
  }
  if (s.accountId === EXAMPLE_ACCOUNT_ID) {
    return blocker(
      "account",
      `accountId is ${EXAMPLE_ACCOUNT_ID}, AWS's documentation example; set yours: pulumi config set accountId ${account} --stack ${s.stack}`,
    );
  }
  if (s.accountId !== account) {
    return blocker(
      "account",
      `these credentials are for account ${account}, the stack is configured for ${s.accountId}`,
    );
  }
  return ok("account", `credentials are for ${account}, the stack's account`);
}

function checkAlertEmail(s: StackSettings): Check {
  if (s.alertEmail === "") {
    return s.lab
      ? warn("alert e-mail", "no alertEmail: budget alerts and alarms reach nobody (allowed in a lab stack)")
      : blocker("alert e-mail", "alertEmail is empty: nobody would hear a budget alert or an alarm");
  }
  if (PLACEHOLDER_MAIL_DOMAIN.test(s.alertEmail)) {
    return (s.lab ? warn : blocker)(
      "alert e-mail",
      `alertEmail ${s.alertEmail} is a placeholder address; set a mailbox someone reads`,
    );
  }
  return ok("alert e-mail", `alerts go to ${s.alertEmail} (confirm AWS's subscription mails after the deploy)`);
}

async function checkConcurrency(s: StackSettings, lambda: LambdaClient): Promise<Check[]> {
  const settings = await lambda.send(new GetAccountSettingsCommand({}));
  const quota = settings.AccountLimit?.ConcurrentExecutions ?? 0;
  const unreserved = settings.AccountLimit?.UnreservedConcurrentExecutions ?? quota;
  const reservations = [s.extractorReservedConcurrency, s.apiReservedConcurrency].filter((n) => n >= 0);
  const reserved = reservations.reduce((a, b) => a + b, 0);
  const checks: Check[] = [];
  if (reserved === 0) {
    checks.push(ok("concurrency", `no reserved concurrency; the account's quota is ${quota}`));
  } else if (unreserved - reserved < MIN_UNRESERVED_CONCURRENCY) {
    checks.push(
      blocker(
        "concurrency",
        `the stack reserves ${reserved} executions; the account has ${unreserved} unreserved of ${quota} and Lambda keeps ` +
          `${MIN_UNRESERVED_CONCURRENCY} unreserved, so CreateFunction would fail. Set the reservations to -1 or ask for a higher quota`,
      ),
    );
  } else {
    checks.push(
      ok("concurrency", `the stack reserves ${reserved} of ${unreserved} unreserved executions (quota ${quota})`),
    );
  }
  const wanted = s.extractorMaxConcurrency;
  if (quota < wanted) {
    checks.push(
      warn(
        "concurrency",
        `the SQS poller may start ${wanted} extractors but the account allows ${quota} concurrent executions in all: ` +
          "the rest are throttled and retried; ask for a higher quota",
      ),
    );
  }
  return checks;
}

async function checkCostTag(s: StackSettings, ce: CostExplorerClient): Promise<Check> {
  if (s.budgetScope !== "stack") {
    return ok("cost tag", "the budget counts every cost of the account (budgetScope=account)");
  }
  const out = await ce.send(new ListCostAllocationTagsCommand({ TagKeys: ["Environment"], Type: "UserDefined" }));
  const tag = out.CostAllocationTags?.find((t) => t.TagKey === "Environment");
  if (tag?.Status === "Active") {
    return ok(
      "cost tag",
      "the Environment cost allocation tag is active: the stack-scoped budget sees the stack's costs",
    );
  }
  return blocker(
    "cost tag",
    `the Environment cost allocation tag is ${tag ? tag.Status?.toLowerCase() : "unknown to Billing"}: a budget scoped to ` +
      "Environment=" +
      `${s.stack} would count nothing and the kill switch never fire. Activate it (Billing > Cost allocation tags) or use budgetScope=account`,
  );
}

async function checkInvitations(s: StackSettings, ses: (region: string) => SESv2Client): Promise<Check[]> {
  if (s.invitationSesIdentityArn === "") {
    return [
      (s.lab ? ok : warn)(
        "invitations",
        `Cognito's own sender sends about ${COGNITO_DEFAULT_DAILY_EMAILS} invitation/verification mails a day for the whole account; ` +
          "set invitationSesIdentityArn for more",
      ),
    ];
  }
  const m = /^arn:[^:]+:ses:([^:]+):\d{12}:identity\/(.+)$/.exec(s.invitationSesIdentityArn);
  if (!m)
    return [
      blocker("invitations", `invitationSesIdentityArn ${s.invitationSesIdentityArn} is not an SES identity ARN`),
    ];
  const [, region, identity] = m as unknown as [string, string, string];
  const client = ses(region);
  const account = await client.send(new GetAccountCommand({}));
  const checks: Check[] = [];
  if (account.SendingEnabled === false) {
    checks.push(blocker("invitations", `SES sending is disabled for this account in ${region}`));
  } else if (account.ProductionAccessEnabled !== true) {
    checks.push(
      blocker(
        "invitations",
        `SES in ${region} is in the sandbox: it only mails verified addresses, so invitations to users would fail. Request production access`,
      ),
    );
  } else {
    const quota = account.SendQuota?.Max24HourSend;
    checks.push(ok("invitations", `SES in ${region} may send${quota === undefined ? "" : ` ${quota} mails a day`}`));
  }
  const id = await client.send(new GetEmailIdentityCommand({ EmailIdentity: identity }));
  checks.push(
    id.VerifiedForSendingStatus
      ? ok("invitations", `SES identity ${identity} is verified`)
      : blocker("invitations", `SES identity ${identity} is not verified for sending`),
  );
  return checks;
}

async function checkPermissions(s: StackSettings, iam: IAMClient, principal: string | undefined): Promise<Check> {
  if (principal === undefined) {
    return warn(
      "permissions",
      "these are the account's root credentials: allowed everything; deploy with a role instead",
    );
  }
  const actions = deployActions(s);
  const results: EvaluationResult[] = [];
  for (let i = 0; i < actions.length; i += 20) {
    let marker: string | undefined;
    do {
      const out = await iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: principal,
          ActionNames: actions.slice(i, i + 20),
          Marker: marker,
        }),
      );
      results.push(...(out.EvaluationResults ?? []));
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
  }
  const denied = results.filter((r) => r.EvalDecision !== "allowed").map((r) => r.EvalActionName ?? "?");
  if (denied.length > 0) {
    return blocker("permissions", `${principal} may not: ${denied.join(", ")}`);
  }
  return ok("permissions", `${principal} may make the ${actions.length} kinds of calls a deploy of this stack makes`);
}

/** Runs every check; a check whose AWS call fails says so (as a warning) instead of stopping the others. */
export async function runPreflight(
  s: StackSettings,
  clients: PreflightClients,
  options: { principal?: string } = {},
): Promise<Check[]> {
  let identity: { Account?: string; Arn?: string };
  try {
    identity = await clients.sts.send(new GetCallerIdentityCommand({}));
  } catch (err) {
    return [blocker("credentials", `no usable AWS credentials (${describe(err)})`)];
  }
  const account = identity.Account ?? "";
  const checks: Check[] = [
    ok("credentials", `calling as ${identity.Arn}`),
    checkAccount(s, account),
    checkAlertEmail(s),
  ];
  const guarded = async (name: string, fn: () => Promise<Check | Check[]>) => {
    try {
      const out = await fn();
      checks.push(...(Array.isArray(out) ? out : [out]));
    } catch (err) {
      checks.push(warn(name, `could not check (${describe(err)})`));
    }
  };
  await guarded("concurrency", () => checkConcurrency(s, clients.lambda));
  await guarded("cost tag", () => checkCostTag(s, clients.costExplorer));
  await guarded("invitations", () => checkInvitations(s, clients.ses));
  await guarded("permissions", () =>
    checkPermissions(s, clients.iam, options.principal ?? principalToSimulate(identity.Arn ?? "")),
  );
  return checks;
}

const LABEL: Record<Level, string> = { ok: "ok     ", warn: "warn   ", blocker: "BLOCKER" };

export function formatCheck(c: Check): string {
  return `${LABEL[c.level]} ${c.name}: ${c.message}`;
}

export interface PreflightDeps {
  clients?: (region: string) => PreflightClients;
  settings?: (stack: string) => StackSettings;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

export function defaultClients(region: string): PreflightClients {
  return {
    sts: new STSClient({ region }),
    lambda: new LambdaClient({ region }),
    iam: new IAMClient({ region: "us-east-1" }),
    costExplorer: new CostExplorerClient({ region: "us-east-1" }),
    ses: (r) => new SESv2Client({ region: r }),
  };
}

export async function main(argv: string[], deps: PreflightDeps = {}): Promise<number> {
  const out = deps.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = deps.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  let values: { stack?: string; region?: string; principal?: string; help?: boolean };
  ({ values } = parseFlags(argv, {
    stack: { type: "string" },
    region: { type: "string" },
    principal: { type: "string" },
    help: { type: "boolean", default: false },
  }));
  if (values.help) {
    out(USAGE);
    return 0;
  }
  if (!values.stack) {
    err("preflight: give --stack NAME (run with --help for usage)");
    return 2;
  }
  let settings: StackSettings;
  try {
    settings = (deps.settings ?? readStackSettings)(values.stack);
  } catch (e) {
    err(`preflight: stack ${values.stack}: ${(e as Error).message}`);
    return 2;
  }
  const region = values.region ?? settings.region;
  out(`preflight of stack ${settings.stack} (${settings.lab ? "lab" : "production"}) in ${region}`);
  const checks = await runPreflight(settings, (deps.clients ?? defaultClients)(region), {
    principal: values.principal,
  });
  for (const c of checks) out(formatCheck(c));
  const blockers = checks.filter((c) => c.level === "blocker").length;
  out(blockers === 0 ? "no blocker: go ahead with pulumi up" : `${blockers} blocker(s): fix them before pulumi up`);
  return blockers === 0 ? 0 : 1;
}

export const cli: Cli = {
  name: "preflight",
  usage: USAGE,
  exitCodes: { 1: "a check is a BLOCKER" },
  main: (argv) => main(argv),
};

if (require.main === module) runCli(cli);
