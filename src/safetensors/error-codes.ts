/** Failures of the safetensors container, mirroring the reference implementation's variants. */
export const SAFETENSORS_ERROR_CODES = [
  'ST_FILE_TOO_SMALL', // fewer than 8 bytes: no header length (reference HeaderTooSmall)
  'ST_HEADER_TOO_LARGE', // header length above MAX_HEADER_BYTES (HeaderTooLarge)
  'ST_HEADER_LENGTH_INVALID', // header length runs past the end of the file (InvalidHeaderLength)
  'ST_HEADER_NOT_UTF8', // header bytes are not valid UTF-8
  'ST_HEADER_NOT_JSON', // header is not one JSON object (syntax, BOM, trailing bytes, lone surrogates)
  'ST_HEADER_TOO_DEEP', // JSON nesting deeper than MAX_HEADER_JSON_DEPTH
  'ST_HEADER_DUPLICATE_KEY', // the same key appears twice in one JSON object
  'ST_HEADER_UNSAFE_INTEGER', // a shape item or offset that is negative, fractional, an exponent, or above 2^53 - 1
  'ST_METADATA_INVALID', // __metadata__ is not an object of string values
  'ST_TENSOR_INFO_INVALID', // an entry lacks dtype/shape/data_offsets or has wrong types
  'ST_DTYPE_UNKNOWN', // dtype not in the safetensors dtype list (case-sensitive)
  'ST_SHAPE_TOO_LARGE', // more than MAX_TENSOR_RANK dims, or a dim above MAX_TENSOR_DIM
  'ST_VALIDATION_OVERFLOW', // prod(shape) × dtype bits does not fit a safe integer (ValidationOverflow)
  'ST_MISALIGNED_SLICE', // a sub-byte dtype tensor does not end on a byte boundary (MisalignedSlice)
  'ST_SHAPE_MISMATCH', // shape × dtype size ≠ data_offsets length (TensorInvalidInfo)
  'ST_OFFSETS_INVALID', // offsets not contiguous from 0: gaps, overlaps, aliasing, end < begin (InvalidOffset)
  'ST_DATA_SIZE_MISMATCH', // file size ≠ 8 + header + data region: truncated or trailing bytes (MetadataIncompleteBuffer)
  'ST_TOO_MANY_TENSORS', // above MAX_TENSOR_COUNT
  'ST_TENSOR_NOT_FOUND', // a tensor was asked for that the file does not hold
  'ST_DTYPE_UNSUPPORTED', // a dtype we can list but not decode to floats
  'ST_SHARD_INDEX_INVALID', // model.safetensors.index.json is malformed or names a bad or missing shard/tensor
  'ST_SOURCE_NOT_FOUND', // a folder holds neither model.safetensors nor model.safetensors.index.json
] as const;
export type SafetensorsErrorCode = (typeof SAFETENSORS_ERROR_CODES)[number];
