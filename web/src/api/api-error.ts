import type { ProblemDto } from './types.ts';

/** Codes the dashboard itself produces when the server never answered with problem JSON. */
export const CLIENT_ERROR_CODES = ['NETWORK_ERROR', 'HTTP_ERROR', 'BAD_RESPONSE', 'REQUEST_ABORTED'] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/**
 * An API failure, typed by its stable `code`. Built from problem JSON `{code, message, details}`
 * or, when the server sent none, from the transport failure.
 */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown>;
  readonly requestId: string | undefined;

  constructor(code: string, message: string, status: number, details: Record<string, unknown> = {}, requestId?: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.details = details;
    this.requestId = requestId;
  }

  static fromProblem(problem: ProblemDto, status: number): ApiError {
    return new ApiError(problem.code, problem.message, status, problem.details ?? {}, problem.requestId);
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}

/** True when a parsed body looks like problem JSON. */
export function isProblem(body: unknown): body is ProblemDto {
  return (
    typeof body === 'object' &&
    body !== null &&
    typeof (body as { code?: unknown }).code === 'string' &&
    typeof (body as { message?: unknown }).message === 'string'
  );
}

/** Turns a response status and its raw body text into an ApiError. */
export function errorFromResponse(status: number, statusText: string, bodyText: string): ApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = undefined;
  }
  if (isProblem(parsed)) return ApiError.fromProblem(parsed, status);
  const snippet = bodyText.trim().slice(0, 200);
  return new ApiError(
    'HTTP_ERROR',
    `The server answered ${status}${statusText ? ` ${statusText}` : ''}${snippet ? `: ${snippet}` : ''}`,
    status,
    { status },
  );
}

/** Any thrown value as an ApiError (network failures, aborts, bugs). */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof DOMException && error.name === 'AbortError') {
    return new ApiError('REQUEST_ABORTED', 'The request was cancelled.', 0);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError('NETWORK_ERROR', `Could not reach the server (${message}).`, 0);
}
