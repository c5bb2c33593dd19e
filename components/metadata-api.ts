/**
 * MetadataApi: the read API. An API Gateway HTTP API (throttled, access-logged, CORS for
 * the dashboard) in front of one Lambda (handlers/api), with a JWT authorizer backed by a
 * Cognito user pool whose public app client signs the dashboard in with the authorization
 * code flow and PKCE. Only GET /health is public.
 */
import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { bundleArchive } from "../build/lambda-code";
import { ROUTE_TABLE } from "../lib/api-routes";
import { API_SCOPE_NAMES, DASHBOARD_SCOPES, RESOURCE_SERVER_IDENTIFIER } from "../lib/auth";
import { DEFAULT_REDIRECT_PATH } from "../lib/dashboard-config";
import type { LambdaArchitecture } from "../lib/ffprobe-pin";
import { LIST_SHARDS } from "../lib/list-index";
import { RAW_METADATA_PREFIX, UPLOAD_PREFIX } from "../lib/naming";
import { ENV, METRICS_NAMESPACE } from "../lib/runtime-env";
import { lambdaRuntimeStatements, type PolicyStatement, policyDocument, serviceTrustPolicy } from "./iam";
import {
  type BucketRef,
  checkLogRetention,
  KILL_SWITCH_OWNED,
  stateProtection,
  type TableRef,
  UNRESERVED,
} from "./refs";

/**
 * The Cognito managed-login version of the sign-in domain: 1 is the classic hosted UI the
 * dashboard was built against. Pinned, so a provider or service default cannot switch the
 * pages under the users (version 2 also needs a branding style to look like anything).
 */
export const MANAGED_LOGIN_VERSION = 1;

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

export interface MetadataApiArgs {
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
  /** Refuse to delete the user pool (and its users) while on. */
  deletionProtection: boolean;
  /**
   * Pulumi refuses to delete or replace the user pool (`protect`: a ForceNew change such as
   * usernameAttributes would otherwise create an empty pool and lock every user out) and
   * leaves it in the account if it is removed from the program (`retainOnDelete`). Default false.
   */
  protect?: boolean;
  /**
   * Send invitations and verification mail through Amazon SES instead of Cognito's built-in
   * sender (about 50 messages a day per account): the ARN of a verified SES identity and the
   * From address. Default: Cognito's sender.
   */
  invitationSender?: { sesIdentityArn: string; fromAddress: string };
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
  public readonly userPool: aws.cognito.UserPool;
  public readonly resourceServer: aws.cognito.ResourceServer;
  public readonly userPoolClient: aws.cognito.UserPoolClient;
  public readonly userPoolDomain: aws.cognito.UserPoolDomain;
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
    this.userPool = new aws.cognito.UserPool(
      `${name}-users`,
      {
        // Lite covers the hosted UI, TOTP MFA and this pool's size; no per-feature charges.
        userPoolTier: "LITE",
        usernameAttributes: ["email"],
        autoVerifiedAttributes: ["email"],
        // Nobody signs themselves up: an administrator invites users.
        adminCreateUserConfig: { allowAdminCreateUserOnly: true },
        passwordPolicy: {
          minimumLength: 12,
          requireLowercase: true,
          requireUppercase: true,
          requireNumbers: true,
          requireSymbols: false,
          temporaryPasswordValidityDays: 7,
        },
        mfaConfiguration: "OPTIONAL",
        softwareTokenMfaConfiguration: { enabled: true },
        accountRecoverySetting: { recoveryMechanisms: [{ name: "verified_email", priority: 1 }] },
        deletionProtection: args.deletionProtection ? "ACTIVE" : "INACTIVE",
        emailConfiguration: args.invitationSender
          ? {
              emailSendingAccount: "DEVELOPER",
              sourceArn: args.invitationSender.sesIdentityArn,
              fromEmailAddress: args.invitationSender.fromAddress,
            }
          : undefined,
      },
      { parent: this, ...stateProtection(args.protect) },
    );
    this.issuer = pulumi.interpolate`https://${this.userPool.endpoint}`;

