/**
 * MetadataApi: the read API. An API Gateway HTTP API (throttled, access-logged, CORS for
 * the dashboard) in front of one Lambda (handlers/api), with a JWT authorizer accepting the
 * tokens of its UserDirectory (user-directory.ts: the Cognito user pool whose public app client
 * signs the dashboard in with the authorization code flow and PKCE). Only GET /health is public.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { bundleArchive } from "../build/lambda-code";
import { ROUTE_TABLE } from "../lib/api-routes";
import type { LambdaArchitecture } from "../lib/ffprobe-pin";
import { LIST_SHARDS } from "../lib/list-index";
import { RAW_METADATA_PREFIX, UPLOAD_PREFIX } from "../lib/naming";
import { ENV } from "../lib/runtime-env";
import { lambdaRuntimeStatements, type PolicyStatement } from "./iam";
import { createNodeFunction } from "./node-function";
import { type BucketRef, checkLogRetention, type TableRef, UNRESERVED } from "./refs";
import { UserDirectory, type UserDirectoryArgs } from "./user-directory";

/**
 * The routes: ROUTE_TABLE of lib/api-routes.ts is their one declaration (the lab gateway
 * serves the same table). A public route has no authorizer; any other needs a token carrying
 * one of the route's scopes. Anything not listed answers 404 from API Gateway itself.
 */
export const API_GATEWAY_ROUTES = ROUTE_TABLE;

export interface ApiThrottle {
  /** Requests per second, steady state, for the whole stage. */
  rateLimit: number;
  /** Requests allowed in a burst above the rate. */
  burstLimit: number;
}

/**
 * The sign-in settings (deletionProtection, protect, invitationSender) are the UserDirectory's,
 * passed through.
 */
export interface MetadataApiArgs
  extends Pick<UserDirectoryArgs, "deletionProtection" | "protect" | "invitationSender"> {
  table: TableRef;
  /** The extractor's event source mapping, whose state GET /health reports (paused when disabled). */
  extractorEventSourceMapping?: { uuid: pulumi.Input<string>; arn: pulumi.Input<string> };
  /** The stats table GET /stats reads (MetadataStats); without it GET /stats answers 503. */
  statsTable?: { name: pulumi.Input<string>; arn: pulumi.Input<string> };
  /** Bucket the API presigns browser uploads into (under UPLOAD_PREFIX only). */
  ingestBucket: BucketRef;
  /** Bucket of raw ffprobe JSON the API presigns links to (under RAW_METADATA_PREFIX only). */
  metadataBucket: BucketRef;
  /** The dashboard's URL (origin, no trailing slash): the Cognito callback and a CORS origin. */
  dashboardUrl: pulumi.Input<string>;
  /** More browser origins allowed by CORS and as sign-in callbacks, e.g. a local dashboard. */
  extraOrigins?: pulumi.Input<string>[];
  architecture: LambdaArchitecture;
  throttle: ApiThrottle;
  logRetentionDays: number;
  /** Default 256 MB. */
  memoryMb?: number;
  /** Default 10 s (API Gateway gives up after 30 s anyway). */
  timeoutSeconds?: number;
  /** Concurrent executions reserved for the function; -1 (default) for none. */
  reservedConcurrency?: number;
  /** Prefix of the hosted sign-in domain; a hash of the pool id is appended so it is unique. Default: the component name. */
  authDomainPrefix?: string;
  /**
   * Secret the handler signs list cursors with (at least 32 characters). Kept in an SSM
   * Parameter Store SecureString (never in the function's environment), which the handler
   * reads once per container. Default: a random password generated once, encrypted in the
   * stack's state and in the parameter.
   */
  cursorSecret?: pulumi.Input<string>;
  /** Function code. Default: the esbuild bundle of handlers/api/index.ts. */
  code?: pulumi.asset.Archive;
}

export class MetadataApi extends pulumi.ComponentResource {
  /** The Cognito user pool, scopes, dashboard client and sign-in domain whose tokens the API accepts. */
  public readonly users: UserDirectory;
  public readonly logGroup: aws.cloudwatch.LogGroup;
  public readonly accessLogGroup: aws.cloudwatch.LogGroup;
  public readonly role: aws.iam.Role;
  public readonly rolePolicy: aws.iam.RolePolicy;
  public readonly function: aws.lambda.Function;
  public readonly httpApi: aws.apigatewayv2.Api;
  public readonly authorizer: aws.apigatewayv2.Authorizer;
  public readonly integration: aws.apigatewayv2.Integration;
  public readonly routes: Record<string, aws.apigatewayv2.Route>;
  public readonly stage: aws.apigatewayv2.Stage;
  public readonly invokePermission: aws.lambda.Permission;
  /** The generated cursor secret, when none was given. */
  public readonly cursorSecret?: random.RandomPassword;
  /** The SecureString parameter holding the cursor secret (its name is in CURSOR_SECRET_PARAMETER). */
  public readonly cursorSecretParameter: aws.ssm.Parameter;
  /** Base URL of the API, without a trailing slash. */
  public readonly url: pulumi.Output<string>;
  /** OIDC issuer of the user pool (tokens' `iss`). */
  public readonly issuer: pulumi.Output<string>;
  /** Base URL of the hosted sign-in pages. */
  public readonly authDomainUrl: pulumi.Output<string>;

