/** Failures while reading or writing an adapter. */
export const ADAPTER_ERROR_CODES = [
  'ADAPTER_FORMAT_UNKNOWN', // no importer recognises the files
  'ADAPTER_NOT_FOUND', // the folder holds no adapter weights (or holds a full model)
  'ADAPTER_CONFIG_INVALID', // adapter_config.json is not valid JSON or has wrong types
  'ADAPTER_CONFIG_MISMATCH', // the config contradicts the tensors (rank, targets)
  'ADAPTER_RANK_MISMATCH', // A and B disagree on the rank
  'ADAPTER_MISSING_FACTOR', // a module has A but no B, or the reverse
  'ADAPTER_SHAPE_INVALID', // a factor has an impossible shape (not 2-D, zero rank…)
  'ADAPTER_NONFINITE', // NaN or Inf in a factor
  'ADAPTER_EMPTY', // no LoRA modules at all
  'ADAPTER_DTYPE_UNSUPPORTED', // a factor is stored in a non-float dtype (ints, bool, fp8…)
  'ADAPTER_DUPLICATE_MODULE', // two tensor sets map to the same module (several adapter names in one file)
  'ADAPTER_OUTPUT_EXISTS', // the export target exists and overwrite was not asked for
] as const;
export type AdapterErrorCode = (typeof ADAPTER_ERROR_CODES)[number];
