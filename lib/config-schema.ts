/**
 * The stack's configuration, defined once: every `media-pipeline:<key>` with its type, default,
 * allowed values, the checks between keys, and its doc string.
 *
 * Everything else derives from this schema:
 * - the program reads it (components/pipeline-config.ts) and hands the parsed settings to
 *   MediaPipeline, whose args type is `PipelineSettings` (z.output) minus the provider's keys;
 * - Pulumi.yaml's `config:` block is generated from it (`npm run config:yaml`) and
 *   tests/unit/config-schema.test.ts fails when the two drift (keys, types, defaults, descriptions).
 *   Pulumi.yaml keeps the defaults because the CLI treats a declared key without a default as
 *   required (pulumi.com/docs/iac/concepts/projects/project-file/, "config options"), and the
 *   CLI, the policy pack (PULUMI_CONFIG) and `npm run plan` see the merged values;
 * - tools/preflight.ts parses a stack's files through it; tools and tests take defaults from
 *   CONFIG_DEFAULTS.
 *
 * Values arrive as strings from Pulumi (`pulumi config set`); `fromConfigStrings` turns them into
 * the declared types before the schema checks them, so a wrong value is reported as what it is.
 */
import { z } from "zod";
import { LOG_RETENTION_DAYS, UNRESERVED } from "./aws-limits";
import type { LambdaArchitecture } from "./ffprobe-pin";
import { LIST_SHARDS } from "./list-index";
import { PROJECT_NAME } from "./naming";

export const ARCHITECTURES = ["x86_64", "arm64"] as const satisfies readonly LambdaArchitecture[];
/** Whose costs the budget counts: the whole account, or the stack's (Environment tag). */
export const BUDGET_SCOPES = ["account", "stack"] as const;
export type BudgetScope = (typeof BUDGET_SCOPES)[number];

// Each builder states the allowed values once: the checks and the text an error gives
// ("must be <expected>, got <value>") come from the same numbers.
const wholeNumber = (min: number, max: number, expected = `a whole number from ${min} to ${max}`) =>
  z.int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
const positiveInt = (max: number = Number.MAX_SAFE_INTEGER) => wholeNumber(1, max);
const percent = () => wholeNumber(0, 100);
const concurrency = () =>
  wholeNumber(UNRESERVED, Number.MAX_SAFE_INTEGER, `${UNRESERVED} (no reservation) or a whole number >= 0`);
const flag = () => z.boolean({ error: "true or false" });
const text = () => z.string({ error: "a string" });
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `one of ${values.join(", ")}` });
/** A string that is empty or matches `pattern`. */
const emptyOr = (pattern: RegExp, expected: string) =>
  z.string({ error: expected }).refine((v) => v === "" || pattern.test(v), { error: expected });

const ORIGIN = /^https?:\/\/[^/]+$/;
const ORIGINS_EXPECTED = "a list of origins like https://example.com (no path)";
const LOG_RETENTION_EXPECTED = `a retention CloudWatch accepts (${LOG_RETENTION_DAYS.join(", ")})`;

