/**
 * Where the read API finds the key it signs list cursors with: in the cloud, an SSM Parameter
 * Store SecureString named by CURSOR_SECRET_PARAMETER (GetParameter WithDecryption), read once
 * per container; locally (lab, tests), the value in CURSOR_SECRET. The secret never sits in
 * the function's environment, where anyone with lambda:GetFunctionConfiguration could read it.
 */
import { GetParameterCommand, type SSMClient } from "@aws-sdk/client-ssm";
import { ENV, type EnvName } from "../../lib/runtime-env";

/** Error messages name the parameter or the variable, never the value. */
export async function loadCursorSecret(ssm: () => SSMClient, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const parameter = env[ENV.cursorSecretParameter];
  if (parameter) {
    const out = await ssm().send(new GetParameterCommand({ Name: parameter, WithDecryption: true }));
    const value = out.Parameter?.Value;
    if (!value) throw new Error(`SSM parameter ${parameter} (${ENV.cursorSecretParameter}) has no value`);
    return value;
  }
  const value = env[ENV.cursorSecret];
  if (!value) {
    const either: EnvName[] = [ENV.cursorSecretParameter, ENV.cursorSecret];
    throw new Error(`environment variable ${either.join(" or ")} is required`);
  }
  return value;
}
