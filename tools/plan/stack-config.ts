/**
 * A stack's configuration as the Pulumi CLI would hand it to the program: the stack file
 * (Pulumi.<stack>.yaml) over the project's declared defaults (Pulumi.yaml `config:`), keys
 * namespaced (`media-pipeline:lab`, `aws:region`), values as strings (objects and arrays as
 * JSON), declared types checked and required keys enforced.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";

export interface StackConfig {
  project: string;
  stack: string;
  /** Namespaced key -> value as the program receives it (strings; JSON for arrays and objects). */
  config: Record<string, string>;
  /** Keys whose stack value is encrypted (`secure:`): the plan sees a placeholder. */
  secretKeys: string[];
}

type Declared = "string" | "integer" | "boolean" | "array";

interface Declaration {
  type?: Declared;
  default?: unknown;
  value?: unknown;
  description?: string;
  secret?: boolean;
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const doc = load(text, { filename: file });
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new Error(`${file} is not a YAML mapping`);
  return doc as Record<string, unknown>;
}

function isDeclaration(v: unknown): v is Declaration {
  return typeof v === "object" && v !== null && !Array.isArray(v) && ("type" in v || "default" in v || "value" in v);
}

function asString(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function checkType(key: string, type: Declared, value: unknown, where: string): void {
  const ok =
    type === "string"
      ? typeof value === "string"
      : type === "integer"
        ? Number.isInteger(typeof value === "string" ? Number(value) : value) && value !== ""
        : type === "boolean"
          ? typeof value === "boolean" || value === "true" || value === "false"
          : Array.isArray(value);
  if (!ok) throw new Error(`${where}: ${key} must be of type ${type}, got ${JSON.stringify(value)}`);
}

/** Loads Pulumi.yaml and Pulumi.<stack>.yaml from projectRoot and merges them the way the CLI does. */
export function loadStackConfig(projectRoot: string, stack: string): StackConfig {
  const projectFile = path.join(projectRoot, "Pulumi.yaml");
  const project = readYaml(projectFile);
  const name = project.name;
  if (typeof name !== "string" || name === "") throw new Error(`${projectFile} has no project name`);
  const stackFile = path.join(projectRoot, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(stackFile)) throw new Error(`no stack file ${stackFile} (is "${stack}" a stack of ${name}?)`);
  const stackConfig = (readYaml(stackFile).config ?? {}) as Record<string, unknown>;

  const fullKey = (key: string) => (key.includes(":") ? key : `${name}:${key}`);
  const declarations = new Map<string, Declaration>();
  const values = new Map<string, unknown>();
  for (const [key, decl] of Object.entries((project.config ?? {}) as Record<string, unknown>)) {
    const k = fullKey(key);
    if (isDeclaration(decl)) {
      declarations.set(k, decl);
      const value = decl.value ?? decl.default;
      if (value !== undefined) values.set(k, value);
    } else {
      values.set(k, decl); // short form: `key: value`
    }
  }

  const secretKeys: string[] = [];
  for (const [key, raw] of Object.entries(stackConfig)) {
    const k = fullKey(key);
    if (typeof raw === "object" && raw !== null && "secure" in raw) {
      secretKeys.push(k);
      values.set(k, "[secret: encrypted in the stack file; not decrypted by the mocked plan]");
      continue;
    }
    values.set(k, raw);
  }

  for (const [key, decl] of declarations) {
    if (!values.has(key)) {
      throw new Error(
        `Stack '${stack}' is missing configuration value '${key}' (declared in Pulumi.yaml without a default)`,
      );
    }
    if (decl.type && !secretKeys.includes(key)) checkType(key, decl.type, values.get(key), stackFile);
  }

  const config: Record<string, string> = {};
  for (const [key, value] of values) config[key] = asString(value);
  return { project: name, stack, config, secretKeys };
}
