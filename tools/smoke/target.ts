/**
 * What the smoke test talks to: the running lab (its endpoints.json), or a deployed stack
 * (`pulumi stack output --json`, each value overridable by a flag). A target gives the URLs,
 * a user to sign in as (the lab user; in the cloud a temporary Cognito user, deleted at the
 * end) and a way to delete the uploaded object (S3 DeleteObject with the caller's credentials).
 */

import { randomBytes } from "node:crypto";
import {
  AdminCreateUserCommand,
  AdminDeleteUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
} from "@aws-sdk/client-cognito-identity-provider";
import { DeleteObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { labUser } from "../../lab/auth/secrets";
import { runningLab } from "../../lab/backfill";
import { makeLabS3Client } from "../../lab/clients";
import { defaultLabDir } from "../../lab/lab";
import { type PulumiRunner, runPulumi } from "../resume";
import { resolveStackValues } from "../stack-outputs";

export interface SmokeUser {
  username: string;
  password: string;
  /** Removes the user when the smoke test created it. */
  remove(): Promise<void>;
}

export interface SmokeTarget {
  /** "lab <dir>" or "stack <name>", for the report. */
  where: string;
  apiUrl: string;
  dashboardUrl: string;
  bucket: string;
  user(): Promise<SmokeUser>;
  deleteObject(key: string): Promise<void>;
  close(): void;
}

/** No target to test (no running lab, no stack outputs): exit code 3. */
export class NoTargetError extends Error {
  override name = "NoTargetError";
}

export function labTarget(dir = defaultLabDir()): SmokeTarget {
  const endpoints = runningLab(dir);
  if (!endpoints) throw new NoTargetError(`no lab is running on ${dir}: start one with npm start`);
  const s3 = makeLabS3Client(endpoints.s3Endpoint);
  return {
    where: `lab ${dir}`,
    apiUrl: endpoints.apiUrl,
    dashboardUrl: endpoints.dashboardUrl,
    bucket: endpoints.ingestBucket,
    user: async () => ({ ...labUser(dir), username: endpoints.auth.username, remove: async () => undefined }),
    deleteObject: async (key) => {
      await s3.send(new DeleteObjectCommand({ Bucket: endpoints.ingestBucket, Key: key }));
    },
    close: () => s3.destroy(),
  };
}

/** Stack outputs the smoke test reads (index.ts exports them), and the flags that override them. */
export const SMOKE_STACK_OUTPUTS = {
  apiUrl: { output: "apiUrl", flag: "api-url" },
  dashboardUrl: { output: "dashboardUrl", flag: "dashboard-url" },
  bucket: { output: "uploadBucket", flag: "bucket" },
  userPoolId: { output: "userPoolId", flag: "user-pool-id" },
} as const;

export async function stackTarget(
  stack: string | undefined,
  given: Partial<Record<keyof typeof SMOKE_STACK_OUTPUTS, string>>,
  region: string | undefined,
  pulumi: PulumiRunner = runPulumi,
): Promise<SmokeTarget> {
  const values = await resolveStackValues(SMOKE_STACK_OUTPUTS, given, stack, pulumi);
  const { apiUrl, dashboardUrl, bucket, userPoolId } = values as Record<keyof typeof SMOKE_STACK_OUTPUTS, string>;
  const s3 = new S3Client(region ? { region } : {});
  const cognito = new CognitoIdentityProviderClient(region ? { region } : {});
  return {
    where: `stack ${stack ?? "(flags)"}`,
    apiUrl: apiUrl.replace(/\/$/, ""),
    dashboardUrl,
    bucket,
    // A user made for this run: email sign-in (usernameAttributes: email), no invitation
    // message, a permanent password (AdminSetUserPassword Permanent: true skips the
    // FORCE_CHANGE_PASSWORD state), deleted when the run ends.
    // https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AdminSetUserPassword.html
    user: async () => {
      const username = `smoke-${randomBytes(6).toString("hex")}@example.invalid`;
      const password = `Sm0ke-${randomBytes(18).toString("base64url")}!`;
      await cognito.send(
        new AdminCreateUserCommand({
          UserPoolId: userPoolId,
          Username: username,
          MessageAction: "SUPPRESS",
          UserAttributes: [
            { Name: "email", Value: username },
            { Name: "email_verified", Value: "true" },
          ],
        }),
      );
      await cognito.send(
        new AdminSetUserPasswordCommand({
          UserPoolId: userPoolId,
          Username: username,
          Password: password,
          Permanent: true,
        }),
      );
      return {
        username,
        password,
        remove: async () => {
          await cognito.send(new AdminDeleteUserCommand({ UserPoolId: userPoolId, Username: username }));
        },
      };
    },
    deleteObject: async (key) => {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    close: () => {
      s3.destroy();
      cognito.destroy();
    },
  };
}
