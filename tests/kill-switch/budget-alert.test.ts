import { expect } from "chai";
import { parseBudgetAlert, parseQuantity, UnparseableAlertError } from "../../handlers/kill-switch/budget-alert";
import { budgetText } from "../../media/budget-events";

describe("kill switch: reading AWS Budgets alerts from SNS messages", () => {
  describe("plain text (what Budgets publishes)", () => {
    it("reads an ACTUAL alert: budget, type, amounts and percent of the budget", () => {
      const alert = parseBudgetAlert(budgetText({ budgeted: "$100.00", amount: "$104.17", threshold: "$100.00" }));
      expect(alert).to.include({
        format: "text",
        budgetName: "media-pipeline-prod",
        notificationType: "ACTUAL",
        budgetedAmount: 100,
        amount: 104.17,
        unit: "$",
        basis: "amount",
      });
      expect(alert.percentOfBudget).to.be.closeTo(104.17, 1e-9);
    });

    it("reads a FORECASTED alert from the FORECASTED Amount line, short amounts included ($0.5)", () => {
      const alert = parseBudgetAlert(
        budgetText({ type: "FORECASTED", budgeted: "$0.40", threshold: "$0.40", amount: "$0.5" }),
      );
      expect(alert.notificationType).to.equal("FORECASTED");
      expect(alert.amount).to.equal(0.5);
      expect(alert.percentOfBudget).to.be.closeTo(125, 1e-9);
    });

    it("reads a daily budget ('per day') and amounts with thousands separators", () => {
      const alert = parseBudgetAlert(
        budgetText({ budgeted: "$2,000.00", threshold: "$1,500.00", amount: "$1,640.25", period: "per day" }),
      );
      expect(alert.budgetedAmount).to.equal(2000);
      expect(alert.amount).to.equal(1640.25);
      expect(alert.percentOfBudget).to.be.closeTo(82.0125, 1e-9);
    });

    it("falls back to the alert threshold when the message carries no amount line", () => {
      const alert = parseBudgetAlert(budgetText({ budgeted: "$100.00", threshold: "$80.00", amount: null }));
      expect(alert.basis).to.equal("threshold");
      expect(alert.amount).to.equal(undefined);
      expect(alert.percentOfBudget).to.be.closeTo(80, 1e-9);
    });

    it("accepts Windows line endings and a budget name with spaces", () => {
      const alert = parseBudgetAlert(budgetText({ name: "Media Pipeline (prod)" }).replace(/\n/g, "\r\n"));
      expect(alert.budgetName).to.equal("Media Pipeline (prod)");
      expect(alert.percentOfBudget).to.be.closeTo(104.17, 1e-9);
    });
  });

  describe("JSON (Budgets API shapes, bare or in an EventBridge-style detail)", () => {
    it("reads BudgetName, BudgetLimit, CalculatedSpend and Notification", () => {
      const alert = parseBudgetAlert(
        JSON.stringify({
          Budget: {
            BudgetName: "media-pipeline-prod",
            BudgetLimit: { Amount: "200.0", Unit: "USD" },
            CalculatedSpend: {
              ActualSpend: { Amount: "150.0", Unit: "USD" },
              ForecastedSpend: { Amount: "390.0", Unit: "USD" },
            },
          },
          Notification: { NotificationType: "FORECASTED", Threshold: 100, ThresholdType: "PERCENTAGE" },
        }),
      );
      expect(alert).to.include({ format: "json", notificationType: "FORECASTED", budgetedAmount: 200, amount: 390 });
      expect(alert.unit).to.equal("USD");
      expect(alert.percentOfBudget).to.be.closeTo(195, 1e-9);
    });

    it("reads camelCase fields inside detail, and a percentage threshold when no spend is given", () => {
      const alert = parseBudgetAlert(
        JSON.stringify({
          "detail-type": "Budget Notification",
          detail: {
            budgetName: "media-pipeline-prod",
            budgetLimit: { amount: 100, unit: "USD" },
            notification: { notificationType: "ACTUAL", threshold: 110, thresholdType: "PERCENTAGE" },
          },
        }),
      );
      expect(alert).to.include({ notificationType: "ACTUAL", basis: "threshold", percentOfBudget: 110 });
    });

    it("turns an ABSOLUTE_VALUE threshold into a percent of the limit", () => {
      const alert = parseBudgetAlert(
        JSON.stringify({
          BudgetName: "b",
          BudgetLimit: { Amount: "50" },
          Notification: { NotificationType: "ACTUAL", Threshold: 60, ThresholdType: "ABSOLUTE_VALUE" },
        }),
      );
      expect(alert.percentOfBudget).to.be.closeTo(120, 1e-9);
    });
  });

  describe("messages that are not budget alerts", () => {
    const cases: Record<string, string> = {
      "a CloudWatch alarm": JSON.stringify({ AlarmName: "x", NewStateValue: "ALARM" }),
      "free text": "Hello from the test publish button",
      "an empty message": "",
      "broken JSON": '{"BudgetName": ',
      "a budget text without Budgeted Amount": budgetText().replace(/^Budgeted Amount:.*$/m, ""),
      "an unknown alert type": budgetText().replace("Alert Type: ACTUAL", "Alert Type: MAYBE"),
      "an unreadable amount": budgetText({ amount: "lots" }),
      "a zero budget and no amount": budgetText({ budgeted: "$0.00", amount: null }),
      "JSON without a notification type": JSON.stringify({ BudgetName: "b", BudgetLimit: { Amount: "1" } }),
    };
    for (const [what, message] of Object.entries(cases)) {
      it(`rejects ${what}`, () => {
        expect(() => parseBudgetAlert(message)).to.throw(UnparseableAlertError);
      });
    }
  });

  it("parses quantities with symbols, codes, comparison prefixes and percents", () => {
    expect(parseQuantity("> $80.00")).to.deep.equal({ value: 80, unit: "$", percent: false });
    expect(parseQuantity("100.00 USD")).to.deep.equal({ value: 100, unit: "USD", percent: false });
    expect(parseQuantity("80%")).to.deep.equal({ value: 80, unit: undefined, percent: true });
    expect(parseQuantity("$1,234,567.89")?.value).to.equal(1234567.89);
    expect(parseQuantity("n/a")).to.equal(undefined);
  });
});
