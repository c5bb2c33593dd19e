/**
 * Pulumi mocks that answer like AWS would: the computed properties a resource gets on
 * creation (arn, id, name from the logical name plus a suffix, invokeArn, apiEndpoint,
 * CloudFront domainName, Cognito endpoint...), so the inputs of downstream resources are
 * known in a mocked plan. Values are derived from a hash of type and name: the same program
 * gives the same plan every time.
 *
 * Nothing here talks to AWS; every value is invented.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { AWS_TYPES } from "../../lib/aws-types";

export interface MockEnvironment {
  region: string;
  accountId: string;
}

export const DEFAULT_MOCK_ENVIRONMENT: MockEnvironment = { region: "us-east-1", accountId: "123456789012" };

type State = Record<string, unknown>;
type Inputs = Record<string, unknown>;

interface Ctx {
  name: string;
  inputs: Inputs;
  region: string;
  account: string;
  /** Deterministic hex digest of type and name. */
  hex: string;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** `name`, else `namePrefix` + 26 digits, else `<logical name>-<7 hex>` (Pulumi's autonaming). */
function physicalName(c: Ctx, nameKey = "name", prefixKey = "namePrefix"): string {
  const explicit = str(c.inputs[nameKey]);
  if (explicit) return explicit;
  const prefix = str(c.inputs[prefixKey]);
  if (prefix)
    return `${prefix}${BigInt(`0x${c.hex.slice(0, 20)}`)
      .toString()
      .padStart(26, "0")
      .slice(0, 26)}`;
  return `${c.name}-${c.hex.slice(0, 7)}`;
}

function uuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Upper-case alphanumerics from the digest, as CloudFront and Cognito ids look. */
function alnum(hex: string, length: number, upper = true): string {
  const chars = upper ? "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" : "abcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  for (let i = 0; out.length < length; i += 2)
    out += chars[Number.parseInt(hex.slice(i % 60, (i % 60) + 2), 16) % chars.length];
  return out;
}

type StateMaker = (c: Ctx) => { id: string; state: State };

const MAKERS: Record<string, StateMaker> = {
  [AWS_TYPES.bucket]: (c) => {
    const bucket = physicalName(c, "bucket", "bucketPrefix").toLowerCase();
    return {
      id: bucket,
      state: {
        bucket,
        arn: `arn:aws:s3:::${bucket}`,
        bucketDomainName: `${bucket}.s3.amazonaws.com`,
        bucketRegionalDomainName: `${bucket}.s3.${c.region}.amazonaws.com`,
        hostedZoneId: "Z3AQBSTGFYJSTF",
        region: c.region,
      },
    };
  },
  [AWS_TYPES.object]: (c) => {
    const key = str(c.inputs.key) ?? c.name;
    return { id: key, state: { key, etag: c.hex.slice(0, 32), versionId: "" } };
  },
  [AWS_TYPES.queue]: (c) => {
    const name = physicalName(c) + (c.inputs.fifoQueue ? ".fifo" : "");
    const url = `https://sqs.${c.region}.amazonaws.com/${c.account}/${name}`;
    return { id: url, state: { name, url, arn: `arn:aws:sqs:${c.region}:${c.account}:${name}` } };
  },
  [AWS_TYPES.table]: (c) => {
    const name = physicalName(c);
    return { id: name, state: { name, arn: `arn:aws:dynamodb:${c.region}:${c.account}:table/${name}` } };
  },
  [AWS_TYPES.role]: (c) => {
    const name = physicalName(c);
    return {
      id: name,
      state: { name, arn: `arn:aws:iam::${c.account}:role/${name}`, uniqueId: `AROA${alnum(c.hex, 17)}` },
    };
  },
  [AWS_TYPES.rolePolicy]: (c) => {
    const name = physicalName(c);
    return { id: `${str(c.inputs.role) ?? "role"}:${name}`, state: { name } };
  },
  [AWS_TYPES.iamPolicy]: (c) => {
    const name = physicalName(c);
    const arn = `arn:aws:iam::${c.account}:policy/${name}`;
    return { id: arn, state: { name, arn, policyId: `ANPA${alnum(c.hex, 17)}` } };
  },
  [AWS_TYPES.function]: (c) => {
    const name = physicalName(c);
    const arn = `arn:aws:lambda:${c.region}:${c.account}:function:${name}`;
    return {
      id: name,
      state: {
        name,
        arn,
        qualifiedArn: `${arn}:$LATEST`,
        version: "$LATEST",
        invokeArn: `arn:aws:apigateway:${c.region}:lambda:path/2015-03-31/functions/${arn}/invocations`,
        qualifiedInvokeArn: `arn:aws:apigateway:${c.region}:lambda:path/2015-03-31/functions/${arn}:$LATEST/invocations`,
        sourceCodeHash: c.hex.slice(0, 43),
      },
    };
  },
  [AWS_TYPES.layer]: (c) => {
    const layerArn = `arn:aws:lambda:${c.region}:${c.account}:layer:${str(c.inputs.layerName) ?? c.name}`;
    return {
      id: `${layerArn}:1`,
      state: { layerArn, arn: `${layerArn}:1`, version: "1", codeSha256: c.hex.slice(0, 43) },
    };
  },
  [AWS_TYPES.eventSourceMapping]: (c) => {
    const id = uuid(c.hex);
    return {
      id,
      state: {
        uuid: id,
        arn: `arn:aws:lambda:${c.region}:${c.account}:event-source-mapping:${id}`,
        functionArn: c.inputs.functionName,
        state: "Enabled",
      },
    };
  },
  [AWS_TYPES.permission]: (c) => {
    const statementId = str(c.inputs.statementId) ?? `${c.name}-${c.hex.slice(0, 7)}`;
    return { id: statementId, state: { statementId } };
  },
  [AWS_TYPES.logGroup]: (c) => {
    const name = physicalName(c);
    return { id: name, state: { name, arn: `arn:aws:logs:${c.region}:${c.account}:log-group:${name}` } };
  },
  [AWS_TYPES.metricAlarm]: (c) => {
    const name = physicalName(c);
    return { id: name, state: { name, arn: `arn:aws:cloudwatch:${c.region}:${c.account}:alarm:${name}` } };
  },
  [AWS_TYPES.topic]: (c) => {
    const name = physicalName(c);
    const arn = `arn:aws:sns:${c.region}:${c.account}:${name}`;
    return { id: arn, state: { name, arn } };
  },
  [AWS_TYPES.canary]: (c) => {
    const name = physicalName(c);
    // Synthetics runs the canary as a Lambda function of its own, cwsyn-<name>-<id>, published as a version.
    const fn = `cwsyn-${name}-${uuid(c.hex)}`;
    return {
      id: name,
      state: {
        name,
        arn: `arn:aws:synthetics:${c.region}:${c.account}:canary:${name}`,
        engineArn: `arn:aws:lambda:${c.region}:${c.account}:function:${fn}:1`,
        sourceLocationArn: `arn:aws:lambda:${c.region}:${c.account}:layer:cwsyn-${name}-${c.hex.slice(0, 8)}:1`,
        status: c.inputs.startCanary ? "RUNNING" : "READY",
      },
    };
  },
  [AWS_TYPES.cloudwatchDashboard]: (c) => {
    const name = physicalName(c, "dashboardName");
    return {
      id: name,
      state: { dashboardName: name, dashboardArn: `arn:aws:cloudwatch::${c.account}:dashboard/${name}` },
    };
  },
  [AWS_TYPES.budget]: (c) => {
    const name = physicalName(c);
    return { id: `${c.account}:${name}`, state: { name, arn: `arn:aws:budgets::${c.account}:budget/${name}` } };
  },
  [AWS_TYPES.httpApi]: (c) => {
    const id = alnum(c.hex, 10, false);
    return {
      id,
      state: {
        apiEndpoint: `https://${id}.execute-api.${c.region}.amazonaws.com`,
        executionArn: `arn:aws:execute-api:${c.region}:${c.account}:${id}`,
        arn: `arn:aws:apigateway:${c.region}::/apis/${id}`,
        name: physicalName(c),
      },
    };
  },
  [AWS_TYPES.stage]: (c) => {
    const apiId = str(c.inputs.apiId) ?? "api";
    const stage = str(c.inputs.name) ?? c.name;
    const base = `https://${apiId}.execute-api.${c.region}.amazonaws.com`;
    return {
      id: stage,
      state: {
        invokeUrl: stage === "$default" ? `${base}/` : `${base}/${stage}`,
        executionArn: `arn:aws:execute-api:${c.region}:${c.account}:${apiId}/${stage}`,
        arn: `arn:aws:apigateway:${c.region}::/apis/${apiId}/stages/${stage}`,
      },
    };
  },
  [AWS_TYPES.userPool]: (c) => {
    const id = `${c.region}_${alnum(c.hex, 9, false).replace(/^./, (ch) => ch.toUpperCase())}`;
    return {
      id,
      state: {
        name: physicalName(c),
        arn: `arn:aws:cognito-idp:${c.region}:${c.account}:userpool/${id}`,
        endpoint: `cognito-idp.${c.region}.amazonaws.com/${id}`,
      },
    };
  },
  [AWS_TYPES.userPoolClient]: (c) => ({ id: alnum(c.hex, 26, false), state: {} }),
  [AWS_TYPES.userPoolDomain]: (c) => ({
    id: str(c.inputs.domain) ?? c.name,
    state: { cloudfrontDistribution: `d${alnum(c.hex, 13, false)}.cloudfront.net`, version: "1" },
  }),
  [AWS_TYPES.resourceServer]: (c) => {
    const identifier = str(c.inputs.identifier) ?? c.name;
    const scopes = Array.isArray(c.inputs.scopes) ? (c.inputs.scopes as { scopeName?: string }[]) : [];
    return {
      id: `${str(c.inputs.userPoolId) ?? "pool"}|${identifier}`,
      state: { scopeIdentifiers: scopes.map((s) => `${identifier}/${s.scopeName}`) },
    };
  },
  "random:index/randomPassword:RandomPassword": (c) => {
    const length = typeof c.inputs.length === "number" ? c.inputs.length : 16;
    // Secret outputs, as the provider marks them: the plan prints them masked.
    const result = pulumi.secret(c.hex.repeat(Math.ceil(length / 64)).slice(0, length));
    return { id: "none", state: { result, bcryptHash: pulumi.secret("$2a$10$mocked") } };
  },
  "random:index/randomString:RandomString": (c) => {
    const length = typeof c.inputs.length === "number" ? c.inputs.length : 16;
    return { id: "none", state: { result: pulumi.secret(c.hex.repeat(Math.ceil(length / 64)).slice(0, length)) } };
  },
  [AWS_TYPES.distribution]: (c) => {
    const id = `E${alnum(c.hex, 13)}`;
    return {
      id,
      state: {
        arn: `arn:aws:cloudfront::${c.account}:distribution/${id}`,
        domainName: `d${alnum(c.hex.slice(13), 13, false)}.cloudfront.net`,
        hostedZoneId: "Z2FDTNDATAQYW2",
        status: "Deployed",
        etag: `E${alnum(c.hex.slice(20), 13)}`,
      },
    };
  },
  [AWS_TYPES.stateMachine]: (c) => {
    const name = physicalName(c);
    const arn = `arn:aws:states:${c.region}:${c.account}:stateMachine:${name}`;
    return { id: arn, state: { name, arn, status: "ACTIVE", revisionId: uuid(c.hex), stateMachineVersionArn: "" } };
  },
  [AWS_TYPES.ssmParameter]: (c) => {
    const name = physicalName(c);
    // A name starting with "/" follows "parameter" directly; others get a "/" in between.
    const arn = `arn:aws:ssm:${c.region}:${c.account}:parameter${name.startsWith("/") ? "" : "/"}${name}`;
    return { id: name, state: { name, arn, version: 1 } };
  },
  [AWS_TYPES.eventRule]: (c) => {
    const name = physicalName(c);
    return { id: name, state: { name, arn: `arn:aws:events:${c.region}:${c.account}:rule/${name}` } };
  },
  [AWS_TYPES.originAccessControl]: (c) => ({
    id: `E${alnum(c.hex, 13)}`,
    state: { etag: `E${alnum(c.hex.slice(20), 13)}` },
  }),
  [AWS_TYPES.responseHeadersPolicy]: (c) => ({
    id: uuid(c.hex),
    state: { etag: `E${alnum(c.hex.slice(20), 13)}` },
  }),
};

/** Resources with no maker get an id and, when they look named, a name and a generic ARN. */
function genericState(type: string, c: Ctx): { id: string; state: State } {
  const service = type.split(":")[1]?.split("/")[0] ?? "unknown";
  const name = physicalName(c);
  return { id: name, state: { name, arn: `arn:aws:${service}:${c.region}:${c.account}:${name}` } };
}

export function digestOf(type: string, name: string): string {
  return createHash("sha256").update(`${type}\0${name}`).digest("hex");
}

/** Mocks answering from `environment()` (read per call, so one installed mock serves several stacks). */
export function realisticMocks(environment: () => MockEnvironment): pulumi.runtime.Mocks {
  return {
    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
      const inputs = (args.inputs ?? {}) as Inputs;
      if (args.custom === false) return { id: undefined, state: {} };
      if (args.type.startsWith("pulumi:providers:")) {
        return { id: uuid(digestOf(args.type, args.name)), state: { ...inputs } };
      }
      const env = environment();
      const ctx: Ctx = {
        name: args.name,
        inputs,
        region: str(inputs.region) ?? env.region,
        account: env.accountId,
        hex: digestOf(args.type, args.name),
      };
      const made = (MAKERS[args.type] ?? ((c: Ctx) => genericState(args.type, c)))(ctx);
      return { id: made.id, state: { ...inputs, ...made.state } };
    },
    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
      const env = environment();
      switch (args.token) {
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return {
            id: env.accountId,
            accountId: env.accountId,
            arn: `arn:aws:iam::${env.accountId}:user/mocked`,
            userId: "AIDAMOCKEDUSER",
          };
        case "aws:index/getRegion:getRegion":
          return { id: env.region, name: env.region, region: env.region, endpoint: `ec2.${env.region}.amazonaws.com` };
        case "aws:index/getPartition:getPartition":
          return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
        default:
          throw new Error(`the mocked plan has no answer for the invoke ${args.token}; add one to tools/plan/mocks.ts`);
      }
    },
  };
}