const fields = {
  lab: flag()
    .default(false)
    .describe(
      "Lab stack. Buckets are emptied by `pulumi destroy` (forceDestroy) and their objects expire after labObjectExpirationDays.",
    ),
  labObjectExpirationDays: positiveInt(3650)
    .default(7)
    .describe("In a lab stack, days after which uploaded objects and raw metadata are deleted."),
  owner: text().describe("Owner tag on every resource (a team or a person). Required."),
  costCenter: text().describe("CostCenter tag on every resource. Required."),
  architecture: oneOf(ARCHITECTURES)
    .default("x86_64")
    .describe(
      "CPU architecture of both functions and of the ffprobe layer, x86_64 or arm64 (arm64 fetches the pinned arm64 package with npm pack at deploy time).",
    ),
  extractorMemoryMb: positiveInt(10240)
    .default(1024)
    .describe("Extractor memory in MB (Lambda gives CPU in proportion; ffprobe is CPU-bound)."),
  extractorTimeoutSeconds: positiveInt(900)
    .default(60)
    .describe(
      "Extractor timeout in seconds. Must leave 5 s after the 20 s probe limit; the queue's visibility timeout is set to six times this.",
    ),
  extractorReservedConcurrency: concurrency()
    .default(UNRESERVED)
    .describe(
      "Concurrent extractor executions reserved (and capped); -1 for none. A reservation must leave the account's minimum of 100 unreserved executions, so it fails on new accounts (quota 10); reserve only when you need it. Applied when the function is created (the kill switch owns it afterwards; docs/kill-switch.md).",
    ),
  extractorMaxConcurrency: positiveInt(1000)
    .default(5)
    .describe(
      "Most concurrent extractors the SQS poller starts (event source mapping scalingConfig.maximumConcurrency, 2-1000). Caps the extractor without reserving; at most extractorReservedConcurrency when that is set.",
    ),
  apiReservedConcurrency: concurrency()
    .default(UNRESERVED)
    .describe(
      "Concurrent API executions reserved (and capped). -1 for no reservation. Applied when the function is created.",
    ),
  logRetentionDays: z
    .int({ error: LOG_RETENTION_EXPECTED })
    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), { error: LOG_RETENTION_EXPECTED })
    .default(90)
    .describe(
      "Retention of the functions' and the API's log groups, in days (a value CloudWatch accepts, e.g. 7, 30, 90, 365).",
    ),
  protectState: flag()
    .default(true)
    .describe(
      "Pulumi `protect` and `retainOnDelete` on the table, the user pool and the ingest and metadata buckets, so no replacement or destroy can wipe them. Off in lab stacks (they must destroy to nothing).",
    ),
  accountId: emptyOr(/^\d{12}$/, "a 12-digit AWS account id")
    .default("")
    .describe(
      "The 12-digit AWS account the stack belongs to. The AWS provider refuses to work in any other (allowedAccountIds). Required outside lab stacks.",
    ),
  invitationSesIdentityArn: emptyOr(/^arn:[^:]+:ses:[^:]+:\d{12}:identity\/.+$/, "an SES identity ARN")
    .default("")
    .describe(
      "ARN of a verified SES identity Cognito sends invitations and verification mail through. Empty uses Cognito's built-in sender (about 50 mails a day per account).",
    ),
  invitationFromAddress: text().default("").describe("From address of those mails (with invitationSesIdentityArn)."),
  deletionProtection: flag()
    .default(true)
    .describe(
      "The table and the Cognito user pool refuse deletion (pulumi destroy fails on them until this is turned off and applied).",
    ),
  pointInTimeRecovery: flag().default(true).describe("DynamoDB continuous backups (35 days of point-in-time restore)."),
  ingestVersioning: flag()
    .default(false)
    .describe("Keep every version of uploaded objects; noncurrent versions expire after 30 days."),
  allowedOrigins: z
    .array(z.string({ error: ORIGINS_EXPECTED }).regex(ORIGIN, { error: ORIGINS_EXPECTED }), {
      error: ORIGINS_EXPECTED,
    })
    .default([])
    .describe(
      "Browser origins besides the dashboard's own CloudFront URL that may call the API and upload (CORS) and sign in (callback URLs), e.g. http://localhost:5173.",
    ),
  apiThrottleBurst: positiveInt(5000).default(50).describe("API Gateway stage burst limit (requests)."),
  apiThrottleRate: positiveInt(10000)
    .default(25)
    .describe("API Gateway stage steady rate limit (requests per second)."),
  budgetLimitUsd: positiveInt()
    .default(50)
    .describe(
      "Monthly COST budget in USD of the cost guard; alerts at 10%, 25%, 100% actual and 100% forecasted spend go to the budget topic (kill switch, alertEmail).",
    ),
  budgetScope: oneOf(BUDGET_SCOPES)
    .default("account")
    .describe(
      "Whose costs the budget counts, account (every cost of the AWS account; one account per stack) or stack (costs tagged Environment=<stack>; activate the Environment cost allocation tag in Billing first, or the budget sees nothing; npm run preflight checks). Production uses stack, so another workload's spend cannot pause it.",
    ),
  alertEmail: emptyOr(/^[^@\s]+@[^@\s]+$/, "an email address or empty")
    .default("")
    .describe(
      "Email address subscribed to the budget topic and the alarm topic (AWS sends a confirmation mail first). Required outside lab stacks; empty (no mail) allowed in a lab.",
    ),
  killSwitchThresholdPercent: positiveInt(1000)
    .default(100)
    .describe(
      "The kill switch pauses the pipeline when a budget alert reports spend at or above this percent of budgetLimitUsd. Some notification must be at or above it (100% by default).",
    ),
  killSwitchPauseOnForecast: flag()
    .default(false)
    .describe(
      "Let FORECASTED budget alerts pause the pipeline too; by default only money actually spent (ACTUAL) does.",
    ),
  syntheticsCanary: flag()
    .default(false)
    .describe(
      "Run a CloudWatch Synthetics canary calling GET /health of the API every syntheticsRateMinutes (about 0.0012 USD per run, so about 10 USD a month at 5 minutes), with an alarm on its SuccessPercent.",
    ),
  syntheticsRateMinutes: positiveInt(60).default(5).describe("Interval of the Synthetics canary in minutes (1-60)."),
  backfillMaxConcurrency: positiveInt(10_000)
    .default(10)
    .describe(
      "Backfill (npm run backfill) - child executions its Distributed Map runs at once, each one backfill Lambda invocation probing a batch (1-10000). Concurrent probes are about this times 4; keep it within the account's Lambda concurrency and the table's write rate.",
    ),
  backfillBatchSize: positiveInt(1000)
    .default(72)
    .describe(
      "Backfill - objects per batch, i.e. per invocation of the backfill function (1-1000, ItemBatcher MaxItemsPerBatch). A batch must finish within the function's 900 s even if every probe times out (25 s each, as many at a time as the function's memory holds - lib/probe-limits.ts - 2 at 1024 MB, 3 at 1769 MB), so at most 72 at 1024 MB.",
    ),
  backfillToleratedFailurePercent: percent()
    .default(5)
    .describe(
      "Backfill - percent of listed objects whose batch may still fail after its retries without failing the run (0-100). Failed objects are listed in the run's results (backfill-results/ in the metadata bucket); running the backfill again picks them up.",
    ),
  listShards: wholeNumber(LIST_SHARDS.min, LIST_SHARDS.max)
    .default(4)
    .describe(
      "Partition values the newest-first list index spreads documents over (1-64). Each takes about 1,000 index writes per second (docs/api.md). May grow; never shrink it (documents in a dropped shard would no longer be listed until written again).",
    ),
  dashboardDir: text()
    .default("")
    .describe(
      "Folder with a built dashboard to upload, relative to the project. Empty for web/dist, rebuilt by build/dashboard.ts when its sources are newer.",
    ),
};

