/**
 * no-escape-hatches: nothing in the stack deploys resources the pack cannot see. Every other policy
 * judges the resources the engine registers; a resource that deploys a template or runs arbitrary
 * code creates cloud resources that never reach the analyzer:
 *  - CloudFormation stacks, stack sets and their instances, registered CloudFormation types,
 *    Serverless Application Repository stacks, Service Catalog provisioned products (each deploys
 *    a template), Cloud Control resources (any CloudFormation-registry resource from a JSON
 *    document), `aws.lambda.Invocation` (runs a function at deploy time);
 *  - dynamic providers (`pulumi-nodejs:dynamic:*`: arbitrary code with the deployer's credentials);
 *  - custom resources of any package outside `allowedPackages` (another provider, e.g.
 *    aws-native or command, whose resources the pack's rules do not read).
 * A justified one is allowed by a named exception in the stack's policy config.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { AWS_TYPES } from "../lib/aws-types";
import { withExceptions } from "./exceptions";
import { configOf, schemaWithNote } from "./util";

export const TEMPLATE_TYPES: Record<string, string> = {
  [AWS_TYPES.cloudFormationStack]: "deploys a CloudFormation template",
  [AWS_TYPES.cloudFormationStackSet]: "deploys a CloudFormation template to other accounts and regions",
  [AWS_TYPES.cloudFormationStackSetInstance]: "deploys a CloudFormation stack set instance",
  [AWS_TYPES.cloudFormationStackInstances]: "deploys CloudFormation stack set instances",
  [AWS_TYPES.cloudFormationType]: "registers a CloudFormation resource type (custom code)",
  [AWS_TYPES.serverlessRepoStack]:
    "deploys a Serverless Application Repository application (a CloudFormation template)",
  [AWS_TYPES.provisionedProduct]: "provisions a Service Catalog product (a template)",
  [AWS_TYPES.cloudControlResource]: "creates any CloudFormation-registry resource from a JSON document",
  [AWS_TYPES.invocation]: "runs a Lambda function at deploy time",
};

export interface EscapeHatchesConfig {
  /** Packages whose custom resources the pack's rules understand. */
  allowedPackages: string[];
}

export const ESCAPE_HATCHES_DEFAULTS: EscapeHatchesConfig = { allowedPackages: ["aws", "random", "pulumi"] };

export const noEscapeHatches: ResourceValidationPolicy = withExceptions({
  name: "no-escape-hatches",
  description:
    "Nothing deploys resources the pack cannot see: no CloudFormation stacks or stack sets, Serverless Application " +
    "Repository or Service Catalog stacks, Cloud Control resources, deploy-time Lambda invocations, dynamic " +
    "providers, or resources of providers outside allowedPackages.",
  enforcementLevel: "mandatory",
  configSchema: schemaWithNote({
    properties: {
      allowedPackages: {
        type: "array",
        items: { type: "string", minLength: 1 },
        uniqueItems: true,
        default: [...ESCAPE_HATCHES_DEFAULTS.allowedPackages],
        description: "Packages (the first part of a type token) whose resources may be deployed.",
      },
    },
  }),
  remediationSteps:
    "Declare the resources directly with @pulumi/aws so every policy sees them; if a template or another provider " +
    "is truly needed, add a named exception with a reason to the stack's policy config.",
  validateResource: (args, reportViolation) => {
    const what = `${args.name} (${args.type})`;
    const template = TEMPLATE_TYPES[args.type];
    if (template) {
      reportViolation(
        `${what} ${template}; what it creates never reaches the policy pack, so no policy can check it. Declare the ` +
          "resources with @pulumi/aws instead.",
      );
      return;
    }
    if (/^pulumi-[a-z]+:dynamic[:/]/.test(args.type)) {
      reportViolation(
        `${what} is a dynamic provider resource: it runs arbitrary code with the deployer's credentials, and what it ` +
          "creates never reaches the policy pack. Use a @pulumi/aws resource instead.",
      );
      return;
    }
    const { allowedPackages } = configOf(args, ESCAPE_HATCHES_DEFAULTS);
    const isProvider = args.type.startsWith("pulumi:providers:");
    const pkg = isProvider ? args.type.slice("pulumi:providers:".length) : args.type.split(":")[0];
    // Components (no provider) build nothing themselves; their children are checked one by one.
    if (!isProvider && args.provider === undefined) return;
    if (pkg && !allowedPackages.includes(pkg)) {
      reportViolation(
        `${what} comes from the ${pkg} provider, outside allowedPackages (${allowedPackages.join(", ")}); the pack's ` +
          "rules do not read its resources. Use @pulumi/aws, or add a named exception with a reason.",
      );
    }
  },
});
