// Worker-thread entry: runs one job off the HTTP event loop. Receives the job
// in workerData, posts progress/log/done/error messages, and aborts its
// AbortController when the parent posts {type: 'cancel'}.
import { parentPort, workerData } from 'node:worker_threads';
import { executeJob } from './execute-job.ts';
import type { WorkerInput, WorkerMessage } from './worker-protocol.ts';
import { toProblem } from '../errors.ts';
import { isWorkbenchError } from '../../src/errors.ts';

const port = parentPort;
if (!port) throw new Error('job-worker.ts must run in a worker thread');
const input = workerData as WorkerInput;
const controller = new AbortController();
port.on('message', (message: { type?: string }) => {
  if (message?.type === 'cancel') controller.abort();
});

const post = (message: WorkerMessage): void => port.postMessage(message);

try {
  const summary = await executeJob(input, controller.signal, post);
  post({ type: 'done', summary });
} catch (error) {
  const { body } = toProblem(error);
  const aborted = controller.signal.aborted || (isWorkbenchError(error) && error.code === 'ABORTED');
  const permanent = isWorkbenchError(error) ? error.permanent : !(error as { code?: string } | null)?.code?.startsWith('E');
  if (!isWorkbenchError(error) && body.code === 'INTERNAL') {
    // Stack traces stay in the log, never in the job's error body.
    console.error('[job-worker] internal error:', error);
  }
  post({ type: 'error', problem: body, permanent, aborted });
}
