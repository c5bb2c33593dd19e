/**
 * createNodeFunction: the one way a component here builds a Lambda function. It creates, as
 * children of the calling component, the function's log group, its role, the role's inline
 * policy and the Node.js function itself, wired the same way for every function of the stack:
 *
 *   <name>-logs    aws.cloudwatch.LogGroup  /aws/lambda/<name>-*, the function logs JSON to it
 *   <name>-role    aws.iam.Role             assumable by lambda.amazonaws.com only
 *   <name>-policy  aws.iam.RolePolicy       the caller's statements (given the log group's ARN)
 *   <name>         aws.lambda.Function      Node.js 22, index.handler, X-Ray active tracing
 *
 * A plain function in the style of pulumi-eks's `createNodeGroupSecurityGroup(name, args,
 * parent)` and pulumi-awsx's `defaultLogGroup()`/`defaultRoleWithPolicies()`: the component
 * keeps its own resources, its logical names and their URNs (the resources are the
 * component's children, exactly as when it created them itself).
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { LambdaArchitecture } from "../lib/ffprobe-pin";
import { ENV, METRICS_NAMESPACE } from "../lib/runtime-env";
import { type PolicyStatement, policyDocument, serviceTrustPolicy } from "./iam";
import { KILL_SWITCH_OWNED } from "./refs";

/** The runtime of every function of the stack (the bundles target it: build/bundles.ts). */
export const NODE_RUNTIME = aws.lambda.Runtime.NodeJS22dX;

export interface NodeFunctionArgs {
  /** The deployment package (an esbuild bundle with `index.handler`, bundleArchive in build/lambda-code.ts). */
  code: pulumi.asset.Archive;
  /** CPU architecture; a function using a layer runs on the layer's. */
  architecture: LambdaArchitecture;
  /** Versioned layer ARNs (the ffprobe layer). Default: none. */
  layers?: pulumi.Input<string>[];
  memoryMb: number;
  timeoutSeconds: number;
  /**
   * Reserved concurrent executions; -1 (UNRESERVED) for none. Default: not set, which Lambda
   * treats as none too.
   */
  reservedConcurrency?: number;
  /**
   * Powertools service name (POWERTOOLS_SERVICE_NAME): the `service` key of the function's log
   * lines and the `service` dimension of its EMF metrics, published under METRICS_NAMESPACE.
   */
  serviceName: string;
  /** The function's own environment variables (ENV of lib/runtime-env.ts), besides the two above. */
  environment: Record<string, pulumi.Input<string>>;
  /** The function's description. Default: none. */
  description?: string;
  /** Retention of the log group, in days (one CloudWatch accepts: checkLogRetention). */
  logRetentionDays: number;
  /** The role's description in IAM: what the function may do. */
  roleDescription: string;
  /**
   * The role's grants, given the log group's ARN: the component's own statements, which end
   * with lambdaRuntimeStatements(logGroupArn) (iam.ts) so the function can log and trace.
   */
  statements: (logGroupArn: pulumi.Output<string>) => pulumi.Input<PolicyStatement>[];
  /** X-Ray active tracing. Default true. */
  tracing?: boolean;
  /**
   * The kill switch pauses this function (reserved concurrency 0): a deploy must not lift a
   * pause, so the fields it owns are ignored (KILL_SWITCH_OWNED.function). Default false.
   */
  pausedByKillSwitch?: boolean;
}

/** What createNodeFunction made; the caller exposes them as its own fields. */
export interface NodeFunction {
  logGroup: aws.cloudwatch.LogGroup;
  role: aws.iam.Role;
  rolePolicy: aws.iam.RolePolicy;
  function: aws.lambda.Function;
}

/**
 * The log group, role, role policy and function named `name`, children of `parent`.
 * The log group is created before the function (and named for it), so no log line is lost and
 * retention applies from the start; the function waits for the role's grants and the log group.
 */
export function createNodeFunction(name: string, args: NodeFunctionArgs, parent: pulumi.Resource): NodeFunction {
  const logGroup = defaultLogGroup(name, args.logRetentionDays, parent);
  const { role, rolePolicy } = defaultRoleWithPolicy(name, args.roleDescription, args.statements(logGroup.arn), parent);
  const fn = new aws.lambda.Function(
    name,
    {
      ...(args.description === undefined ? {} : { description: args.description }),
      runtime: NODE_RUNTIME,
      architectures: [args.architecture],
      handler: "index.handler",
      code: args.code,
      role: role.arn,
      ...(args.layers === undefined ? {} : { layers: args.layers }),
      memorySize: args.memoryMb,
      timeout: args.timeoutSeconds,
      ...(args.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: args.reservedConcurrency }),
      ...(args.tracing === false ? {} : { tracingConfig: { mode: "Active" } }),
      // JSON lines into the log group above (Powertools' logger writes JSON already).
      loggingConfig: { logFormat: "JSON", logGroup: logGroup.name, applicationLogLevel: "INFO" },
      environment: {
        variables: {
          ...args.environment,
          [ENV.serviceName]: args.serviceName,
          [ENV.metricsNamespace]: METRICS_NAMESPACE,
        },
      },
    },
    {
      parent,
      dependsOn: [rolePolicy, logGroup],
      ...(args.pausedByKillSwitch ? { ignoreChanges: [...KILL_SWITCH_OWNED.function] } : {}),
    },
  );
  return { logGroup, role, rolePolicy, function: fn };
}

/** `<name>-logs`: the log group a function named `name` writes to (/aws/lambda/<name>-<suffix>). */
export function defaultLogGroup(name: string, retentionInDays: number, parent: pulumi.Resource) {
  return new aws.cloudwatch.LogGroup(
    `${name}-logs`,
    { namePrefix: `/aws/lambda/${name}-`, retentionInDays },
    { parent },
  );
}

/** `<name>-role`, assumable by Lambda, and `<name>-policy`, its inline policy of `statements`. */
export function defaultRoleWithPolicy(
  name: string,
  description: string,
  statements: pulumi.Input<PolicyStatement>[],
  parent: pulumi.Resource,
): { role: aws.iam.Role; rolePolicy: aws.iam.RolePolicy } {
  const role = new aws.iam.Role(
    `${name}-role`,
    { assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"), description },
    { parent },
  );
  const rolePolicy = new aws.iam.RolePolicy(
    `${name}-policy`,
    { role: role.name, policy: policyDocument(statements) },
    { parent },
  );
  return { role, rolePolicy };
}