/** Checks between keys; each names the key it is about. */
const crossFieldChecks = (s: z.output<z.ZodObject<typeof fields>>, ctx: z.RefinementCtx) => {
  const fail = (key: ConfigKey, message: string) =>
    ctx.addIssue({ code: "custom", path: [key], message, params: { crossField: true } });
  if (!s.lab && s.alertEmail === "") {
    fail("alertEmail", "is required outside lab stacks: without it nobody hears a budget alert or an alarm");
  }
  if (!s.lab && s.accountId === "") {
    fail("accountId", "is required outside lab stacks: the stack must only ever run in its own account");
  }
  if ((s.invitationSesIdentityArn === "") !== (s.invitationFromAddress === "")) {
    fail("invitationSesIdentityArn", "and invitationFromAddress go together: set both or neither");
  }
};

/** The stack's configuration: every key of Pulumi.yaml's `config:`, without the project prefix. */
export const configSchema = z.object(fields).strict().superRefine(crossFieldChecks);

export type ConfigKey = keyof typeof fields;
/** The settings as set by a stack (keys with a default may be left out). */
export type PipelineSettingsInput = z.input<typeof configSchema>;
/** The settings the program works with: every key present, defaults applied, checked. */
export type PipelineSettings = z.output<typeof configSchema>;

/** The keys a stack must set: they have no default. */
export type RequiredConfigKey = {
  [K in ConfigKey]: (typeof fields)[K] extends z.ZodDefault<z.ZodType> ? never : K;
}[ConfigKey];

