// The two O((m+n)·c²) kernels of a merge in the inputs' span (kernels/input-span.ts), split in two
// halves along the long dimension: the calling thread computes one half while a helper thread
// computes the other, on shared memory (SharedArrayBuffer views, no copies). The helper runs the very
// same functions (their source is sent to it), so both halves are computed identically, and the
// split is fixed by the sizes alone: results never depend on whether the helper is there or on
// timing. Without shared inputs, or when the helper is unavailable, the calling thread computes
// both halves itself.
import { Worker } from 'node:worker_threads';
import { gramOfRowList } from './gram-space.ts';

/** Below this row length the helper's hand-off costs more than the half it takes. */
export const SPLIT_MIN_LENGTH = 2048;
/**
 * Share of the long dimension the calling thread keeps. The helper's part also pays the hand-off
 * (posting the job, waking, structured-cloning the row views), so an even split left the calling
 * thread waiting (~0.9 s of a 32-layer BF16 svd merge); the split depends on sizes only, never on timing.
 */
export const SPLIT_OWN_SHARE = 0.6;
/** How long the calling thread waits for the helper's half before computing it itself (a stuck helper is dropped). */
const HELPER_TIMEOUT_MS = 30_000;

/**
 * out[q·L + j] (k×L, row-major) = Σ_a W[q·c + a]·rows[a][j] for from ≤ j < to (only those columns
 * are written). Two output rows by four input rows per pass: four loads and two read-modify-writes
 * for eight multiply-adds, in blocks of 2048 columns (a block of every input row stays in L2).
 * Self-contained (literal constants only): its source runs in the helper too.
 */
export function combineRows(out: Float64Array, W: Float64Array, k: number, rows: readonly Float64Array[], L: number, from: number, to: number): void {
  const c = rows.length;
  for (let q = 0; q < k; q++) out.fill(0, q * L + from, q * L + to);
  for (let j0 = from; j0 < to; j0 += 2048) {
    const j1 = Math.min(to, j0 + 2048);
    for (let q = 0; q < k; q += 2) {
      const two = q + 1 < k;
      const o0 = q * L;
      const o1 = two ? (q + 1) * L : o0;
      let a = 0;
      for (; a + 4 <= c; a += 4) {
        const r0 = rows[a]!;
        const r1 = rows[a + 1]!;
        const r2 = rows[a + 2]!;
        const r3 = rows[a + 3]!;
        const w00 = W[q * c + a]!;
        const w01 = W[q * c + a + 1]!;
        const w02 = W[q * c + a + 2]!;
        const w03 = W[q * c + a + 3]!;
        if (two) {
          const w10 = W[(q + 1) * c + a]!;
          const w11 = W[(q + 1) * c + a + 1]!;
          const w12 = W[(q + 1) * c + a + 2]!;
          const w13 = W[(q + 1) * c + a + 3]!;
          for (let j = j0; j < j1; j++) {
            const x0 = r0[j]!;
            const x1 = r1[j]!;
            const x2 = r2[j]!;
            const x3 = r3[j]!;
            out[o0 + j]! += w00 * x0 + w01 * x1 + w02 * x2 + w03 * x3;
            out[o1 + j]! += w10 * x0 + w11 * x1 + w12 * x2 + w13 * x3;
          }
        } else {
          for (let j = j0; j < j1; j++) out[o0 + j]! += w00 * r0[j]! + w01 * r1[j]! + w02 * r2[j]! + w03 * r3[j]!;
        }
      }
      for (; a < c; a++) {
        const r = rows[a]!;
        const w0 = W[q * c + a]!;
        const w1 = two ? W[(q + 1) * c + a]! : 0;
        for (let j = j0; j < j1; j++) {
          const x = r[j]!;
          out[o0 + j]! += w0 * x;
          if (two) out[o1 + j]! += w1 * x;
        }
      }
    }
  }
}

/** Partial Gram of rows[·][from, to): gramOfRowList on views (the helper has the same one-liner, see helperSource). */
function gramRange(rows: readonly Float64Array[], from: number, to: number): Float64Array {
  return gramOfRowList(
    rows.map((r) => r.subarray(from, to)),
    to - from,
  );
}

type Job =
  | { readonly op: 'gram'; readonly rows: readonly Float64Array[]; readonly from: number; readonly to: number; readonly result: Float64Array; readonly flag: Int32Array }
  | {
      readonly op: 'combine';
      readonly out: Float64Array;
      readonly W: Float64Array;
      readonly k: number;
      readonly rows: readonly Float64Array[];
      readonly L: number;
      readonly from: number;
      readonly to: number;
      readonly flag: Int32Array;
    };

let helper: Worker | undefined;
let helperBroken = false;
const stats = { helperJobs: 0, localFallbacks: 0 };

/** How many halves the helper computed, and how many it handed back (failed or timed out). */
export function splitHelperStats(): { readonly helperJobs: number; readonly localFallbacks: number; readonly helperRunning: boolean } {
  return { ...stats, helperRunning: helper !== undefined && !helperBroken };
}

