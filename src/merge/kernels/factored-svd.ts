// Exact thin SVD of B·A (B m×R, A R×n, R small) without forming the m×n product
// (algorithms.md §6.1): QR of B and of Aᵀ, SVD of the R×R core.
import type { Mat } from '../../tensor/matrix.ts';
import { matmul, zeros } from '../../tensor/matrix.ts';
import { jacobiSvd, matMulT, qrThin, transposeMat } from './small-linalg.ts';

export interface FactoredSvd {
  /** m×p */
  readonly U: Mat;
  readonly S: Float64Array;
  /** p×n (Vᵀ) */
  readonly Vt: Mat;
}

export function factoredSvd(B: Mat, A: Mat): FactoredSvd {
  const qb = qrThin(B);
  const qa = qrThin(transposeMat(A));
  const core = matMulT(qb.R, qa.R); // R_B · R_Aᵀ
  const svd = jacobiSvd(core);
  const U = matmul(qb.Q, svd.U);
  const Vt = transposeMat(matmul(qa.Q, svd.V));
  return { U, S: svd.S, Vt };
}

/** Ranks whose singular value is above the numerical floor max(m,n)·ε·σ₁. */
export function numericalRank(svd: FactoredSvd, m: number, n: number): number {
  const s1 = svd.S[0] ?? 0;
  const floor = Math.max(m, n) * Number.EPSILON * s1;
  let r = 0;
  while (r < svd.S.length && svd.S[r]! > floor) r++;
  return r;
}

export interface TruncatedFactors {
  readonly B: Mat;
  readonly A: Mat;
  readonly rank: number;
  readonly keptEnergy: number;
  readonly discardedEnergy: number;
}

/**
 * Keeps the first k triplets. `split: "left"` puts Σ into B (PEFT convention, A has
 * orthonormal rows); "balanced" puts √Σ on both sides.
 */
export function truncateFactoredSvd(svd: FactoredSvd, k: number, split: 'left' | 'balanced' = 'left'): TruncatedFactors {
  const m = svd.U.rows;
  const n = svd.Vt.cols;
  const p = svd.S.length;
  const rank = Math.min(k, p);
  const B = zeros(m, rank);
  const A = zeros(rank, n);
  let kept = 0;
  let discarded = 0;
  for (let j = 0; j < p; j++) {
    const s = svd.S[j]!;
    if (j >= rank) {
      discarded += s * s;
      continue;
    }
    kept += s * s;
    const left = split === 'left' ? s : Math.sqrt(s);
    const right = split === 'left' ? 1 : Math.sqrt(s);
    for (let i = 0; i < m; i++) B.data[i * rank + j] = svd.U.data[i * p + j]! * left;
    for (let i = 0; i < n; i++) A.data[j * n + i] = svd.Vt.data[j * n + i]! * right;
  }
  return { B, A, rank, keptEnergy: kept, discardedEnergy: discarded };
}

/** Smallest rank whose kept energy Σσ² reaches `energy` (a fraction in (0, 1]). */
export function rankForEnergy(svd: FactoredSvd, energy: number): number {
  let total = 0;
  for (const s of svd.S) total += s * s;
  if (total === 0) return 0;
  let acc = 0;
  for (let j = 0; j < svd.S.length; j++) {
    acc += svd.S[j]! * svd.S[j]!;
    if (acc >= energy * total * (1 - 1e-12)) return j + 1;
  }
  return svd.S.length;
}
