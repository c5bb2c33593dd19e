/**
 * npm run config:yaml -- [--write]
 *
 * Pulumi.yaml's `config:` block is generated from the one definition of the stack's
 * configuration, lib/config-schema.ts (keys, types, defaults, descriptions). Without --write
 * this checks that Pulumi.yaml matches (exit 3 when it does not); with --write it rewrites the
 * block. tests/unit/config-schema.test.ts makes the same check.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { dump, load } from "js-yaml";
import { pulumiConfigDeclarations } from "../lib/config-schema";
import { REPO_ROOT } from "../lib/repo-root";
import { type Cli, parseFlags, runCli } from "./cli";

/** The comment Pulumi.yaml's `config:` block starts with. */
const HEADER = [
  "# Project-wide declarations and defaults, GENERATED from lib/config-schema.ts (the one definition",
  "# of every key: type, default, range, description) by `npm run config:yaml -- --write`; edit the",
  "# schema, not this block. The defaults are the safe (production) choices; a lab stack turns them",
  "# down in its Pulumi.<stack>.yaml. aws:region is set per stack.",
];

/** Pulumi.yaml's `config:` block as the schema declares it (YAML text, header comment included). */
export function generatedConfigBlock(): string {
  return `${HEADER.join("\n")}\n${dump({ config: pulumiConfigDeclarations() }, { lineWidth: -1, noRefs: true, quotingType: '"' })}`;
}

/** The declarations in a Pulumi.yaml text, and whether they equal the schema's. */
export function configBlockMatches(pulumiYaml: string): boolean {
  const declared = (load(pulumiYaml) as { config?: unknown } | null)?.config;
  return isDeepStrictEqual(declared, pulumiConfigDeclarations());
}

/** The Pulumi.yaml text with its `config:` block (and the comment above it) replaced by the generated one. */
export function withGeneratedConfig(pulumiYaml: string): string {
  const lines = pulumiYaml.split("\n");
  let start = lines.findIndex((l) => /^config:/.test(l));
  if (start === -1) return `${pulumiYaml.replace(/\n*$/, "\n")}${generatedConfigBlock()}`;
  while (start > 0 && lines[start - 1]?.startsWith("#")) start--;
  let end = lines.findIndex((l, i) => i > start && /^[A-Za-z]/.test(l) && !/^config:/.test(l));
  if (end === -1) end = lines.length;
  const rest = lines.slice(end).join("\n");
  return `${lines.slice(0, start).join("\n")}\n${generatedConfigBlock()}${rest ? `${rest}` : ""}`;
}

export const cli: Cli = {
  name: "config:yaml",
  usage: `usage: npm run config:yaml -- [--write]

Checks that Pulumi.yaml's config: block is what lib/config-schema.ts declares (keys, types,
defaults, descriptions); --write rewrites the block from the schema.

  --write   rewrite Pulumi.yaml's config: block
  --help    this text`,
  exitCodes: { 3: "Pulumi.yaml's config: block differs from lib/config-schema.ts (run with --write)" },
  async main(argv) {
    const { values } = parseFlags(argv, { write: { type: "boolean" } });
    const file = path.join(REPO_ROOT, "Pulumi.yaml");
    const text = fs.readFileSync(file, "utf8");
    if (values.write) {
      fs.writeFileSync(file, withGeneratedConfig(text));
      process.stdout.write(`wrote the config: block of ${file} from lib/config-schema.ts\n`);
      return 0;
    }
    if (configBlockMatches(text)) {
      process.stdout.write("Pulumi.yaml's config: block matches lib/config-schema.ts\n");
      return 0;
    }
    process.stderr.write(
      "config:yaml: Pulumi.yaml's config: block differs from lib/config-schema.ts; run npm run config:yaml -- --write\n",
    );
    return 3;
  },
};

if (require.main === module) runCli(cli);
