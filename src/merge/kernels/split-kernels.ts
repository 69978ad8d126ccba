// The two O((m+n)·c²) kernels of a merge in the inputs' span (kernels/input-span.ts), split in two
// halves along the long dimension: the calling thread computes one half while a helper thread
// computes the other, on shared memory (SharedArrayBuffer views, no copies). The helper runs the very
// same functions (their source is sent to it), so both halves are computed identically, and the
// split is fixed by the sizes alone: results never depend on whether the helper is there or on
// timing. Without shared inputs, or when the helper is unavailable, the calling thread computes
// both halves itself.
import { defineSplitKernel, isShared, runSplit, splitHelperDescription, splitHelperStats, stopSplitHelper } from '../../compute/split-helper.ts';
import { gramOfRowList } from './gram-space.ts';

/** Below this row length the helper's hand-off costs more than the half it takes. */
export const SPLIT_MIN_LENGTH = 2048;
/**
 * Share of the long dimension the calling thread keeps. The helper's part also pays the hand-off
 * (posting the job, waking, structured-cloning the row views), so an even split left the calling
 * thread waiting (~0.9 s of a 32-layer BF16 svd merge); the split depends on sizes only, never on timing.
 */
export const SPLIT_OWN_SHARE = 0.6;

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

// The helper runs the kernels' own (transpiled) source. gramRange refers to gramOfRowList by its
// import binding, which a transpiler may rename (e.g. import_gram_space.gramOfRowList under a
// CommonJS transform), so the helper's version spells it out.
defineSplitKernel(
  'span.gram',
  `(() => { const gramOfRowList = ${gramOfRowList.toString()}; return (rows, from, to, result) => result.set(gramOfRowList(rows.map((r) => r.subarray(from, to)), to - from)); })()`,
);
defineSplitKernel('span.combine', `(${combineRows.toString()})`);

/**
 * Gram matrix of c rows of length L: for L ≥ SPLIT_MIN_LENGTH always as the sum of the Grams of the
 * two halves (so the rounding is the same with or without the helper), the second half on the helper
 * when the rows live in shared memory.
 */
export function splitGram(rows: readonly Float64Array[], L: number): Float64Array {
  if (L < SPLIT_MIN_LENGTH || rows.length === 0) return gramOfRowList(rows, L);
  const half = Math.floor(L * SPLIT_OWN_SHARE);
  const c = rows.length;
  const canShare = rows.every(isShared);
  const result = canShare ? new Float64Array(new SharedArrayBuffer(c * c * 8)) : new Float64Array(c * c);
  let low: Float64Array = new Float64Array(0);
  runSplit(
    'span.gram',
    canShare ? [rows, half, L, result] : undefined,
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
  const canShare = half < L && isShared(out) && rows.every(isShared);
  const sharedW = canShare ? new Float64Array(new SharedArrayBuffer(W.length * 8)) : W;
  if (canShare) sharedW.set(W);
  runSplit(
    'span.combine',
    canShare ? [out, sharedW, k, rows, L, half, L] : undefined,
    () => combineRows(out, W, k, rows, L, 0, half),
    () => {
      if (half < L) combineRows(out, W, k, rows, L, half, L);
    },
  );
}

/** What the span kernels run on, for the merge's "backend" line (the helper may still fail over to one thread). */
export function splitKernelsDescription(): string {
  return splitHelperDescription();
}

export { splitHelperStats, stopSplitHelper };
