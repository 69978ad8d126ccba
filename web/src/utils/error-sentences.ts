// Error code → a sentence a person can act on: the library's codes (src/*/error-codes.ts), the HTTP
// layer's (server/errors.ts) and the dashboard's own. A test checks that every code has a sentence.
// The server's own message (which names the file, tensor or value seen) is shown beneath the sentence.
import type { ClientErrorCode } from '../api/api-error.ts';

// Keyed by plain strings so that a code renamed in another area breaks a test, not the build.
const LIBRARY_SENTENCES: Record<string, string> = {
  IO_ERROR: 'A file could not be read or written on the server. Try again; if it persists, check the server log.',
  FILE_NOT_FOUND: 'A file or folder that was named does not exist.',
  DISK_FULL: 'The server ran out of disk space. Nothing partial was kept; free some space and try again.',
  ABORTED: 'The operation was cancelled before it finished.',
  INVALID_ARGUMENT: 'One of the options is out of range or of the wrong type.',
  INTERNAL: 'Something went wrong inside the workbench (a bug). The request id below helps find it in the log.',
  ST_FILE_TOO_SMALL: 'This file is too small to be a safetensors file (it has no header).',
  ST_HEADER_TOO_LARGE: 'This safetensors file declares a header larger than the allowed limit, so it was refused.',
  ST_HEADER_LENGTH_INVALID: 'This safetensors file is truncated or corrupt: its header runs past the end of the file.',
  ST_HEADER_NOT_UTF8: 'This safetensors file is corrupt: its header is not valid text.',
  ST_HEADER_NOT_JSON: 'This is not a valid safetensors file: its header is not JSON.',
  ST_HEADER_DUPLICATE_KEY: 'This safetensors file is ambiguous: its header names the same key twice.',
  ST_HEADER_UNSAFE_INTEGER: 'This safetensors file has an impossible size or offset in its header.',
  ST_HEADER_FORBIDDEN_KEY: 'This safetensors file uses a forbidden tensor name.',
  ST_HEADER_TOO_DEEP: 'This safetensors header nests JSON too deeply; it was refused as unsafe.',
  ST_SHAPE_TOO_LARGE: 'A tensor in this file declares an impossibly large shape.',
  ST_VALIDATION_OVERFLOW: 'A size computed from this safetensors header overflows; the file was refused.',
  ST_MISALIGNED_SLICE: "A tensor's bytes are not aligned to its data type's size.",
  ST_SOURCE_NOT_FOUND: 'The safetensors file to read is missing.',
  ST_METADATA_INVALID: 'The metadata block of this safetensors file is malformed.',
  ST_TENSOR_INFO_INVALID: 'A tensor entry in this safetensors file lacks its dtype, shape or offsets.',
  ST_DTYPE_UNKNOWN: 'A tensor in this file uses a data type safetensors does not define.',
  ST_SHAPE_MISMATCH: "A tensor's shape does not match the number of bytes stored for it.",
  ST_OFFSETS_INVALID: "This safetensors file is corrupt: tensors' byte ranges overlap or leave gaps.",
  ST_DATA_SIZE_MISMATCH: 'This safetensors file is truncated or has extra bytes at the end.',
  ST_TOO_MANY_TENSORS: 'This file holds more tensors than the workbench accepts.',
  ST_TENSOR_NOT_FOUND: 'A tensor the adapter needs is not in the file.',
  ST_DTYPE_UNSUPPORTED: 'A tensor uses a data type the workbench can list but not compute with.',
  ST_SHARD_INDEX_INVALID: 'The shard index (model.safetensors.index.json) is malformed or names a missing shard.',
  ADAPTER_FORMAT_UNKNOWN: 'These files are not an adapter format the workbench recognises (PEFT, kohya, diffusers, MLX).',
  ADAPTER_NOT_FOUND: 'No adapter weights were found: include the .safetensors file, not only adapter_config.json.',
  ADAPTER_CONFIG_INVALID: 'The adapter_config.json file is not valid JSON or has fields of the wrong type.',
  ADAPTER_CONFIG_MISMATCH: 'The adapter_config.json file contradicts the weights (rank or target modules differ).',
  ADAPTER_RANK_MISMATCH: "A module's A and B factors disagree on the rank.",
  ADAPTER_MISSING_FACTOR: 'A module has only one of its two LoRA factors (A without B, or B without A).',
  ADAPTER_SHAPE_INVALID: 'A LoRA factor has an impossible shape.',
  ADAPTER_NONFINITE: 'The adapter contains NaN or infinite values.',
  ADAPTER_EMPTY: 'The file holds no LoRA modules at all.',
  ADAPTER_DTYPE_UNSUPPORTED: 'The adapter stores its factors in a data type the workbench cannot compute with.',
  ADAPTER_DUPLICATE_MODULE: 'Two tensors in the adapter map to the same module.',
  ADAPTER_OUTPUT_EXISTS: 'The output folder already exists and would be overwritten.',
  LINALG_SHAPE_MISMATCH: 'Two matrices that must line up have different shapes.',
  LINALG_NOT_CONVERGED: 'A numerical routine did not converge within its iteration limit.',
  LINALG_NONFINITE: 'NaN or infinite values appeared during the computation.',
  BACKEND_UNAVAILABLE: 'The requested compute backend cannot be loaded on this server.',
  BACKEND_UNKNOWN: 'The compute backend named in the settings does not exist.',
  KMEANS_INVALID: 'Clustering needs at least one unit and a cluster count k between 1 and the number of units.',
  MERGE_METHOD_UNKNOWN: 'There is no merge method of that name.',
  MERGE_PARAM_INVALID: 'One of the merge parameters is invalid.',
  MERGE_BASE_MISMATCH: 'The chosen adapters were trained on different base models and cannot be merged.',
  MERGE_SHAPE_MISMATCH: 'The same module has different shapes in two of the adapters.',
  MERGE_EMPTY: 'No module is left to merge after the include/exclude patterns were applied.',
  MERGE_NO_INPUTS: 'Choose at least one adapter to merge.',
  RECIPE_INVALID: 'The merge recipe does not validate.',
  MERGE_OUTPUT_EXISTS: 'The merge output folder already exists and would be overwritten.',
  MERGE_NONFINITE: 'The merge produced NaN or infinite values (check for extreme weights).',
  REGISTRY_DUPLICATE: 'Two registry entries share a name (a bug in the workbench).',
  BASE_NOT_FOUND: 'No model weights (model.safetensors or its index) were found for the base.',
  BASE_MODULE_MISSING: 'The base model lacks a module the adapter modifies.',
  BASE_SHAPE_MISMATCH: "The base model's weight has a different shape from the adapter's module.",
  REPORT_INVALID: 'The report file does not match the report schema.',
  FAMILY_UNSUPPORTED: 'This adapter family is recognised but cannot be converted here.',
  FAMILY_TENSORS_INVALID: "This adapter family's tensors are missing or inconsistent.",
  FAMILY_STRUCTURE_MISSING: 'A module is plain LoRA, so it cannot be written as LoHa or LoKr without inventing a structure it does not have.',
};

