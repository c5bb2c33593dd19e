/**
 * The stack's configuration as the program reads it: Pulumi's values (Pulumi.yaml's declared
 * defaults under the stack's file, merged by the CLI) parsed by the one definition of every key,
 * lib/config-schema.ts (types, defaults, ranges, checks between keys), plus what the stack
 * itself provides (name, region, tags).
 */
import * as pulumi from "@pulumi/pulumi";
import { fromConfigStrings, type PipelineSettings, parsePipelineSettings } from "../lib/config-schema";
import { PROJECT_NAME } from "../lib/naming";
import { type StandardTags, standardTags } from "../lib/tags";

export type PipelineConfig = PipelineSettings & {
  project: string;
  /** Stack name; also the Environment tag. */
  stack: string;
  region: string;
  /** Tags every resource carries (through the AWS provider's default tags). */
  tags: StandardTags;
};

export function readPipelineConfig(): PipelineConfig {
  const config = new pulumi.Config(PROJECT_NAME);
  const stack = pulumi.getStack();
  const settings = parsePipelineSettings(fromConfigStrings((key) => config.get(key)));
  return {
    ...settings,
    project: PROJECT_NAME,
    stack,
    region: new pulumi.Config("aws").require("region"),
    tags: standardTags({
      project: PROJECT_NAME,
      environment: stack,
      owner: settings.owner,
      costCenter: settings.costCenter,
    }),
  };
}
