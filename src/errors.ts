// One failure, one code. Every error the library raises is a WorkbenchError
// with a code from a closed union, a permanent/transient flag and structured
// details. Each area owns its list of codes in its own `error-codes.ts`, and
// this file joins them, so that the CLI, the HTTP layer and the job runner
// can map codes without knowing the areas.
import { SAFETENSORS_ERROR_CODES } from './safetensors/error-codes.ts';
import { ADAPTER_ERROR_CODES } from './adapter/error-codes.ts';
import { LINALG_ERROR_CODES } from './linalg/error-codes.ts';
import { MERGE_ERROR_CODES } from './merge/error-codes.ts';
import { DIAGNOSTICS_ERROR_CODES } from './diagnostics/error-codes.ts';
import { FORMATS_ERROR_CODES } from './formats/error-codes.ts';

/** Codes that belong to no single area. */
export const GENERAL_ERROR_CODES = [
  'IO_ERROR', // reading or writing a file failed (transient unless ENOENT)
  'FILE_NOT_FOUND', // a path given by the user does not exist
  'DISK_FULL', // ENOSPC while writing; nothing partial is left behind
  'ABORTED', // the caller's AbortSignal fired
  'INVALID_ARGUMENT', // an option or argument is out of range or of the wrong type
  'INTERNAL', // a bug: an invariant that should hold did not
] as const;

export const ERROR_CODES = [
  ...GENERAL_ERROR_CODES,
  ...SAFETENSORS_ERROR_CODES,
  ...ADAPTER_ERROR_CODES,
  ...LINALG_ERROR_CODES,
  ...MERGE_ERROR_CODES,
  ...DIAGNOSTICS_ERROR_CODES,
  ...FORMATS_ERROR_CODES,
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface WorkbenchErrorOptions {
  /** Values seen, names of the file/tensor/module, limits: anything a user needs to act. */
  details?: Record<string, unknown>;
  /** Permanent errors (bad input) must not be retried; transient ones (I/O, busy) may be. */
  permanent?: boolean;
  cause?: unknown;
}

export class WorkbenchError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly permanent: boolean;

  constructor(code: ErrorCode, message: string, options: WorkbenchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WorkbenchError';
    this.code = code;
    this.details = options.details ?? {};
    this.permanent = options.permanent ?? true;
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isWorkbenchError(value: unknown): value is WorkbenchError {
  return value instanceof WorkbenchError;
}

/** Turns a Node fs error into a WorkbenchError that names the path. */
export function fromFsError(error: unknown, path: string, action: string): WorkbenchError {
  const code = (error as { code?: string } | null)?.code;
  if (code === 'ENOENT') {
    return new WorkbenchError('FILE_NOT_FOUND', `${action}: no such file or folder: ${path}`, { details: { path } });
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new WorkbenchError('DISK_FULL', `${action}: the disk is full while writing ${path}`, {
      details: { path },
      permanent: false,
      cause: error,
    });
  }
  if (code === 'ABORT_ERR') {
    return new WorkbenchError('ABORTED', `${action}: aborted`, { details: { path }, permanent: false, cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new WorkbenchError('IO_ERROR', `${action}: ${path}: ${message}`, {
    details: { path, errno: code ?? null },
    permanent: false,
    cause: error,
  });
}

/** Throws ABORTED when the signal has fired. Long loops call this between steps. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    throw new WorkbenchError('ABORTED', `${what} was cancelled`, { permanent: false });
  }
}
