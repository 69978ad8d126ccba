// A dense row-major m×n matrix as a LinearOperator that never forms Mᵀ. Both products run over
// contiguous rows of M: M·X as dot products of each row with the columns of X (held transposed;
// the row-dot kernel of src/compute/exact-dense-operator.ts), Mᵀ·Y as axpys of each row of M into the transposed result (four columns of Y
// per read of the row). The sums run over k (resp. i) in increasing order, as a plain loop would.
// rowBlockOperator does the same over a replay of row blocks (never holding M).
// Used by the element-wise merges to re-factor the merged ΔW, where a transposed copy of M would
// double the largest allocation of the merge.
import type { LinearOperator } from '../../linalg/operator.ts';
import { zeros, type Mat } from '../../tensor/matrix.ts';
import { rowDotProduct, transposeOf } from '../../compute/exact-dense-operator.ts';

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
      const xt = transposeOf(x); // l×n
      const out = zeros(m, l);
      // Each block's rows dotted with the columns of X (src/compute's row-dot kernel: every entry a
      // plain k-ordered sum, so a block replay gives the same bits as the whole matrix).
      replay((r0, r1, data) => out.data.set(rowDotProduct(data, r1 - r0, n, xt, l), r0 * l));
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
      return { rows: n, cols: l, data: transposeOf({ rows: l, cols: n, data: outT }) };
    },
  };
}

export function rowMajorOperator(M: Mat): LinearOperator {
  const { rows: m, cols: n, data } = M;
  return rowBlockOperator(m, n, (visit) => visit(0, m, data));
}
