/**
 * UserDirectory: who may use the read API. A Cognito user pool (administrators invite users;
 * nobody signs up), the resource server declaring the API's scopes, the dashboard's public app
 * client (authorization code flow with PKCE, no secret) and the hosted sign-in domain.
 * MetadataApi creates it and validates its tokens with a JWT authorizer (`issuer`, `client`).
 *
 * Its resources were MetadataApi's own children before this component existed: each declares
 * its former parent (this component's parent) as an alias, `{ parent: oldParent }`, so a
 * deployed stack keeps its user pool, and its users, through the move (Pulumi docs,
 * "Refactoring with aliases", re-parenting a resource:
 * https://www.pulumi.com/docs/iac/operations/stack-management/refactoring-with-aliases/).
 */
import { createHash } from "node:crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { API_SCOPE_NAMES, DASHBOARD_SCOPES, RESOURCE_SERVER_IDENTIFIER } from "../lib/auth";
import { DEFAULT_REDIRECT_PATH } from "../lib/dashboard-config";
import { stateProtection } from "./refs";

/**
 * The Cognito managed-login version of the sign-in domain: 1 is the classic hosted UI the
 * dashboard was built against. Pinned, so a provider or service default cannot switch the
 * pages under the users (version 2 also needs a branding style to look like anything).
 */
export const MANAGED_LOGIN_VERSION = 1;

export interface UserDirectoryArgs {
  /**
   * Browser origins (no trailing slash) that may sign in: each one's DEFAULT_REDIRECT_PATH is
   * a callback and a sign-out URL of the dashboard client.
   */
  origins: pulumi.Input<string[]>;
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
  /** Prefix of the hosted sign-in domain; a hash of the pool id is appended so it is unique. Default: the component name. */
  domainPrefix?: string;
}

export class UserDirectory extends pulumi.ComponentResource {
  public readonly userPool: aws.cognito.UserPool;
  public readonly resourceServer: aws.cognito.ResourceServer;
  /** The dashboard's app client: its id is the audience of the API's JWT authorizer. */
  public readonly client: aws.cognito.UserPoolClient;
  public readonly domain: aws.cognito.UserPoolDomain;
  /** OIDC issuer of the user pool (tokens' `iss`). */
  public readonly issuer: pulumi.Output<string>;
  /** Base URL of the hosted sign-in pages. */
  public readonly authDomainUrl: pulumi.Output<string>;

  constructor(name: string, args: UserDirectoryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("media-pipeline:auth:UserDirectory", name, {}, opts);
    // Each child was created under this component's parent before (same name and type).
    const formerParent = opts?.parent;
    const moved: pulumi.CustomResourceOptions = {
      parent: this,
      aliases: formerParent ? [{ parent: formerParent }] : [],
    };

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
      { ...moved, ...stateProtection(args.protect) },
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
      moved,
    );

    const callbackUrls = pulumi.output(args.origins).apply((list) => list.map((o) => `${o}${DEFAULT_REDIRECT_PATH}`));
    this.client = new aws.cognito.UserPoolClient(
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
      { ...moved, dependsOn: [this.resourceServer] },
    );

    const domainPrefix = cognitoDomainPrefix(args.domainPrefix ?? name);
    this.domain = new aws.cognito.UserPoolDomain(
      `${name}-auth-domain`,
      {
        userPoolId: this.userPool.id,
        // Domain prefixes are global per region: a hash of the (unique) pool id keeps ours unique.
        domain: this.userPool.id.apply(
          (id) => `${domainPrefix}-${createHash("sha256").update(id).digest("hex").slice(0, 10)}`,
        ),
        managedLoginVersion: MANAGED_LOGIN_VERSION,
      },
      moved,
    );
    // Pool ids are "<region>_<random>".
    this.authDomainUrl = pulumi.interpolate`https://${this.domain.domain}.auth.${this.userPool.id.apply((id) => id.split("_")[0])}.amazoncognito.com`;

    this.registerOutputs({
      issuer: this.issuer,
      authDomainUrl: this.authDomainUrl,
      userPoolId: this.userPool.id,
      clientId: this.client.id,
    });
  }
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
