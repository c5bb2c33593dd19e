/**
 * Reads an AWS Budgets alert out of an SNS message (`Records[].Sns.Message`).
 *
 * What Budgets publishes to an SNS topic is plain text, the same text as the alert e-mail:
 *
 *   AWS Budget Notification May 13, 2024
 *   AWS Account 123456789012
 *   ...
 *   Budget Name: media-pipeline-prod
 *   Budget Type: Cost
 *   Budgeted Amount: $100.00
 *   Alert Type: ACTUAL                       (or FORECASTED)
 *   Alert Threshold: > $80.00                (the notification's threshold, in budget units)
 *   ACTUAL Amount: $104.17                   ("FORECASTED Amount:" for forecasts)
 *
 * (Subject "AWS Budgets: <name> has exceeded your alert threshold"; amounts may have no
 * trailing zeros, e.g. "$0.5", and daily budgets say "per day" in the prose.) AWS documents
 * no JSON body for these notifications, but JSON built from the Budgets API types
 * (BudgetName, BudgetLimit, CalculatedSpend.ActualSpend/ForecastedSpend, Notification
 * {NotificationType, Threshold, ThresholdType}) is accepted too, bare or inside an
 * EventBridge-style `detail`, so a relay that re-publishes a budget as JSON works.
 *
 * The result says how far over the budget the alert is, in percent of the budgeted amount:
 * from the reported actual/forecasted amount when there is one, else from the alert's own
 * threshold (the amount is past it, so that is a lower bound).
 */

export type NotificationType = "ACTUAL" | "FORECASTED";

export interface BudgetAlert {
  /** Where it was read from: the SNS text, a JSON relay, or the Budgets API (scheduled check). */
  format: "text" | "json" | "api";
  budgetName: string;
  notificationType: NotificationType;
  budgetedAmount: number;
  /** The actual or forecasted amount the alert reports, when it does. */
  amount?: number;
  /** Currency symbol or unit as written ("$", "USD", "GB"); informational. */
  unit?: string;
  /** Percent of the budgeted amount the alert stands for. */
  percentOfBudget: number;
  /** Where percentOfBudget comes from. */
  basis: "amount" | "threshold";
}

/** The message is not a budget alert this parser understands. */
export class UnparseableAlertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnparseableAlertError";
  }
}

export function parseBudgetAlert(message: string): BudgetAlert {
  const text = message.trim();
  if (text.startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new UnparseableAlertError("message starts like JSON but is not valid JSON");
    }
    return parseJsonAlert(json);
  }
  return parseTextAlert(text);
}

// --- plain text -------------------------------------------------------------------------

/** "Key: value" lines; keys are matched case-insensitively. */
function fields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z][A-Za-z ]{0,40}?)\s*:\s*(.*?)\s*$/.exec(line);
    if (m && !out.has(m[1].toLowerCase())) out.set(m[1].toLowerCase(), m[2]);
  }
  return out;
}

function parseTextAlert(text: string): BudgetAlert {
  const f = fields(text);
  const budgetName = f.get("budget name");
  const budgeted = f.get("budgeted amount");
  // Positive anchors only: anything else on the topic must never pause production.
  if (!budgetName || budgeted === undefined) {
    throw new UnparseableAlertError('no "Budget Name:" and "Budgeted Amount:" lines: not an AWS Budgets alert');
  }
  const budget = parseQuantity(budgeted);
  if (!budget || budget.percent) throw new UnparseableAlertError(`unreadable Budgeted Amount "${budgeted}"`);

  const notificationType = textNotificationType(f, text);
  const reported = f.get(`${notificationType.toLowerCase()} amount`);
  const amount = reported === undefined ? undefined : parseQuantity(reported);
  if (reported !== undefined && (!amount || amount.percent)) {
    throw new UnparseableAlertError(`unreadable ${notificationType} Amount "${reported}"`);
  }
  const thresholdText = f.get("alert threshold");
  const threshold = thresholdText === undefined ? undefined : parseQuantity(thresholdText);
  return withPercent({
    format: "text",
    budgetName,
    notificationType,
    budgetedAmount: budget.value,
    amount: amount?.value,
    unit: budget.unit ?? amount?.unit,
    threshold,
  });
}

function textNotificationType(f: Map<string, string>, text: string): NotificationType {
  const declared = f.get("alert type")?.toUpperCase();
  if (declared === "ACTUAL" || declared === "FORECASTED") return declared;
  if (declared !== undefined) throw new UnparseableAlertError(`unknown Alert Type "${f.get("alert type")}"`);
  // Older or trimmed messages: the prose says "when the ACTUAL Cost associated with ...".
  const prose = /\bwhen the (ACTUAL|FORECASTED)\b/.exec(text)?.[1];
  if (prose === "ACTUAL" || prose === "FORECASTED") return prose;
  if (f.has("actual amount") !== f.has("forecasted amount")) return f.has("actual amount") ? "ACTUAL" : "FORECASTED";
  throw new UnparseableAlertError("cannot tell whether the alert is ACTUAL or FORECASTED");
}

