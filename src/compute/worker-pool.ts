// A pool of worker threads for independent compute tasks (one per core by
// default), each worker with its own compute backend.
//
// API (used by the server's job runner and by long CLI commands):
//
//   const pool = createWorkerPool({ size?: number, backend?: string, env?: {...} });
//   const result = await pool.run<R>(
//     { module: '/abs/path/to/tasks.ts' (or file: URL), fn: 'exportedName', args, transfer?: [ArrayBuffer…] },
//     { signal?: AbortSignal, onProgress?: (value: unknown) => void },
//   );
//   pool.stats();   // { size, workers, busy, queued }
//   await pool.close();
//
// - A task is a module-level function `export async function name(args, ctx: TaskContext)`; `args` and the
//   result are structured-cloned. ArrayBuffers listed in `transfer` move to the worker without a copy (they
//   are detached on the caller's side); typed arrays in the result that own their whole buffer come back
//   transferred automatically.
// - `ctx.signal` fires when the caller's AbortSignal does; `ctx.progress(v)` reaches `onProgress`;
//   `await ctx.backend()` is the worker's own Backend (selected with the pool's `backend`/`env`, else automatic).
// - Errors are re-thrown as WorkbenchError with the code, message, details and permanent flag the task threw
//   (anything else becomes INTERNAL). A cancelled task rejects with ABORTED; a task still running
//   WORKER_ABORT_GRACE_MS after cancellation has its worker terminated (and replaced on demand).
// - A worker that dies rejects its task with INTERNAL. Idle workers do not keep the process alive.
// - Workers run TypeScript through tsx: worker-bootstrap.mjs registers tsx, then imports worker-entry.ts.
import { availableParallelism } from 'node:os';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { ERROR_CODES, WorkbenchError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import { WORKER_ABORT_GRACE_MS } from '../limits.ts';
import type { PoolWorkerData, SerializedError, ToMainMessage, ToWorkerMessage } from './worker-protocol.ts';

export type { TaskContext } from './worker-protocol.ts';

export interface WorkerTask<A = unknown> {
  /** Absolute path or file: URL of the module that exports `fn`. */
  readonly module: string;
  readonly fn: string;
  readonly args: A;
  /** ArrayBuffers inside `args` to move rather than copy. */
  readonly transfer?: readonly ArrayBuffer[];
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (value: unknown) => void;
}

export interface WorkerPoolOptions {
  /** Number of worker threads; default os.availableParallelism(). */
  readonly size?: number;
  /** Backend name each worker selects (as --backend); default automatic. */
  readonly backend?: string;
  /** Environment seen by the workers' backend selection (AWB_BACKEND); default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Override WORKER_ABORT_GRACE_MS (tests). */
  readonly abortGraceMs?: number;
  /** V8 heap limits of each worker thread (e.g. a small young generation for streaming jobs). */
  readonly resourceLimits?: ResourceLimits;
}

export interface WorkerPoolStats {
  /** Most threads the pool starts. */
  readonly size: number;
  /** Threads alive now (started on demand). */
  readonly workers: number;
  readonly busy: number;
  readonly queued: number;
}

export interface WorkerPool {
  readonly size: number;
  /** A snapshot for health endpoints. */
  stats(): WorkerPoolStats;
  run<R = unknown>(task: WorkerTask, options?: RunOptions): Promise<R>;
  /** Terminates every worker; queued and running tasks reject with ABORTED. */
  close(): Promise<void>;
}

interface Pending {
  readonly id: number;
  readonly task: WorkerTask;
  readonly options: RunOptions;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
  onAbort?: () => void;
}

interface Slot {
  readonly worker: Worker;
  current: Pending | undefined;
  graceTimer?: NodeJS.Timeout;
}

const BOOTSTRAP = new URL('./worker-bootstrap.mjs', import.meta.url);
const ENTRY = new URL('./worker-entry.ts', import.meta.url).href;

function toWorkbenchError(error: SerializedError): WorkbenchError {
  const code: ErrorCode = (ERROR_CODES as readonly string[]).includes(error.code) ? error.code : 'INTERNAL';
  return new WorkbenchError(code, error.message, { details: error.details, permanent: error.permanent });
}

function aborted(what: string): WorkbenchError {
  return new WorkbenchError('ABORTED', `${what} was cancelled`, { permanent: false });
}

export function createWorkerPool(options: WorkerPoolOptions = {}): WorkerPool {
  const size = options.size ?? availableParallelism();
  if (!Number.isInteger(size) || size < 1) {
    throw new WorkbenchError('INVALID_ARGUMENT', `worker pool size must be a positive integer, got ${size}`, { details: { size } });
  }
  const graceMs = options.abortGraceMs ?? WORKER_ABORT_GRACE_MS;
  const slots = new Set<Slot>();
  const queue: Pending[] = [];
  let nextId = 1;
  let closed = false;

  const describe = (p: Pending): string => `worker task ${p.task.fn} (${p.task.module})`;

  function settle(p: Pending, outcome: { value: unknown } | { error: unknown }): void {
    if (p.settled) return;
    p.settled = true;
    if (p.onAbort) p.options.signal?.removeEventListener('abort', p.onAbort);
    if ('error' in outcome) p.reject(outcome.error);
    else p.resolve(outcome.value);
  }

  function release(slot: Slot): void {
    clearTimeout(slot.graceTimer);
    slot.current = undefined;
    slot.worker.unref();
    pump();
  }

  function retire(slot: Slot): void {
    clearTimeout(slot.graceTimer);
    slots.delete(slot);
    void slot.worker.terminate();
  }

  function spawn(): Slot {
    const workerData: PoolWorkerData = { entry: ENTRY, backend: options.backend, env: options.env === undefined ? undefined : { ...options.env } };
    const worker = new Worker(BOOTSTRAP, { workerData, ...(options.resourceLimits ? { resourceLimits: options.resourceLimits } : {}) });
    const slot: Slot = { worker, current: undefined };
    worker.on('message', (message: ToMainMessage) => {
      const p = slot.current;
      if (message.type === 'ready' || p === undefined || !('id' in message) || message.id !== p.id) return;
      if (message.type === 'progress') {
        if (!p.settled) p.options.onProgress?.(message.value);
        return;
      }
      settle(p, message.type === 'done' ? { value: message.result } : { error: toWorkbenchError(message.error) });
      release(slot);
    });
    const onDeath = (error?: unknown): void => {
      if (!slots.has(slot)) return;
      slots.delete(slot);
      clearTimeout(slot.graceTimer);
      const p = slot.current;
      if (p) {
        const reason = error instanceof Error ? error.message : 'the worker thread exited';
        settle(p, { error: new WorkbenchError('INTERNAL', `${describe(p)} failed: ${reason}`, { permanent: false, cause: error }) });
      }
      pump();
    };
    worker.on('error', onDeath);
    worker.on('exit', () => onDeath());
    slots.add(slot);
    return slot;
  }

  function start(slot: Slot, p: Pending): void {
    slot.current = p;
    slot.worker.ref();
    const message: ToWorkerMessage = { type: 'run', id: p.id, module: p.task.module, fn: p.task.fn, args: p.task.args };
    try {
      slot.worker.postMessage(message, [...(p.task.transfer ?? [])]);
    } catch (error) {
      settle(p, { error: new WorkbenchError('INVALID_ARGUMENT', `${describe(p)}: its arguments cannot be sent to a worker: ${(error as Error).message}`) });
      release(slot);
    }
  }

  function pump(): void {
    while (!closed && queue.length > 0) {
      let slot = [...slots].find((s) => s.current === undefined);
      if (slot === undefined && slots.size < size) slot = spawn();
      if (slot === undefined) return;
      start(slot, queue.shift()!);
    }
  }

  function cancel(p: Pending): void {
    const queued = queue.indexOf(p);
    if (queued >= 0) {
      queue.splice(queued, 1);
      settle(p, { error: aborted(describe(p)) });
      return;
    }
    const slot = [...slots].find((s) => s.current === p);
    if (slot === undefined) return;
    slot.worker.postMessage({ type: 'abort', id: p.id } satisfies ToWorkerMessage);
    slot.graceTimer = setTimeout(() => {
      if (slot.current !== p) return;
      // The task ignored its signal: stop the thread, the caller gets ABORTED.
      settle(p, { error: aborted(describe(p)) });
      slot.current = undefined;
      retire(slot);
      pump();
    }, graceMs);
    slot.graceTimer.unref();
  }

  return {
    size,
    stats(): WorkerPoolStats {
      const busy = [...slots].filter((slot) => slot.current !== undefined).length;
      return { size, workers: slots.size, busy, queued: queue.length };
    },
    run<R>(task: WorkerTask, runOptions: RunOptions = {}): Promise<R> {
      if (closed) {
        return Promise.reject(new WorkbenchError('ABORTED', 'the worker pool is closed', { permanent: false }));
      }
      if (runOptions.signal?.aborted) {
        return Promise.reject(aborted(`worker task ${task.fn} (${task.module})`));
      }
      return new Promise<R>((resolve, reject) => {
        const p: Pending = { id: nextId++, task, options: runOptions, resolve: resolve as (v: unknown) => void, reject, settled: false };
        if (runOptions.signal) {
          p.onAbort = () => cancel(p);
          runOptions.signal.addEventListener('abort', p.onAbort, { once: true });
        }
        queue.push(p);
        pump();
      });
    },
    async close(): Promise<void> {
      closed = true;
      for (const p of queue.splice(0)) settle(p, { error: new WorkbenchError('ABORTED', 'the worker pool was closed', { permanent: false }) });
      const all = [...slots];
      slots.clear();
      for (const slot of all) {
        clearTimeout(slot.graceTimer);
        if (slot.current) settle(slot.current, { error: new WorkbenchError('ABORTED', 'the worker pool was closed', { permanent: false }) });
      }
      await Promise.all(all.map((slot) => slot.worker.terminate()));
    },
  };
}