    this.resourceServer = new aws.cognito.ResourceServer(
      `${name}-scopes`,
      {
        userPoolId: this.userPool.id,
        identifier: RESOURCE_SERVER_IDENTIFIER,
        name: "media-pipeline API",
        scopes: [
          { scopeName: API_SCOPE_NAMES.read, scopeDescription: "List files and read their metadata" },
          { scopeName: API_SCOPE_NAMES.upload, scopeDescription: "Upload files for processing" },
        ],
      },
      parent,
    );

    const callbackUrls = origins.apply((list) => list.map((o) => `${o}${DEFAULT_REDIRECT_PATH}`));
    this.userPoolClient = new aws.cognito.UserPoolClient(
      `${name}-dashboard-client`,
      {
        userPoolId: this.userPool.id,
        // A browser cannot keep a secret: public client, authorization code flow; Cognito
        // verifies the PKCE code_verifier whenever the authorize request carried a challenge.
        generateSecret: false,
        allowedOauthFlowsUserPoolClient: true,
        allowedOauthFlows: ["code"],
        allowedOauthScopes: [...DASHBOARD_SCOPES],
        supportedIdentityProviders: ["COGNITO"],
        callbackUrls,
        logoutUrls: callbackUrls,
        explicitAuthFlows: ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        preventUserExistenceErrors: "ENABLED",
        enableTokenRevocation: true,
        accessTokenValidity: 60,
        idTokenValidity: 60,
        refreshTokenValidity: 30,
        tokenValidityUnits: { accessToken: "minutes", idToken: "minutes", refreshToken: "days" },
      },
      // The client may only ask for scopes the resource server already declares.
      { parent: this, dependsOn: [this.resourceServer] },
    );

    const domainPrefix = cognitoDomainPrefix(args.authDomainPrefix ?? name);
    this.userPoolDomain = new aws.cognito.UserPoolDomain(
      `${name}-auth-domain`,
      {
        userPoolId: this.userPool.id,
        // Domain prefixes are global per region: a hash of the (unique) pool id keeps ours unique.
        domain: this.userPool.id.apply(
          (id) => `${domainPrefix}-${createHash("sha256").update(id).digest("hex").slice(0, 10)}`,
        ),
        managedLoginVersion: MANAGED_LOGIN_VERSION,
      },
      parent,
    );
    // Pool ids are "<region>_<random>".
    this.authDomainUrl = pulumi.interpolate`https://${this.userPoolDomain.domain}.auth.${this.userPool.id.apply((id) => id.split("_")[0])}.amazoncognito.com`;

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
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { namePrefix: `/aws/lambda/${name}-`, retentionInDays: args.logRetentionDays },
      parent,
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: serviceTrustPolicy("lambda.amazonaws.com"),
        description: "media-pipeline read API: reads metadata, presigns uploads and raw-metadata links",
      },
      parent,
    );
    this.rolePolicy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.name,
        policy: policyDocument(apiStatements(args, this.logGroup.arn, this.cursorSecretParameter.arn)),
      },
      parent,
    );
    this.function = new aws.lambda.Function(
      name,
      {
        runtime: aws.lambda.Runtime.NodeJS22dX,
        architectures: [args.architecture],
        handler: "index.handler",
        code: args.code ?? bundleArchive("api"),
        role: this.role.arn,
        memorySize: args.memoryMb ?? 256,
        timeout: timeoutSeconds,
        reservedConcurrentExecutions: args.reservedConcurrency ?? UNRESERVED,
        tracingConfig: { mode: "Active" },
        loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name, applicationLogLevel: "INFO" },
        environment: {
          variables: {
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
            [ENV.serviceName]: "api",
            [ENV.metricsNamespace]: METRICS_NAMESPACE,
          },
        },
      },
      // A pause sets the reserved concurrency to 0: a deploy must not lift it (KILL_SWITCH_OWNED).
      {
        parent: this,
        dependsOn: [this.rolePolicy, this.logGroup],
        ignoreChanges: [...KILL_SWITCH_OWNED.function],
      },
    );

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
        jwtConfiguration: { issuer: this.issuer, audiences: [this.userPoolClient.id] },
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
      userPoolId: this.userPool.id,
      clientId: this.userPoolClient.id,
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

/** Lower-case letters, digits and hyphens, without the words Cognito reserves. */
export function cognitoDomainPrefix(raw: string): string {
  const cleaned = raw
    .toLowerCase()
    .replace(/aws|amazon|cognito/g, "")
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 40);
  return cleaned || "media";
}
