/** Failures of the spectral analyses and reports. */
export const DIAGNOSTICS_ERROR_CODES = [
  'BASE_NOT_FOUND', // no model.safetensors or index in the base folder
  'BASE_MODULE_MISSING', // an adapter module has no base weight
  'BASE_SHAPE_MISMATCH', // base weight shape disagrees with the adapter module
  'REPORT_INVALID', // a report JSON does not match the schema
] as const;
export type DiagnosticsErrorCode = (typeof DIAGNOSTICS_ERROR_CODES)[number];