const CLIENT_SENTENCES = {
  NETWORK_ERROR: 'The server could not be reached. Is `awb serve` still running?',
  HTTP_ERROR: 'The server answered with an unexpected error.',
  BAD_RESPONSE: 'The server sent an answer the dashboard could not read.',
  REQUEST_ABORTED: 'The request was cancelled.',
} satisfies Record<ClientErrorCode, string>;

/** Codes of the HTTP layer (server/errors.ts), and of the dashboard's own checks. */
const SERVER_SENTENCES: Record<string, string> = {
  ROUTE_NOT_FOUND: 'The server does not know this address.',
  NOT_FOUND: 'That item does not exist (any more).',
  UNAUTHORIZED: 'This server needs an access token: set it with the key button in the header.',
  FORBIDDEN_PATH: 'That path is outside the folder the server is allowed to read.',
  VALIDATION_FAILED: 'The request was not valid.',
  INVALID_JSON: 'The request body was not valid JSON.',
  BODY_TOO_LARGE: 'The request is larger than the server accepts.',
  UNSUPPORTED_MEDIA_TYPE: 'The server expected a different kind of upload.',
  MALFORMED_MULTIPART: 'The upload was garbled on the way; try again.',
  UPLOAD_TOO_LARGE: 'The file is larger than the server accepts.',
  UPLOAD_TOO_MANY_PARTS: 'Too many files in one upload: send one adapter (config + weights) at a time.',
  UPLOAD_EMPTY: 'The upload contained no file.',
  UPLOAD_FILE_UNEXPECTED: 'Only .safetensors files and adapter_config.json can be uploaded.',
  UPLOAD_ABORTED: 'The upload ended early; nothing was stored. Try again.',
  TOO_MANY_UPLOADS: 'The server is busy with other uploads; this one will work in a moment.',
  INSUFFICIENT_STORAGE: 'The server ran out of disk space; nothing was stored.',
  ADAPTER_IN_USE: 'This adapter is used by a queued or running job; cancel the job first.',
  JOB_FINISHED: 'This job has already finished, so it cannot be cancelled.',
  JOB_NOT_FINISHED: 'The job has not finished yet, so there is nothing to download.',
  JOB_CRASHED: 'The worker running this job stopped unexpectedly, too many times.',
  IDEMPOTENCY_CONFLICT: 'This request reuses a key that belongs to a different request.',
  ENGINE_UNAVAILABLE: 'This server build lacks a part the job needs.',
  SCHEMA_TOO_NEW: 'The database was written by a newer workbench version.',
  CONFIG_INVALID: 'A server option or environment variable is invalid.',
  SHUTTING_DOWN: 'The server is shutting down; try again once it is back.',
  // The dashboard's own checks before anything is sent:
  FILE_TYPE_SKIPPED: 'Not part of an adapter (only .safetensors and adapter_config.json are sent).',
};

export const ERROR_SENTENCES: Readonly<Record<string, string>> = {
  ...SERVER_SENTENCES,
  ...CLIENT_SENTENCES,
  ...LIBRARY_SENTENCES,
};

/** The sentence for a code; an unknown code still reads as a sentence. */
export function sentenceFor(code: string): string {
  return ERROR_SENTENCES[code] ?? `The operation failed (${code}).`;
}

export interface ErrorLike {
  readonly code: string;
  readonly message: string;
  readonly requestId?: string | undefined;
}

/** Sentence plus the server's specific message when it says more than the sentence. */
export function describeError(error: ErrorLike): { sentence: string; detail: string | null } {
  const sentence = sentenceFor(error.code);
  const detail = error.message && error.message !== sentence ? error.message : null;
  return { sentence, detail };
}
