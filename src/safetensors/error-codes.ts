/** Failures of the safetensors container, mirroring the reference implementation's variants. */
export const SAFETENSORS_ERROR_CODES = [
  'ST_FILE_TOO_SMALL', // fewer than 8 bytes: no header length
  'ST_HEADER_TOO_LARGE', // header length above MAX_HEADER_BYTES
  'ST_HEADER_LENGTH_INVALID', // header length runs past the end of the file
  'ST_HEADER_NOT_UTF8', // header bytes are not valid UTF-8
  'ST_HEADER_NOT_JSON', // header is not a JSON object
  'ST_HEADER_DUPLICATE_KEY', // the same key appears twice in one JSON object
  'ST_HEADER_UNSAFE_INTEGER', // an integer above 2^53 - 1, or negative, or not an integer
  'ST_HEADER_FORBIDDEN_KEY', // __proto__ / constructor / prototype as a tensor name
  'ST_METADATA_INVALID', // __metadata__ is not an object of string values
  'ST_TENSOR_INFO_INVALID', // an entry lacks dtype/shape/data_offsets or has wrong types
  'ST_DTYPE_UNKNOWN', // dtype not in the safetensors dtype list
  'ST_SHAPE_MISMATCH', // shape × dtype size ≠ data_offsets length
  'ST_OFFSETS_INVALID', // offsets not contiguous, overlapping, aliased or out of order
  'ST_DATA_SIZE_MISMATCH', // file size ≠ 8 + header + data region
  'ST_TOO_MANY_TENSORS', // above MAX_TENSOR_COUNT
  'ST_TENSOR_NOT_FOUND', // a tensor was asked for that the file does not hold
  'ST_DTYPE_UNSUPPORTED', // a dtype we can list but not decode to floats
  'ST_SHARD_INDEX_INVALID', // model.safetensors.index.json is malformed or names a bad shard
] as const;
export type SafetensorsErrorCode = (typeof SAFETENSORS_ERROR_CODES)[number];
