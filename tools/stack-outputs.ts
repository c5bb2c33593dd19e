/**
 * Names the operator tools (reconcile, backfill) read from a stack: `pulumi stack output
 * --json --stack NAME`, each overridable by a flag (the way when the Pulumi CLI is absent).
 */
import { type PulumiRunner, UsageError } from "./resume";

/**
 * Resolves `wanted` (key -> stack output name): flags first, then the stack's outputs.
 * Keys in `optional` may stay unresolved; a missing required one is a UsageError naming its flag.
 */
export async function resolveStackValues<K extends string>(
  wanted: Record<K, { output: string; flag: string }>,
  given: Partial<Record<K, string | undefined>>,
  stack: string | undefined,
  pulumi: PulumiRunner,
  optional: readonly NoInfer<K>[] = [],
): Promise<Partial<Record<K, string>>> {
  const keys = Object.keys(wanted) as K[];
  const values: Partial<Record<K, string>> = {};
  for (const k of keys) if (given[k]) values[k] = given[k] as string;
  const unresolved = () => keys.filter((k) => values[k] === undefined);
  const required = () => unresolved().filter((k) => !optional.includes(k));
  const flags = (ks: K[]) => ks.map((k) => `--${wanted[k].flag}`).join(", ");
  if (unresolved().length === 0) return values;
  if (!stack) {
    if (required().length === 0) return values;
    throw new UsageError(`give --stack NAME, or ${flags(required())}`);
  }
  const json = await pulumi(["stack", "output", "--json", "--stack", stack]);
  if (json === undefined) {
    if (required().length === 0) return values;
    throw new UsageError(`the pulumi CLI is not installed; pass ${flags(required())} instead`);
  }
  let outputs: Record<string, unknown>;
  try {
    outputs = JSON.parse(json);
  } catch (err) {
    throw new UsageError(`stack ${stack}: pulumi printed no JSON outputs (${(err as Error).message})`);
  }
  for (const k of unresolved()) {
    const v = outputs[wanted[k].output];
    if (typeof v === "string" && v !== "") values[k] = v;
  }
  const still = required();
  if (still.length > 0) {
    throw new UsageError(
      `stack ${stack} has no output ${still.map((k) => wanted[k].output).join(", ")}; pass ${flags(still)}`,
    );
  }
  return values;
}
