/**
 * One IAM decision by @cloud-copilot/iam-simulate: an identity policy (for a role) and/or a
 * resource policy, a principal, an action, a resource and request context. Offline, no AWS.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { PolicyJson } from "../components/helpers";

export const ACCOUNT = "123456789012";
export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

export interface Request {
  action: string;
  resource: string;
  /** Identity policy of the caller; omitted for service principals. */
  identity?: PolicyJson;
  principal?: string;
  resourcePolicy?: PolicyJson;
  context?: Record<string, string | string[]>;
}

export async function decide(req: Request): Promise<Decision> {
  const result = await runSimulation(
    {
      identityPolicies: req.identity ? [{ name: "role-policy", policy: req.identity }] : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: req.resourcePolicy,
      request: {
        principal: req.principal ?? `arn:aws:iam::${ACCOUNT}:role/function-role`,
        action: req.action,
        resource: { resource: req.resource, accountId: ACCOUNT },
        contextVariables: { "aws:SecureTransport": "true", ...req.context },
      },
    },
    {},
  );
  if (result.resultType === "error") {
    throw new Error(`iam-simulate rejected ${req.action} on ${req.resource}: ${JSON.stringify(result.errors)}`);
  }
  return result.overallResult as Decision;
}
