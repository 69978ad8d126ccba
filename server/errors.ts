// The HTTP layer's one error module: server-only codes, the code → status
// table for every code (server and library), and the problem-JSON serialiser.
// The job runner uses `toProblem` too, so a failed job carries the same body.
import { isWorkbenchError } from '../src/errors.ts';
import type { ProblemDto } from './dto.ts';

/** Codes raised by the server itself (the library's codes live in src/<area>/error-codes.ts). */
export const SERVER_ERROR_CODES = [
  'ROUTE_NOT_FOUND', // no such route
  'NOT_FOUND', // no adapter/base/job/report with that id
  'UNAUTHORIZED', // missing or wrong bearer token
  'FORBIDDEN_PATH', // a base path outside the allow-listed root
  'VALIDATION_FAILED', // the request body or query does not match its schema
  'INVALID_JSON', // the body is not JSON
  'BODY_TOO_LARGE', // a JSON body over its limit
  'UNSUPPORTED_MEDIA_TYPE', // wrong Content-Type for the route
  'MALFORMED_MULTIPART', // busboy refused the body
  'UPLOAD_TOO_LARGE', // a file, or the whole upload, over MAX_UPLOAD_BYTES
  'UPLOAD_TOO_MANY_PARTS', // more files/fields/parts than allowed
  'UPLOAD_EMPTY', // no file in the upload
  'UPLOAD_FILE_UNEXPECTED', // a file that is neither .safetensors nor adapter_config.json
  'UPLOAD_ABORTED', // the client went away mid-upload
  'TOO_MANY_UPLOADS', // concurrent upload limit reached
  'INSUFFICIENT_STORAGE', // disk full while storing
  'ADAPTER_IN_USE', // delete refused: a queued/running job reads it
  'JOB_FINISHED', // cancel of a finished job
  'JOB_NOT_FINISHED', // download/report of a job that has no output yet
  'JOB_CRASHED', // the worker died (lease expired past max attempts)
  'IDEMPOTENCY_CONFLICT', // same Idempotency-Key, different request
  'ENGINE_UNAVAILABLE', // a library module the job needs is not installed in this build
  'SCHEMA_TOO_NEW', // the database was written by a newer version
  'CONFIG_INVALID', // bad command-line option or environment variable
  'SHUTTING_DOWN', // the server is stopping
] as const;
export type ServerErrorCode = (typeof SERVER_ERROR_CODES)[number];

/** Status for each server code. */
const SERVER_STATUS: Record<ServerErrorCode, number> = {
  ROUTE_NOT_FOUND: 404,
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN_PATH: 403,
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  MALFORMED_MULTIPART: 400,
  UPLOAD_TOO_LARGE: 413,
  UPLOAD_TOO_MANY_PARTS: 413,
  UPLOAD_EMPTY: 400,
  UPLOAD_FILE_UNEXPECTED: 422,
  UPLOAD_ABORTED: 400,
  TOO_MANY_UPLOADS: 503,
  INSUFFICIENT_STORAGE: 507,
  ADAPTER_IN_USE: 409,
  JOB_FINISHED: 409,
  JOB_NOT_FINISHED: 409,
  JOB_CRASHED: 500,
  IDEMPOTENCY_CONFLICT: 409,
  ENGINE_UNAVAILABLE: 501,
  SCHEMA_TOO_NEW: 500,
  CONFIG_INVALID: 400,
  SHUTTING_DOWN: 503,
};

/** Library codes whose status is not the family default below. */
const LIBRARY_STATUS: Record<string, number> = {
  IO_ERROR: 500,
  FILE_NOT_FOUND: 404,
  DISK_FULL: 507,
  ABORTED: 409,
  INVALID_ARGUMENT: 400,
  INTERNAL: 500,
  MERGE_METHOD_UNKNOWN: 400,
  MERGE_PARAM_INVALID: 400,
  RECIPE_INVALID: 400,
  MERGE_NO_INPUTS: 400,
  REGISTRY_DUPLICATE: 500,
};

/**
 * HTTP status for any code. Library codes not in the table are bad input (422): the safetensors
 * container, adapter semantics, merge compatibility, diagnostics and format checks.
 */
export function statusForCode(code: string): number {
  if (Object.hasOwn(SERVER_STATUS, code)) return SERVER_STATUS[code as ServerErrorCode];
  if (Object.hasOwn(LIBRARY_STATUS, code)) return LIBRARY_STATUS[code] ?? 500;
  return 422;
}

/** An operational error raised by the HTTP layer. */
export class HttpError extends Error {
  readonly code: ServerErrorCode;
  readonly details: Record<string, unknown>;
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(code: ServerErrorCode, message: string, details: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
    this.details = details;
    this.status = SERVER_STATUS[code];
    this.headers = headers;
  }
}

export function isHttpError(value: unknown): value is HttpError {
  return value instanceof HttpError;
}

export function notFound(what: string, id: string): HttpError {
  return new HttpError('NOT_FOUND', `no ${what} with id ${JSON.stringify(id)}`, { kind: what, id });
}

/** Known error → {status, body}; anything else → 500 INTERNAL without internals. */
export function toProblem(error: unknown, requestId?: string): { status: number; body: ProblemDto; expected: boolean } {
  const withId = (body: Omit<ProblemDto, 'requestId'>): ProblemDto => (requestId === undefined ? body : { ...body, requestId });
  if (isHttpError(error)) {
    return { status: error.status, body: withId({ code: error.code, message: error.message, details: error.details }), expected: true };
  }
  if (isWorkbenchError(error)) {
    const status = statusForCode(error.code);
    const details = scrubDetails(error.details);
    return { status, body: withId({ code: error.code, message: scrubPaths(error.message), details }), expected: status < 500 || error.code === 'DISK_FULL' };
  }
  // Errors raised by body-parser/express carry `status` and `type`.
  const e = error as { status?: number; type?: string; code?: string } | null;
  if (e?.type === 'entity.parse.failed') {
    return { status: 400, body: withId({ code: 'INVALID_JSON', message: 'the request body is not valid JSON', details: {} }), expected: true };
  }
  if (e?.type === 'entity.too.large') {
    return { status: 413, body: withId({ code: 'BODY_TOO_LARGE', message: 'the request body is over its size limit', details: {} }), expected: true };
  }
  if (e?.code === 'ENOSPC' || e?.code === 'EDQUOT') {
    return { status: 507, body: withId({ code: 'INSUFFICIENT_STORAGE', message: 'the server disk is full', details: {} }), expected: true };
  }
  return {
    status: 500,
    body: withId({ code: 'INTERNAL', message: 'internal error; see the server log for this request id', details: {} }),
    expected: false,
  };
}

/** Library messages may name absolute paths of the data dir; responses show only base names. */
export function scrubPaths(text: string): string {
  return text.replace(/(?:\/[^\s/:'"]+)+\/([^\s/:'"]+)/g, '$1');
}

function scrubDetails(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    out[key] = typeof value === 'string' ? scrubPaths(value) : value;
  }
  return out;
}
