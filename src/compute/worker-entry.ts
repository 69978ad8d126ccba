// Runs inside each pool worker: owns one backend instance (selected lazily, on
// the first task that asks for it), runs one task at a time, forwards progress,
// honours abort messages, and serialises errors with their WorkbenchError code.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { ERROR_CODES, WorkbenchError, isWorkbenchError } from '../errors.ts';
import type { Backend } from './backend.ts';
import type { PoolWorkerData, SerializedError, TaskContext, ToMainMessage, ToWorkerMessage } from './worker-protocol.ts';

const data = workerData as PoolWorkerData;
const port = parentPort;
if (port === null) {
  throw new WorkbenchError('INTERNAL', 'worker-entry.ts must run in a worker thread');
}

let backend: Promise<Backend> | undefined;
function getBackend(): Promise<Backend> {
  // Imported on first use: tasks that need no backend do not pay for loading tfjs.
  backend ??= import('./select-backend.ts').then(({ selectBackend }) => selectBackend({ backend: data.backend, env: data.env ?? process.env })).then((s) => s.backend);
  return backend;
}

const controllers = new Map<number, AbortController>();

function serializeError(error: unknown): SerializedError {
  if (isWorkbenchError(error)) {
    return { code: error.code, message: error.message, details: JSON.parse(JSON.stringify(error.details ?? {})) as Record<string, unknown>, permanent: error.permanent };
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code)) {
    return { code: code as SerializedError['code'], message: (error as Error).message, details: {}, permanent: true };
  }
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error), details: {}, permanent: true };
}

/** ArrayBuffers wholly owned by typed arrays in the result (up to 3 levels deep) travel without a copy. */
function transferables(value: unknown, depth = 0, found = new Set<ArrayBuffer>()): Set<ArrayBuffer> {
  if (depth > 3 || value === null || typeof value !== 'object') return found;
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) found.add(value.buffer);
    return found;
  }
  if (value instanceof ArrayBuffer) {
    found.add(value);
    return found;
  }
  for (const item of Array.isArray(value) ? value : Object.values(value)) transferables(item, depth + 1, found);
  return found;
}

function post(message: ToMainMessage, transfer: ArrayBuffer[] = []): void {
  try {
    port!.postMessage(message, transfer);
  } catch {
    port!.postMessage(message);
  }
}

async function run(message: Extract<ToWorkerMessage, { type: 'run' }>): Promise<void> {
  const controller = new AbortController();
  controllers.set(message.id, controller);
  try {
    if (!isAbsolute(message.module) && !message.module.startsWith('file:')) {
      throw new WorkbenchError('INVALID_ARGUMENT', `worker task module must be an absolute path or file: URL, got "${message.module}"`);
    }
    const url = message.module.startsWith('file:') ? message.module : pathToFileURL(message.module).href;
    const mod = (await import(url)) as Record<string, unknown>;
    const fn = mod[message.fn];
    if (typeof fn !== 'function') {
      throw new WorkbenchError('INVALID_ARGUMENT', `worker task module ${message.module} exports no function "${message.fn}"`, {
        details: { module: message.module, fn: message.fn },
      });
    }
    const context: TaskContext = {
      signal: controller.signal,
      progress: (value: unknown) => post({ type: 'progress', id: message.id, value }),
      backend: getBackend,
    };
    const result: unknown = await (fn as (args: unknown, ctx: TaskContext) => unknown)(message.args, context);
    post({ type: 'done', id: message.id, result }, [...transferables(result)]);
  } catch (error) {
    post({ type: 'error', id: message.id, error: serializeError(error) });
  } finally {
    controllers.delete(message.id);
  }
}

port.on('message', (message: ToWorkerMessage) => {
  if (message.type === 'run') {
    void run(message);
  } else if (message.type === 'abort') {
    controllers.get(message.id)?.abort();
  }
});
post({ type: 'ready' });
