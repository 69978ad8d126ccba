// One helper thread per thread that uses it, computing a share of a kernel's work on shared memory
// (SharedArrayBuffer views, no copies) while the calling thread computes the rest. Kernels are
// registered by name with their source text, which the helper evaluates: both threads run the very
// same code, and every caller splits its work along boundaries that do not change what each output
// entry sums (rows, row pairs, row blocks), so results never depend on whether the helper ran, on
// the split point, or on timing. Without shared operands, or when the helper is unavailable, the
// calling thread computes the helper's share itself.
import { Worker } from 'node:worker_threads';
import { WorkbenchError } from '../errors.ts';

/** How long the calling thread waits for the helper at least, before computing its share itself. */
const HELPER_MIN_TIMEOUT_MS = 30_000;
/** …and at most this multiple of the time its own share took (a long Gram may take a minute). */
const HELPER_TIMEOUT_FACTOR = 4;

interface Registered {
  readonly source: string;
}

const kernels = new Map<string, Registered>();

/**
 * Registers a kernel for the helper: `source` is a JavaScript expression whose value is the function
 * (self-contained: literal constants and the functions spelled out in it, nothing imported, since a
 * transpiler may rename import bindings). Names are unique; a second definition is refused.
 */
export function defineSplitKernel(name: string, source: string): void {
  if (kernels.has(name)) {
    throw new WorkbenchError('INTERNAL', `split kernel "${name}" is already defined`, { details: { name } });
  }
  kernels.set(name, { source });
}

let helper: Worker | undefined;
let defined = new Set<string>();
let helperBroken = false;
const stats = { helperJobs: 0, localFallbacks: 0 };

/** How many shares the helper computed, and how many it handed back (failed or timed out). */
export function splitHelperStats(): { readonly helperJobs: number; readonly localFallbacks: number; readonly helperRunning: boolean } {
  return { ...stats, helperRunning: helper !== undefined && !helperBroken };
}

const HELPER_SOURCE = [
  "const { parentPort } = require('node:worker_threads');",
  'const kernels = new Map();',
  'parentPort.on("message", (job) => {',
  '  if (job.op === "define") { kernels.set(job.name, (0, eval)(job.source)); return; }',
  '  let status = 1;',
  '  try { kernels.get(job.name)(...job.args); } catch (error) { status = 2; }',
  '  Atomics.store(job.flag, 0, status);',
  '  Atomics.notify(job.flag, 0);',
  '});',
].join('\n');

/** AWB_SPLIT_HELPER=0 keeps every share on the calling thread (same results; for measurements and constrained hosts). */
function helperDisabled(): boolean {
  return process.env.AWB_SPLIT_HELPER === '0';
}

function getHelper(name: string): Worker | undefined {
  if (helperBroken || helperDisabled()) return undefined;
  if (!helper) {
    try {
      helper = new Worker(HELPER_SOURCE, { eval: true });
      defined = new Set();
      helper.unref();
      helper.on('error', () => {
        helperBroken = true;
        helper = undefined;
      });
    } catch {
      helperBroken = true;
      return undefined;
    }
  }
  if (!defined.has(name)) {
    helper.postMessage({ op: 'define', name, source: kernels.get(name)!.source });
    defined.add(name);
  }
  return helper;
}

/** True when `x` lives in shared memory (the helper can read and write it without a copy). */
export function isShared(x: ArrayBufferView): boolean {
  return x.buffer instanceof SharedArrayBuffer;
}

/**
 * Runs `own()` here while the helper runs kernel `name` on `args` (or nothing, when `args` is
 * undefined: operands not shared); then waits for the helper, and runs `fallback()` here when there
 * is no helper, it failed, or it timed out. `fallback` must compute what the helper's call would.
 */
export function runSplit(name: string, args: readonly unknown[] | undefined, own: () => void, fallback: () => void): void {
  if (!kernels.has(name)) throw new WorkbenchError('INTERNAL', `split kernel "${name}" is not defined`, { details: { name } });
  const worker = args ? getHelper(name) : undefined;
  if (!args || !worker) {
    own();
    fallback();
    return;
  }
  const flag = new Int32Array(new SharedArrayBuffer(4));
  worker.postMessage({ op: 'run', name, args, flag });
  const started = performance.now();
  own();
  const timeout = Math.max(HELPER_MIN_TIMEOUT_MS, HELPER_TIMEOUT_FACTOR * (performance.now() - started));
  const state = Atomics.wait(flag, 0, 0, timeout);
  if (state !== 'timed-out' && Atomics.load(flag, 0) === 1) {
    stats.helperJobs++;
    return;
  }
  stats.localFallbacks++;
  if (state === 'timed-out') {
    helperBroken = true;
    void worker.terminate();
    helper = undefined;
  }
  fallback();
}

/** What split kernels run on, for "backend" lines (the helper may still fail over to one thread). */
export function splitHelperDescription(): string {
  return helperDisabled() || helperBroken ? 'calling thread only' : 'calling thread + 1 helper thread';
}

/** Stops the helper thread (tests; the helper is unref'd and never keeps a process alive). */
export async function stopSplitHelper(): Promise<void> {
  const worker = helper;
  helper = undefined;
  defined = new Set();
  await worker?.terminate();
}