  constructor(name: string, args: MetadataApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:api:MetadataApi", name, {}, opts);
    const parent = { parent: this };
    checkLogRetention(args.logRetentionDays, `MetadataApi ${name}`);
    const origins = pulumi
      .all([args.dashboardUrl, ...(args.extraOrigins ?? [])])
      .apply((list) => [...new Set(list.map((o) => o.replace(/\/+$/, "")))]);

    // --- Sign-in -------------------------------------------------------------------------
    this.users = new UserDirectory(
      name,
      {
        origins,
        deletionProtection: args.deletionProtection,
        protect: args.protect,
        invitationSender: args.invitationSender,
        domainPrefix: args.authDomainPrefix,
      },
      parent,
    );
    this.issuer = this.users.issuer;
    this.authDomainUrl = this.users.authDomainUrl;

    // --- Function --------------------------------------------------------------------------
    const timeoutSeconds = args.timeoutSeconds ?? 10;
    if (args.cursorSecret === undefined) {
      // Generated once per stack; replacing it only invalidates outstanding cursors.
      this.cursorSecret = new random.RandomPassword(`${name}-cursor-secret`, { length: 48, special: false }, parent);
    }
    const cursorSecret = args.cursorSecret ?? (this.cursorSecret as random.RandomPassword).result;
    // SecureString under the AWS managed key aws/ssm: its key policy lets this account's
    // principals decrypt through SSM, so the role needs ssm:GetParameter only.
    this.cursorSecretParameter = new aws.ssm.Parameter(
      `${name}-cursor-secret`,
      {
        name: `/${name}/cursor-secret`,
        type: "SecureString",
        value: pulumi.secret(cursorSecret),
        description: "media-pipeline read API: the key list cursors are signed with",
      },
      parent,
    );
    const fn = createNodeFunction(
      name,
      {
        code: args.code ?? bundleArchive("api"),
        architecture: args.architecture,
        memoryMb: args.memoryMb ?? 256,
        timeoutSeconds,
        reservedConcurrency: args.reservedConcurrency ?? UNRESERVED,
        // A pause sets the reserved concurrency to 0: a deploy must not lift it (KILL_SWITCH_OWNED).
        pausedByKillSwitch: true,
        logRetentionDays: args.logRetentionDays,
        roleDescription: "media-pipeline read API: reads metadata, presigns uploads and raw-metadata links",
        statements: (logGroupArn) => apiStatements(args, logGroupArn, this.cursorSecretParameter.arn),
        serviceName: "api",
        environment: {
          [ENV.tableName]: args.table.name,
          [ENV.listShards]: String(args.table.listShards ?? LIST_SHARDS.default),
          ...(args.statsTable ? { [ENV.statsTableName]: args.statsTable.name } : {}),
          ...(args.extractorEventSourceMapping
            ? { [ENV.extractorEventSourceMappingUuid]: args.extractorEventSourceMapping.uuid }
            : {}),
          [ENV.metadataBucket]: args.metadataBucket.name,
          [ENV.ingestBucket]: args.ingestBucket.name,
          // The parameter's name, not the secret: the handler reads the value once per container.
          [ENV.cursorSecretParameter]: this.cursorSecretParameter.name,
        },
      },
      this,
    );
    ({ logGroup: this.logGroup, role: this.role, rolePolicy: this.rolePolicy, function: this.function } = fn);

    // --- HTTP API --------------------------------------------------------------------------
    this.httpApi = new aws.apigatewayv2.Api(
      `${name}-http`,
      {
        protocolType: "HTTP",
        description: "media-pipeline read API",
        // API Gateway answers preflights itself, before the authorizer runs.
        corsConfiguration: {
          allowOrigins: origins,
          allowMethods: ["GET", "POST", "OPTIONS"],
          allowHeaders: ["authorization", "content-type"],
          maxAge: 3600,
        },
      },
      parent,
    );
    this.authorizer = new aws.apigatewayv2.Authorizer(
      `${name}-jwt`,
      {
        apiId: this.httpApi.id,
        name: "cognito",
        authorizerType: "JWT",
        identitySources: ["$request.header.Authorization"],
        // Cognito access tokens carry client_id instead of aud; API Gateway checks either against the audience.
        jwtConfiguration: { issuer: this.issuer, audiences: [this.users.client.id] },
      },
      parent,
    );
    this.integration = new aws.apigatewayv2.Integration(
      `${name}-lambda`,
      {
        apiId: this.httpApi.id,
        integrationType: "AWS_PROXY",
        integrationUri: this.function.invokeArn,
        payloadFormatVersion: "2.0",
        timeoutMilliseconds: Math.min(30_000, (timeoutSeconds + 1) * 1000),
      },
      parent,
    );
    this.routes = {};
    for (const route of API_GATEWAY_ROUTES) {
      this.routes[route.routeKey] = new aws.apigatewayv2.Route(
        `${name}-route-${routeSlug(route.routeKey)}`,
        {
          apiId: this.httpApi.id,
          routeKey: route.routeKey,
          target: pulumi.interpolate`integrations/${this.integration.id}`,
          ...(route.public
            ? { authorizationType: "NONE" }
            : { authorizationType: "JWT", authorizerId: this.authorizer.id, authorizationScopes: [...route.scopes] }),
        },
        parent,
      );
    }

    this.accessLogGroup = new aws.cloudwatch.LogGroup(
      `${name}-access-logs`,
      { namePrefix: `/aws/apigateway/${name}-`, retentionInDays: args.logRetentionDays },
      parent,
    );
    this.stage = new aws.apigatewayv2.Stage(
      `${name}-stage`,
      {
        apiId: this.httpApi.id,
        name: "$default",
        autoDeploy: true,
        defaultRouteSettings: {
          throttlingRateLimit: args.throttle.rateLimit,
          throttlingBurstLimit: args.throttle.burstLimit,
        },
        accessLogSettings: { destinationArn: this.accessLogGroup.arn, format: JSON.stringify(ACCESS_LOG_FORMAT) },
      },
      parent,
    );
    this.invokePermission = new aws.lambda.Permission(
      `${name}-invoke`,
      {
        action: "lambda:InvokeFunction",
        function: this.function.name,
        principal: "apigateway.amazonaws.com",
        // Any route of this API (and of no other) may invoke the function.
        sourceArn: pulumi.interpolate`${this.httpApi.executionArn}/*/*`,
      },
      parent,
    );
    this.url = this.httpApi.apiEndpoint;

    this.registerOutputs({
      url: this.url,
      issuer: this.issuer,
      authDomainUrl: this.authDomainUrl,
      userPoolId: this.users.userPool.id,
      clientId: this.users.client.id,
      functionName: this.function.name,
    });
  }
}

