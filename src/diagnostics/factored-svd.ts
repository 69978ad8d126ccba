// Exact thin SVD of scale·B·A from the factors (algorithms.md §6.1), computed by the shared
// src/linalg lowRankSvd (QR of B and Aᵀ, small core SVD, numerical-rank cut-off) and seen as
// per-vector arrays, the layout the diagnostics compare cosines in. No m×n matrix.
import type { Mat } from '../tensor/matrix.ts';
import { lowRankSvd } from '../linalg/low-rank-svd.ts';

export interface FactoredSvd {
  /** Left singular vectors (length m), one per kept singular value. */
  readonly u: Float64Array[];
  /** Singular values, descending, rank-deficient tail dropped. */
  readonly s: Float64Array;
  /** Right singular vectors (length n). */
  readonly v: Float64Array[];
}

/** SVD of scale·B·A with B m×r and A r×n; values at round-off level are dropped (lowRankSvd's rule). */
export function factoredSvd(B: Mat, A: Mat, scale: number): FactoredSvd {
  const { U, S, Vt } = lowRankSvd([{ B, A, weight: scale }]);
  const k = S.length;
  const u: Float64Array[] = [];
  const v: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    const col = new Float64Array(U.rows);
    for (let i = 0; i < U.rows; i++) col[i] = U.data[i * k + j]!;
    u.push(col);
    v.push(Vt.data.slice(j * Vt.cols, (j + 1) * Vt.cols));
  }
  return { u, s: S, v };
}
