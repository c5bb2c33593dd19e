/** js-yaml 4's `dump`, which tools/config-yaml.ts uses (merges with the `load` declared for the plan tool). */
declare module "js-yaml" {
  export function dump(
    value: unknown,
    options?: { lineWidth?: number; noRefs?: boolean; quotingType?: "'" | '"' },
  ): string;
}
