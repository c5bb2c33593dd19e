/**
 * Budgets-via-SNS events as Lambda receives them. The message text follows what AWS Budgets
 * publishes to a topic (the alert e-mail's text; see handlers/kill-switch/budget-alert.ts),
 * as captured in public SNS->Lambda events and test fixtures; names, accounts and amounts
 * here are ours.
 */
import type { SNSEvent } from "aws-lambda";

export interface BudgetTextOptions {
  name?: string;
  type?: "ACTUAL" | "FORECASTED";
  budgeted?: string;
  threshold?: string;
  /** The reported amount; null leaves the "<TYPE> Amount:" line out. */
  amount?: string | null;
  period?: string;
}

export function budgetText(o: BudgetTextOptions = {}): string {
  const name = o.name ?? "media-pipeline-prod";
  const type = o.type ?? "ACTUAL";
  const budgeted = o.budgeted ?? "$100.00";
  const threshold = o.threshold ?? "$100.00";
  const amount = o.amount === undefined ? "$104.17" : o.amount;
  const period = o.period ?? "for the current month";
  return [
    "AWS Budget Notification March 14, 2026",
    "AWS Account 210987654321",
    "",
    "Dear AWS Customer,",
    "",
    `You requested that we alert you when the ${type} Cost associated with your ${name} budget is greater than ${threshold} ${period}. The ${type} Cost associated with this budget is ${amount ?? "$0.00"}. You can find additional details below and by accessing the AWS Budgets dashboard [1].`,
    "",
    `Budget Name: ${name}`,
    "Budget Type: Cost",
    `Budgeted Amount: ${budgeted}`,
    `Alert Type: ${type}`,
    `Alert Threshold: > ${threshold}`,
    ...(amount === null ? [] : [`${type} Amount: ${amount}`]),
    "",
    "[1] https://console.aws.amazon.com/costmanagement/home#/budgets",
    "",
  ].join("\n");
}

export const TOPIC_ARN = "arn:aws:sns:us-east-1:210987654321:mp-prod-budget-alerts";

/** One SNS record as delivered to a Lambda subscription. */
export function snsEvent(
  message: string,
  messageId = "5d0b7a2e-3c1f-5e8a-9b4d-0f6c2a1e7d93",
  subject?: string,
): SNSEvent {
  return {
    Records: [
      {
        EventSource: "aws:sns",
        EventVersion: "1.0",
        EventSubscriptionArn: `${TOPIC_ARN}:7c9e6679-7425-40de-944b-e07fc1f90ae7`,
        Sns: {
          Type: "Notification",
          MessageId: messageId,
          TopicArn: TOPIC_ARN,
          Subject: subject ?? "AWS Budgets: media-pipeline-prod has exceeded your alert threshold",
          Message: message,
          Timestamp: "2026-03-14T06:12:44.311Z",
          SignatureVersion: "1",
          Signature: "EXAMPLE",
          SigningCertUrl: "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-EXAMPLE.pem",
          UnsubscribeUrl: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${TOPIC_ARN}:7c9e6679`,
          MessageAttributes: {},
        },
      },
    ],
  };
}
