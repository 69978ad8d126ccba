// Exact thin SVD of scale·B·A from the factors (algorithms.md §6.1): orthonormal
// bases of B's columns and A's rows, an r×r core, a small Jacobi SVD. No m×n matrix.
import type { Mat } from '../tensor/matrix.ts';
import { columnsOf, dot, jacobiSvd, orthonormalize } from './dense-kernels.ts';

export interface FactoredSvd {
  /** Left singular vectors (length m), one per kept singular value. */
  readonly u: Float64Array[];
  /** Singular values, descending, rank-deficient tail dropped. */
  readonly s: Float64Array;
  /** Right singular vectors (length n). */
  readonly v: Float64Array[];
}

/** SVD of scale·B·A with B m×r and A r×n. Values below max(m,n)·ε·σ₁ are dropped (§6.1). */
export function factoredSvd(B: Mat, A: Mat, scale: number): FactoredSvd {
  const m = B.rows;
  const n = A.cols;
  const r = B.cols;
  const qb = orthonormalize(columnsOf(B));
  const aRows: Float64Array[] = [];
  for (let i = 0; i < r; i++) aRows.push(Float64Array.from(A.data.subarray(i * n, (i + 1) * n)));
  const qa = orthonormalize(aRows.map((row) => Float64Array.from(row)));
  if (qb.length === 0 || qa.length === 0) {
    return { u: [], s: new Float64Array(0), v: [] };
  }
  const bCols = columnsOf(B);
  // Rb = Q_Bᵀ B (q1×r), Ra = A Q_A (r×q2); core = scale · Rb · Ra.
  const rb = qb.map((q) => bCols.map((b) => dot(q, b)));
  const ra = aRows.map((a) => qa.map((q) => dot(a, q)));
  const core = new Float64Array(qb.length * qa.length);
  for (let i = 0; i < qb.length; i++) {
    for (let j = 0; j < qa.length; j++) {
      let sum = 0;
      for (let k = 0; k < r; k++) sum += rb[i]![k]! * ra[k]![j]!;
      core[i * qa.length + j] = scale * sum;
    }
  }
  const svd = jacobiSvd({ rows: qb.length, cols: qa.length, data: core });
  const sigma1 = svd.s[0] ?? 0;
  const cutoff = Math.max(m, n) * 2 ** -52 * sigma1;
  const u: Float64Array[] = [];
  const v: Float64Array[] = [];
  const s: number[] = [];
  for (let j = 0; j < svd.s.length; j++) {
    if (!(svd.s[j]! > cutoff) || sigma1 === 0) break;
    u.push(combine(qb, svd.u[j]!, m));
    v.push(combine(qa, svd.v[j]!, n));
    s.push(svd.s[j]!);
  }
  return { u, s: Float64Array.from(s), v };
}

/** Σ_i coeff[i]·basis[i]. */
export function combine(basis: readonly Float64Array[], coeff: Float64Array, length: number): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < basis.length; i++) {
    const c = coeff[i]!;
    if (c === 0) continue;
    const b = basis[i]!;
    for (let k = 0; k < length; k++) out[k] = out[k]! + c * b[k]!;
  }
  return out;
}
