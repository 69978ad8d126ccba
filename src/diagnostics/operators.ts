// The operators the diagnostics iterate with: a dense base weight, and
// W0 + s·B·A applied as W0·X + s·B·(A·X) (algorithms.md §6.3), never densified.
import type { LinearOperator } from '../linalg/operator.ts';
import type { Mat } from '../tensor/matrix.ts';
import { zeros } from '../tensor/matrix.ts';

/** Y = M·X for row-major M (rows×cols) and X (cols×k). */
export function denseTimes(M: Mat, X: Mat): Mat {
  const k = X.cols;
  if (k === 1) return { rows: M.rows, cols: 1, data: matVec(M, X.data) };
  const out = zeros(M.rows, k);
  const md = M.data;
  const xd = X.data;
  const od = out.data;
  for (let i = 0; i < M.rows; i++) {
    const mi = i * M.cols;
    const oi = i * k;
    for (let c = 0; c < M.cols; c++) {
      const a = md[mi + c]!;
      if (a === 0) continue;
      const xc = c * k;
      for (let j = 0; j < k; j++) od[oi + j] = od[oi + j]! + a * xd[xc + j]!;
    }
  }
  return out;
}

/** Z = Mᵀ·Y for row-major M (rows×cols) and Y (rows×k). */
export function denseTransposeTimes(M: Mat, Y: Mat): Mat {
  const k = Y.cols;
  if (k === 1) return { rows: M.cols, cols: 1, data: matTVec(M, Y.data) };
  const out = zeros(M.cols, k);
  const md = M.data;
  const yd = Y.data;
  const od = out.data;
  for (let i = 0; i < M.rows; i++) {
    const mi = i * M.cols;
    const yi = i * k;
    for (let c = 0; c < M.cols; c++) {
      const a = md[mi + c]!;
      if (a === 0) continue;
      const oc = c * k;
      for (let j = 0; j < k; j++) od[oc + j] = od[oc + j]! + a * yd[yi + j]!;
    }
  }
  return out;
}

export function denseOperator(M: Mat): LinearOperator {
  return {
    rows: M.rows,
    cols: M.cols,
    apply: async (x) => denseTimes(M, x),
    applyTranspose: async (y) => denseTransposeTimes(M, y),
  };
}

/** W0 + scale·B·A as an operator: B m×r, A r×n. */
export function baseplusLowRankOperator(W0: Mat, B: Mat, A: Mat, scale: number): LinearOperator {
  return {
    rows: W0.rows,
    cols: W0.cols,
    apply: async (x) => {
      const out = denseTimes(W0, x);
      const bax = denseTimes(B, denseTimes(A, x));
      for (let i = 0; i < out.data.length; i++) out.data[i] = out.data[i]! + scale * bax.data[i]!;
      return out;
    },
    applyTranspose: async (y) => {
      const out = denseTransposeTimes(W0, y);
      const aby = denseTransposeTimes(A, denseTransposeTimes(B, y));
      for (let i = 0; i < out.data.length; i++) out.data[i] = out.data[i]! + scale * aby.data[i]!;
      return out;
    },
  };
}

/** y = M·x: one dot product per row (the Lanczos hot loop). */
function matVec(M: Mat, x: Float64Array): Float64Array {
  const { rows, cols, data } = M;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s0 = 0;
    let s1 = 0;
    const off = i * cols;
    let c = 0;
    for (; c + 1 < cols; c += 2) {
      s0 += data[off + c]! * x[c]!;
      s1 += data[off + c + 1]! * x[c + 1]!;
    }
    if (c < cols) s0 += data[off + c]! * x[c]!;
    out[i] = s0 + s1;
  }
  return out;
}

/** z = Mᵀ·y: axpy of each row. */
function matTVec(M: Mat, y: Float64Array): Float64Array {
  const { rows, cols, data } = M;
  const out = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const a = y[i]!;
    if (a === 0) continue;
    const off = i * cols;
    for (let c = 0; c < cols; c++) out[c] = out[c]! + a * data[off + c]!;
  }
  return out;
}
