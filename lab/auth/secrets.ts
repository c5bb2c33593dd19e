/**
 * The lab's secrets, generated on first start and kept under `<lab dir>/auth/` (files
 * readable by the owner only), so tokens, sessions and cursors survive a restart:
 *
 *   signing-keys.json   the issuer's private JWKS (RS256)
 *   cookie-keys.json    keys the issuer signs its cookies with
 *   user.json           the lab user: sub, email, password (printed at start)
 *   cursor-secret       what the read API signs list cursors with (CURSOR_SECRET in the cloud)
 */
import { randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export function labAuthPaths(labDir: string) {
  const dir = path.join(labDir, "auth");
  return {
    dir,
    signingKeys: path.join(dir, "signing-keys.json"),
    cookieKeys: path.join(dir, "cookie-keys.json"),
    user: path.join(dir, "user.json"),
    cursorSecret: path.join(dir, "cursor-secret"),
  };
}

/** Writes a file only its owner can read, atomically. */
export function writePrivateFile(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The JSON in `file`, or what `create` makes (then stored there). A file that does not parse or `valid` rejects is replaced. */
export function readOrCreateJson<T>(file: string, create: () => T, valid: (v: unknown) => v is T): T {
  try {
    const value: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
    if (valid(value)) return value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
  }
  const value = create();
  writePrivateFile(file, `${JSON.stringify(value, null, 2)}\n`);
  return value;
}

export interface LabUser {
  /** Stable subject (a UUID, like a Cognito user's `sub`). */
  sub: string;
  email: string;
  password: string;
}

export const LAB_USER_EMAIL = "lab@example.com";

function isLabUser(v: unknown): v is LabUser {
  const u = v as LabUser;
  return !!u && typeof u.sub === "string" && typeof u.email === "string" && typeof u.password === "string";
}

/** The lab user, created with a random password on first use. */
export function labUser(labDir: string): LabUser {
  return readOrCreateJson(
    labAuthPaths(labDir).user,
    () => ({ sub: randomUUID(), email: LAB_USER_EMAIL, password: randomBytes(12).toString("base64url") }),
    isLabUser,
  );
}

/** The lab's cursor-signing secret (256 random bits, base64url). */
export function labCursorSecret(labDir: string): string {
  const file = labAuthPaths(labDir).cursorSecret;
  try {
    const secret = fs.readFileSync(file, "utf8").trim();
    if (secret.length >= 32) return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const secret = randomBytes(32).toString("base64url");
  writePrivateFile(file, `${secret}\n`);
  return secret;
}
