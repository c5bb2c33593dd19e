/** The part of js-yaml 4 the plan tool uses (the package ships no types; @types/js-yaml would be one more download for one function). */
declare module "js-yaml" {
  export function load(source: string, options?: { filename?: string }): unknown;
}
