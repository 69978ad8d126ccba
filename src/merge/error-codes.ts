/** Failures of merge planning and execution, and of recipes. */
export const MERGE_ERROR_CODES = [
  'MERGE_METHOD_UNKNOWN',
  'MERGE_PARAM_INVALID',
  'MERGE_BASE_MISMATCH', // inputs declare different base models
  'MERGE_SHAPE_MISMATCH', // the same module has different shapes in two inputs
  'MERGE_EMPTY', // no module left after include/exclude/intersection
  'MERGE_NO_INPUTS',
  'RECIPE_INVALID', // the recipe file does not validate
  'REGISTRY_DUPLICATE', // a registry refused a second entry with the same name
  'MERGE_OUTPUT_EXISTS', // the output folder exists and is not empty (no overwrite asked)
  'MERGE_NONFINITE', // a merged factor came out NaN/Inf (names the module)
] as const;
export type MergeErrorCode = (typeof MERGE_ERROR_CODES)[number];