interface Quantity {
  value: number;
  unit?: string;
  /** The value is a percentage ("80%"), not an amount. */
  percent: boolean;
}

/** "$1,234.50", "> $80.00", "100.00 USD", "0.5", "80%": the number, its unit, whether it is a percentage. */
export function parseQuantity(raw: string): Quantity | undefined {
  const s = raw.replace(/^[<>=]+\s*/, "").trim();
  const m = /^([^\d.-]*?)\s*(-?(?:\d[\d,]*(?:\.\d+)?|\.\d+))\s*(%|[^\d\s][^\s]*)?\s*$/.exec(s);
  if (!m) return undefined;
  const value = Number(m[2].replace(/,/g, ""));
  if (!Number.isFinite(value)) return undefined;
  const percent = m[3] === "%";
  const unit = (m[1] || (percent ? "" : m[3]) || "").trim() || undefined;
  return { value, unit, percent };
}

// --- JSON -------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Property by name, any capitalisation ("BudgetName" or "budgetName"). */
function prop(obj: unknown, name: string): unknown {
  if (!isObject(obj)) return undefined;
  const want = name.toLowerCase();
  const key = Object.keys(obj).find((k) => k.toLowerCase() === want);
  return key === undefined ? undefined : obj[key];
}

function path(obj: unknown, ...names: string[]): unknown {
  return names.reduce<unknown>((cur, name) => prop(cur, name), obj);
}

function jsonNumber(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string") return parseQuantity(v)?.value;
  return undefined;
}

function parseJsonAlert(json: unknown): BudgetAlert {
  const body = isObject(prop(json, "detail")) ? prop(json, "detail") : json;
  const budget = isObject(prop(body, "Budget")) ? prop(body, "Budget") : body;
  const budgetName = prop(body, "BudgetName") ?? prop(budget, "BudgetName");
  const limit = prop(budget, "BudgetLimit") ?? prop(body, "BudgetLimit");
  const budgetedAmount = jsonNumber(prop(limit, "Amount") ?? limit);
  if (typeof budgetName !== "string" || budgetName === "" || budgetedAmount === undefined) {
    throw new UnparseableAlertError("JSON message has no BudgetName and BudgetLimit.Amount: not a budget alert");
  }
  const notification = prop(body, "Notification");
  const type = String(prop(notification, "NotificationType") ?? prop(body, "NotificationType") ?? "").toUpperCase();
  if (type !== "ACTUAL" && type !== "FORECASTED") {
    throw new UnparseableAlertError(`JSON message has no NotificationType ACTUAL or FORECASTED (got "${type}")`);
  }
  const spendName = type === "ACTUAL" ? "ActualSpend" : "ForecastedSpend";
  const spend = path(budget, "CalculatedSpend", spendName) ?? path(body, "CalculatedSpend", spendName);
  const spendOrTop = spend ?? prop(body, spendName);
  const amount = jsonNumber(prop(spendOrTop, "Amount") ?? spendOrTop);
  const thresholdValue = jsonNumber(prop(notification, "Threshold") ?? prop(body, "Threshold"));
  const thresholdType = String(prop(notification, "ThresholdType") ?? prop(body, "ThresholdType") ?? "PERCENTAGE");
  const unit = prop(limit, "Unit");
  return withPercent({
    format: "json",
    budgetName,
    notificationType: type,
    budgetedAmount,
    amount,
    unit: typeof unit === "string" ? unit : undefined,
    // The Budgets API's Threshold is a percentage unless ThresholdType is ABSOLUTE_VALUE.
    threshold:
      thresholdValue === undefined
        ? undefined
        : { value: thresholdValue, percent: thresholdType.toUpperCase() !== "ABSOLUTE_VALUE" },
  });
}

// --- percent ----------------------------------------------------------------------------

function withPercent(a: Omit<BudgetAlert, "percentOfBudget" | "basis"> & { threshold?: Quantity }): BudgetAlert {
  const { threshold, ...alert } = a;
  if (alert.amount !== undefined && alert.budgetedAmount > 0) {
    return { ...alert, percentOfBudget: (alert.amount / alert.budgetedAmount) * 100, basis: "amount" };
  }
  if (threshold?.percent) return { ...alert, percentOfBudget: threshold.value, basis: "threshold" };
  if (threshold && alert.budgetedAmount > 0) {
    return { ...alert, percentOfBudget: (threshold.value / alert.budgetedAmount) * 100, basis: "threshold" };
  }
  throw new UnparseableAlertError(
    alert.budgetedAmount > 0
      ? `no ${alert.notificationType} amount and no alert threshold: cannot tell how far over budget`
      : `budgeted amount is ${alert.budgetedAmount}: no percentage can be derived`,
  );
}
