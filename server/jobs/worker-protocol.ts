// Messages between the runner and a job worker thread.
import type { JobKind, JobProgressDto, ProblemDto } from '../dto.ts';

export interface WorkerInput {
  readonly jobId: string;
  readonly kind: JobKind;
  /** The request with adapter ids resolved to object folders. */
  readonly payload: Record<string, unknown>;
  /** Staging folder: the job writes its whole output here; the runner commits it. */
  readonly outDir: string;
  /** Test hook: sleep this long after each progress event (0 in production). */
  readonly stepDelayMs: number;
}

export type WorkerMessage =
  | { readonly type: 'progress'; readonly progress: JobProgressDto }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly message: string }
  | { readonly type: 'done'; readonly summary: Record<string, unknown> }
  | { readonly type: 'error'; readonly problem: ProblemDto; readonly permanent: boolean; readonly aborted: boolean };
