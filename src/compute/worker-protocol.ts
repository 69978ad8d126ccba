// Messages between the worker pool (main thread) and worker-entry.ts.
import type { ErrorCode } from '../errors.ts';
import type { Backend } from './backend.ts';

export interface PoolWorkerData {
  /** file: URL of worker-entry.ts, imported by worker-bootstrap.mjs. */
  readonly entry: string;
  /** --backend value for the worker's own selectBackend; undefined = automatic. */
  readonly backend?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** What a task function receives as its second argument. */
export interface TaskContext {
  /** Fires when the caller cancels; long tasks check it between steps (throwIfAborted). */
  readonly signal: AbortSignal;
  /** Sends a structured-cloneable progress value to the caller's onProgress. */
  progress(value: unknown): void;
  /** This worker's backend, selected on first use and then reused. */
  backend(): Promise<Backend>;
}

export interface SerializedError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: Record<string, unknown>;
  readonly permanent: boolean;
}

export type ToWorkerMessage =
  | { readonly type: 'run'; readonly id: number; readonly module: string; readonly fn: string; readonly args: unknown }
  | { readonly type: 'abort'; readonly id: number };

export type ToMainMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly id: number; readonly value: unknown }
  | { readonly type: 'done'; readonly id: number; readonly result: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: SerializedError };
