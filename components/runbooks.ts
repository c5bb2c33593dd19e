/**
 * Every alarm's description ends with the path of its runbook (docs/runbooks/<id>.md, in this
 * repository), so whoever the alarm wakes up lands on what to do. The id is the alarm's
 * logical name without the stack prefix and the components' `alarms` / `observability`
 * parts: `mp-dev-extractor-alarms-errors` -> `extractor-errors`,
 * `mp-prod-observability-dlq-depth` -> `dlq-depth`. tests/components/runbooks.test.ts checks
 * that every alarm of every stack has one, with the sections a runbook needs.
 */
import * as pulumi from "@pulumi/pulumi";
import { resourceName } from "../lib/naming";

/** Where the runbooks live, relative to the repository root. */
export const RUNBOOK_DIR = "docs/runbooks";

/** The runbook id of an alarm's logical name (see the file header). */
export function runbookId(alarmName: string, stack: string = pulumi.getStack()): string {
  const prefix = resourceName(stack, "");
  const local = alarmName.startsWith(prefix) ? alarmName.slice(prefix.length) : alarmName;
  return local
    .split("-")
    .filter((part) => part !== "alarms" && part !== "observability")
    .join("-");
}

export function runbookPath(alarmName: string, stack?: string): string {
  return `${RUNBOOK_DIR}/${runbookId(alarmName, stack)}.md`;
}

/** An alarm description with its runbook's path appended (CloudWatch allows 1,024 characters). */
export function withRunbook(
  description: pulumi.Input<string | undefined> | undefined,
  alarmName: string,
): pulumi.Output<string> {
  const path = runbookPath(alarmName);
  return pulumi.output(description).apply((d) => `${d ? `${d}. ` : ""}Runbook: ${path}`);
}