function helperSource(): string {
  // The kernels' own (transpiled) source, so the helper computes exactly what this thread would.
  return [
    "const { parentPort } = require('node:worker_threads');",
    `const gramOfRowList = ${gramOfRowList.toString()};`,
    `const combineRows = ${combineRows.toString()};`,
    // gramRange refers to gramOfRowList by its import binding, which a transpiler may rename
    // (e.g. import_gram_space.gramOfRowList under a CommonJS transform), so it is spelled out here.
    'const gramRange = (rows, from, to) => gramOfRowList(rows.map((r) => r.subarray(from, to)), to - from);',
    'parentPort.on("message", (job) => {',
    '  let status = 1;',
    '  try {',
    '    if (job.op === "gram") job.result.set(gramRange(job.rows, job.from, job.to));',
    '    else combineRows(job.out, job.W, job.k, job.rows, job.L, job.from, job.to);',
    '  } catch (error) { status = 2; }',
    '  Atomics.store(job.flag, 0, status);',
    '  Atomics.notify(job.flag, 0);',
    '});',
  ].join('\n');
}

/** AWB_SPLIT_HELPER=0 keeps both halves on the calling thread (same results; for measurements and constrained hosts). */
function helperDisabled(): boolean {
  return process.env.AWB_SPLIT_HELPER === '0';
}

function getHelper(): Worker | undefined {
  if (helperBroken || helperDisabled()) return undefined;
  if (!helper) {
    try {
      helper = new Worker(helperSource(), { eval: true });
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
  return helper;
}

function shared(x: Float64Array): boolean {
  return x.buffer instanceof SharedArrayBuffer;
}

/**
 * Hands `job` to the helper, runs `own` here, then waits for the helper; computes the helper's part
 * here (`fallback`) when there is no helper, it failed, or it timed out.
 */
function runSplit(job: Job | undefined, own: () => void, fallback: () => void): void {
  const worker = job ? getHelper() : undefined;
  if (!job || !worker) {
    own();
    fallback();
    return;
  }
  worker.postMessage(job);
  own();
  const state = Atomics.wait(job.flag, 0, 0, HELPER_TIMEOUT_MS);
  if (state !== 'timed-out' && Atomics.load(job.flag, 0) === 1) {
    stats.helperJobs++;
  } else {
    stats.localFallbacks++;
    if (state === 'timed-out') {
      helperBroken = true;
      void worker.terminate();
      helper = undefined;
    }
    fallback();
  }
}

/**
 * Gram matrix of c rows of length L: for L ≥ SPLIT_MIN_LENGTH always as the sum of the Grams of the
 * two halves (so the rounding is the same with or without the helper), the second half on the helper
 * when the rows live in shared memory.
 */
export function splitGram(rows: readonly Float64Array[], L: number): Float64Array {
  if (L < SPLIT_MIN_LENGTH || rows.length === 0) return gramOfRowList(rows, L);
  const half = Math.floor(L * SPLIT_OWN_SHARE);
  const c = rows.length;
  const canShare = rows.every(shared);
  const result = canShare ? new Float64Array(new SharedArrayBuffer(c * c * 8)) : new Float64Array(c * c);
  const job: Job | undefined = canShare ? { op: 'gram', rows, from: half, to: L, result, flag: new Int32Array(new SharedArrayBuffer(4)) } : undefined;
  let low: Float64Array = new Float64Array(0);
  runSplit(
    job,
    () => {
      low = gramRange(rows, 0, half);
    },
    () => result.set(gramRange(rows, half, L)),
  );
  for (let i = 0; i < low.length; i++) low[i]! += result[i]!;
  return low;
}

/** combineRows over all L columns; the second half of the columns on the helper when everything is shared. */
export function splitCombine(out: Float64Array, W: Float64Array, k: number, rows: readonly Float64Array[], L: number): void {
  const half = L >= SPLIT_MIN_LENGTH ? Math.floor(L * SPLIT_OWN_SHARE) : L;
  const canShare = half < L && shared(out) && rows.every(shared);
  const sharedW = canShare ? new Float64Array(new SharedArrayBuffer(W.length * 8)) : W;
  if (canShare) sharedW.set(W);
  const job: Job | undefined = canShare ? { op: 'combine', out, W: sharedW, k, rows, L, from: half, to: L, flag: new Int32Array(new SharedArrayBuffer(4)) } : undefined;
  runSplit(
    job,
    () => combineRows(out, W, k, rows, L, 0, half),
    () => {
      if (half < L) combineRows(out, W, k, rows, L, half, L);
    },
  );
}

/** What the span kernels run on, for the merge's "backend" line (the helper may still fail over to one thread). */
export function splitKernelsDescription(): string {
  return helperDisabled() || helperBroken ? 'calling thread only' : 'calling thread + 1 helper thread';
}

/** Stops the helper thread (tests; the helper is unref'd and never keeps a process alive). */
export async function stopSplitHelper(): Promise<void> {
  const worker = helper;
  helper = undefined;
  await worker?.terminate();
}