export const CONFIG_KEYS = Object.keys(fields) as ConfigKey[];

/** The default of every key that has one (the same values Pulumi.yaml declares); frozen, as it is shared. */
export const CONFIG_DEFAULTS = Object.freeze(
  Object.fromEntries(
    Object.entries(fields).flatMap(([key, field]) =>
      field instanceof z.ZodDefault ? [[key, Object.freeze(structuredClone(field.def.defaultValue))]] : [],
    ),
  ),
) as Omit<PipelineSettings, RequiredConfigKey>;

/** A key's declaration in Pulumi.yaml `config:` (the subset of the project file's config options used here). */
export interface PulumiConfigDeclaration {
  type: "string" | "integer" | "boolean" | "array";
  items?: { type: "string" };
  default?: unknown;
  description: string;
}

function jsonSchemaOf(key: ConfigKey): { type?: string; default?: unknown; description?: string } {
  return z.toJSONSchema(fields[key], { io: "input", unrepresentable: "any" }) as {
    type?: string;
    default?: unknown;
    description?: string;
  };
}

/** Pulumi.yaml's `config:` block, generated from the schema (tools/config-yaml.ts writes it). */
export function pulumiConfigDeclarations(): Record<ConfigKey, PulumiConfigDeclaration> {
  const out = {} as Record<ConfigKey, PulumiConfigDeclaration>;
  for (const key of CONFIG_KEYS) {
    const js = jsonSchemaOf(key);
    const type = js.type as PulumiConfigDeclaration["type"];
    if (!["string", "integer", "boolean", "array"].includes(type)) {
      throw new Error(`config ${key}: schema type ${js.type} has no Pulumi config type`);
    }
    out[key] = {
      type,
      ...(type === "array" ? { items: { type: "string" as const } } : {}),
      ...(js.default !== undefined ? { default: js.default } : {}),
      description: js.description ?? "",
    };
  }
  return out;
}

/**
 * Pulumi's string values (`pulumi config set`, PULUMI_CONFIG, the stack file merged by the plan)
 * turned into the declared types. A string that is not a value of its type is kept, so the
 * schema reports it as given.
 */
export function fromConfigStrings(get: (key: ConfigKey) => string | undefined): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const value = get(key);
    if (value === undefined) continue;
    const type = jsonSchemaOf(key).type;
    if (type === "integer") {
      raw[key] = value.trim() !== "" && Number.isFinite(Number(value)) ? Number(value) : value;
    } else if (type === "boolean") {
      raw[key] = value === "true" ? true : value === "false" ? false : value;
    } else if (type === "array") {
      try {
        raw[key] = JSON.parse(value);
      } catch {
        raw[key] = value;
      }
    } else {
      raw[key] = value;
    }
  }
  return raw;
}

const show = (value: unknown) => JSON.stringify(value) ?? String(value);

/**
 * Parses and checks the settings; throws one Error whose lines each name a key
 * (`config media-pipeline:<key> ...`), what is wrong and what is allowed.
 */
export function parsePipelineSettings(raw: Record<string, unknown>): PipelineSettings {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines: string[] = [];
  for (const issue of result.error.issues) {
    const key = issue.path[0];
    const name = `config ${PROJECT_NAME}:${key === undefined ? "" : String(key)}`;
    let line: string;
    if (issue.code === "unrecognized_keys") {
      line = `config ${PROJECT_NAME} has unknown keys ${issue.keys.join(", ")} (lib/config-schema.ts declares the keys)`;
    } else if (issue.code === "custom" && issue.params?.crossField === true) {
      line = `${name} ${issue.message}`; // a check between keys
    } else if (typeof key === "string" && raw[key] === undefined) {
      line = `${name} is required (it has no default): ${jsonSchemaOf(key as ConfigKey).description ?? ""}`;
    } else {
      line = `${name} must be ${issue.message}, got ${show(typeof key === "string" ? raw[key] : raw)}`;
    }
    if (!lines.includes(line)) lines.push(line);
  }
  throw new Error(lines.join("\n"));
}
