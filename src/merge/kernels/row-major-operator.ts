// A dense row-major m×n matrix as a LinearOperator that never forms Mᵀ. Both products run over
// contiguous rows of M: M·X as dot products of each row with the columns of X (held transposed,
// four at a time), Mᵀ·Y as axpys of each row of M into the transposed result (four columns of Y
// per read of the row). The sums run over k (resp. i) in increasing order, as a plain loop would.
// rowBlockOperator does the same over a replay of row blocks (never holding M).
// Used by the element-wise merges to re-factor the merged ΔW, where a transposed copy of M would
// double the largest allocation of the merge.
import type { LinearOperator } from '../../linalg/operator.ts';
import { zeros, type Mat } from '../../tensor/matrix.ts';

function transposed(x: Mat): Float64Array {
  const { rows, cols, data } = x;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j]!;
  return out;
}

/** Feeds the rows of an m×n matrix block by block, in row order: visit(r0, r1, rows r0..r1−1 row-major). */
export type RowBlockReplay = (visit: (r0: number, r1: number, block: Float64Array) => void) => void;

/**
 * An m×n matrix seen only through a replay of its row blocks (e.g. recomputed on every product,
 * so it is never held whole). Each product replays once; per-row arithmetic and summation order
 * are the same as rowMajorOperator's on the whole matrix, so both give identical results.
 */
export function rowBlockOperator(m: number, n: number, replay: RowBlockReplay): LinearOperator {
  return {
    rows: m,
    cols: n,
    apply: async (x: Mat) => {
      const l = x.cols;
      const xt = transposed(x); // l×n
      const out = zeros(m, l);
      const o = out.data;
      replay((r0, r1, data) => {
        for (let i = r0; i < r1; i++) {
          const row = (i - r0) * n;
          let j = 0;
          for (; j + 4 <= l; j += 4) {
            const x0 = j * n;
            const x1 = x0 + n;
            const x2 = x1 + n;
            const x3 = x2 + n;
            let s0 = 0;
            let s1 = 0;
            let s2 = 0;
            let s3 = 0;
            for (let k = 0; k < n; k++) {
              const v = data[row + k]!;
              s0 += v * xt[x0 + k]!;
              s1 += v * xt[x1 + k]!;
              s2 += v * xt[x2 + k]!;
              s3 += v * xt[x3 + k]!;
            }
            o[i * l + j] = s0;
            o[i * l + j + 1] = s1;
            o[i * l + j + 2] = s2;
            o[i * l + j + 3] = s3;
          }
          for (; j < l; j++) {
            const x0 = j * n;
            let s = 0;
            for (let k = 0; k < n; k++) s += data[row + k]! * xt[x0 + k]!;
            o[i * l + j] = s;
          }
        }
      });
      return out;
    },
    applyTranspose: async (y: Mat) => {
      const l = y.cols;
      const yd = y.data;
      const outT = new Float64Array(l * n); // (Mᵀ·Y)ᵀ, l×n
      replay((r0, r1, data) => {
        for (let i = r0; i < r1; i++) {
          const row = (i - r0) * n;
          const yr = i * l;
          let j = 0;
          for (; j + 4 <= l; j += 4) {
            const y0 = yd[yr + j]!;
            const y1 = yd[yr + j + 1]!;
            const y2 = yd[yr + j + 2]!;
            const y3 = yd[yr + j + 3]!;
            const o0 = j * n;
            const o1 = o0 + n;
            const o2 = o1 + n;
            const o3 = o2 + n;
            for (let k = 0; k < n; k++) {
              const v = data[row + k]!;
              outT[o0 + k]! += v * y0;
              outT[o1 + k]! += v * y1;
              outT[o2 + k]! += v * y2;
              outT[o3 + k]! += v * y3;
            }
          }
          for (; j < l; j++) {
            const yj = yd[yr + j]!;
            const o0 = j * n;
            for (let k = 0; k < n; k++) outT[o0 + k]! += data[row + k]! * yj;
          }
        }
      });
      return { rows: n, cols: l, data: transposed({ rows: l, cols: n, data: outT }) };
    },
  };
}

export function rowMajorOperator(M: Mat): LinearOperator {
  const { rows: m, cols: n, data } = M;
  return rowBlockOperator(m, n, (visit) => visit(0, m, data));
}