/** One JSON line per request in the access log. */
export const ACCESS_LOG_FORMAT = {
  requestId: "$context.requestId",
  ip: "$context.identity.sourceIp",
  time: "$context.requestTime",
  routeKey: "$context.routeKey",
  status: "$context.status",
  latencyMs: "$context.responseLatency",
  responseLength: "$context.responseLength",
  principal: "$context.authorizer.claims.sub",
  authorizerError: "$context.authorizer.error",
  integrationError: "$context.integrationErrorMessage",
};

/** The read API's grants, one statement per thing handlers/api does. */
export function apiStatements(
  args: Pick<
    MetadataApiArgs,
    "table" | "ingestBucket" | "metadataBucket" | "statsTable" | "extractorEventSourceMapping"
  >,
  logGroupArn: pulumi.Input<string>,
  cursorSecretParameterArn: pulumi.Input<string>,
): PolicyStatement[] {
  return [
    {
      Sid: "ReadCursorSecret",
      Effect: "Allow",
      Action: "ssm:GetParameter",
      Resource: cursorSecretParameterArn,
    },
    {
      Sid: "ListNewestFirst",
      Effect: "Allow",
      Action: "dynamodb:Query",
      Resource: args.table.listIndexArn,
    },
    {
      Sid: "ReadOneDocument",
      Effect: "Allow",
      Action: "dynamodb:GetItem",
      Resource: args.table.arn,
    },
    ...(args.extractorEventSourceMapping
      ? [
          {
            // GET /health: is the pipeline paused (the kill switch disables this mapping)?
            Sid: "ReadPipelineState",
            Effect: "Allow" as const,
            Action: "lambda:GetEventSourceMapping",
            Resource: args.extractorEventSourceMapping.arn,
          },
        ]
      : []),
    ...(args.statsTable
      ? [{ Sid: "ReadStats", Effect: "Allow" as const, Action: "dynamodb:GetItem", Resource: args.statsTable.arn }]
      : []),
    {
      // A presigned URL carries the signer's permissions: this is what a raw-metadata link can read.
      Sid: "PresignRawMetadataLinks",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: pulumi.interpolate`${args.metadataBucket.arn}/${RAW_METADATA_PREFIX}*`,
    },
    {
      Sid: "PresignUploads",
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: pulumi.interpolate`${args.ingestBucket.arn}/${UPLOAD_PREFIX}*`,
    },
    ...lambdaRuntimeStatements(logGroupArn),
  ];
}

/** "GET /files/{key+}" -> "get-files-key". */
export function routeSlug(routeKey: string): string {
  return routeKey
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
}
