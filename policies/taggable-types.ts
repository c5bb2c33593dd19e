/**
 * Which AWS resource types carry tags, for the required-tags policy, decided from the installed
 * @pulumi/aws itself rather than a hand list (@pulumi/policy has no such list:
 * pulumi/pulumi-policy#301).
 *
 * A resource class of @pulumi/aws lives in `<module>/<name>.js` with its typings in
 * `<module>/<name>.d.ts`; the class records its type token (`static __pulumiType =
 * 'aws:s3/bucket:Bucket'`), and a taggable type's `<Name>Args` interface declares a `tags` input
 * (the provider's `defaultTags` reach exactly those types through `tagsAll`).
 *
 * A type this copy of @pulumi/aws does not know (a newer provider, a typo, a renamed class) is
 * `undefined`: required-tags treats it as taggable, so a new type is checked rather than passed.
 */
import * as fs from "node:fs";
import * as path from "node:path";

let awsDir: string | undefined | null = null;

function awsPackageDir(): string | undefined {
  if (awsDir === null) {
    try {
      awsDir = path.dirname(require.resolve("@pulumi/aws/package.json"));
    } catch {
      awsDir = undefined;
    }
  }
  return awsDir;
}

/** type token -> path of its .d.ts, built on first miss by scanning the package. */
let index: Map<string, string> | undefined;

function scanIndex(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const mod of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!mod.isDirectory() || mod.name === "node_modules" || mod.name === "types") continue;
    const modDir = path.join(dir, mod.name);
    for (const f of fs.readdirSync(modDir)) {
      if (!f.endsWith(".js")) continue;
      const text = fs.readFileSync(path.join(modDir, f), "utf8");
      const m = text.match(/__pulumiType = '(aws:[^']+)'/);
      if (m?.[1]) out.set(m[1], path.join(modDir, f.replace(/\.js$/, ".d.ts")));
    }
  }
  return out;
}

/** The .d.ts declaring the class of `type`, when this @pulumi/aws has one. */
function typingsOf(type: string): string | undefined {
  const dir = awsPackageDir();
  if (!dir) return undefined;
  const [, mod] = type.split(":");
  const [moduleName, file] = (mod ?? "").split("/");
  if (moduleName && file) {
    const js = path.join(dir, moduleName, `${file}.js`);
    try {
      if (fs.readFileSync(js, "utf8").includes(`__pulumiType = '${type}'`)) return js.replace(/\.js$/, ".d.ts");
    } catch {
      // not at the conventional path: fall back to the index
    }
  }
  index ??= scanIndex(dir);
  return index.get(type);
}

const cache = new Map<string, boolean | undefined>();

/**
 * Whether resources of `type` take tags: true / false from @pulumi/aws's typings, undefined when
 * the installed @pulumi/aws does not define the type.
 */
export function declaresTags(type: string): boolean | undefined {
  if (cache.has(type)) return cache.get(type);
  let result: boolean | undefined;
  const dts = typingsOf(type);
  if (dts) {
    try {
      const text = fs.readFileSync(dts, "utf8");
      const cls = type.slice(type.lastIndexOf(":") + 1);
      const args = text.match(new RegExp(`export interface ${cls}Args \\{([\\s\\S]*?)\\n\\}`));
      result = !!args && /^\s+tags\?:/m.test(args[1] ?? "");
    } catch {
      result = undefined;
    }
  }
  cache.set(type, result);
  return result;
}

/** Whether required-tags checks `type`: AWS types that declare tags, and AWS types @pulumi/aws does not know. */
export function mustBeTagged(type: string): boolean {
  if (!type.startsWith("aws:")) return false;
  return declaresTags(type) !== false;
}
