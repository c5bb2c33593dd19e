// asl-validator 4.0.0 ships no declarations (its src/validator.ts is not in dist); this is its
// documented API: validator(definition, options?) -> { isValid, errors, errorsText }.
declare module "asl-validator" {
  interface StateMachineError {
    /** e.g. "SCHEMA_VALIDATION_FAILED", "MISSING_TRANSITION_TARGET", "MISSING_TERMINAL_STATE". */
    "Error code": string;
    Message: string;
    schemaError?: { instancePath: string; schemaPath: string };
  }
  interface ValidationOptions {
    /** Check the JSONPath expressions (InputPath, ResultPath, "X.$" parameters...). Default true. */
    readonly checkPaths: boolean;
    /** Check that Task Resource values are ARNs. Default true. */
    readonly checkArn: boolean;
  }
  function validator(
    definition: object,
    options?: ValidationOptions,
  ): { isValid: boolean; errors: StateMachineError[]; errorsText(separator?: string): string };
  export = validator;
}
