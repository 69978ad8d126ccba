// A dense row-major m×n matrix as a LinearOperator that never forms Mᵀ: Mᵀ·Y is accumulated
// row by row (out[k,:] += M[i,k]·Y[i,:]). Used by the element-wise merges to re-factor the merged
// ΔW, where a transposed copy would double the largest allocation of the merge.
import type { LinearOperator } from '../../linalg/operator.ts';
import { zeros, type Mat } from '../../tensor/matrix.ts';

export function rowMajorOperator(M: Mat): LinearOperator {
  const { rows: m, cols: n, data } = M;
  return {
    rows: m,
    cols: n,
    apply: async (x: Mat) => {
      const l = x.cols;
      const out = zeros(m, l);
      for (let i = 0; i < m; i++) {
        const row = i * n;
        const o = i * l;
        for (let k = 0; k < n; k++) {
          const v = data[row + k]!;
          if (v === 0) continue;
          const xr = k * l;
          for (let j = 0; j < l; j++) out.data[o + j]! += v * x.data[xr + j]!;
        }
      }
      return out;
    },
    applyTranspose: async (y: Mat) => {
      const l = y.cols;
      const out = zeros(n, l);
      for (let i = 0; i < m; i++) {
        const row = i * n;
        const yr = i * l;
        for (let k = 0; k < n; k++) {
          const v = data[row + k]!;
          if (v === 0) continue;
          const o = k * l;
          for (let j = 0; j < l; j++) out.data[o + j]! += v * y.data[yr + j]!;
        }
      }
      return out;
    },
  };
}
