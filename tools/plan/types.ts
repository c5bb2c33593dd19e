/**
 * What an offline plan (Pulumi program run under the mock runtime) yields: the shape the
 * plan printer, the policy pack's offline runner and the tests share.
 */
export interface PlannedResource {
  /** Full Pulumi URN. */
  urn: string;
  /** Pulumi type token, e.g. "aws:s3/bucket:Bucket" or "media-pipeline:storage:MediaBucket". */
  type: string;
  /**
   * URNs this resource was known by before (its `aliases` option, and the aliases it inherits
   * from its parent), so a deployed stack updates it in place instead of replacing it.
   */
  aliases: string[];
  /** Logical name. */
  name: string;
  /** URN of the parent resource; absent for children of the stack. */
  parent?: string;
  /** True for custom (cloud) resources, false for component resources. */
  custom: boolean;
  /** Inputs as the program passed them, with outputs resolved (unknowns as undefined). */
  inputs: Record<string, unknown>;
  /** State the mocks returned (inputs plus mocked computed properties such as arn, id). */
  state: Record<string, unknown>;
  /** The resource's id as the mocks returned it (custom resources only). */
  id?: string;
  /** URN of the explicit provider, when one was given. */
  provider?: string;
  /** URNs this resource depends on (dependsOn plus resources its inputs came from). */
  dependencies: string[];
  /**
   * Input property -> URNs its value came from (what the engine sends a policy pack as
   * propertyDependencies).
   */
  propertyDependencies?: Record<string, string[]>;
  /** Resource options that decide what a deploy may do to it (as registered, after inheritance). */
  options?: PlannedOptions;
}

/** The options of a registration that keep data safe or leave fields to someone else. */
export interface PlannedOptions {
  /** Pulumi refuses to delete or replace the resource. */
  protect: boolean;
  /** Pulumi forgets the resource instead of deleting it from the cloud. */
  retainOnDelete: boolean;
  /** Input properties whose changes Pulumi ignores (owned by something else, e.g. the kill switch). */
  ignoreChanges: string[];
}

export interface PlanViolation {
  policy: string;
  /** URN of the resource; absent for stack policies. */
  resource?: string;
  level: "advisory" | "mandatory" | "remediate" | "disabled";
  message: string;
}
