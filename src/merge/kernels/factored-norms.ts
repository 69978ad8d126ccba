// Frobenius geometry of low-rank products without forming them:
// ⟨B1A1, B2A2⟩ = trace((B1ᵀB2)(A2A1ᵀ)) = Σ_ij (B1ᵀB2)_ij (A1A2ᵀ)_ij.
import type { Mat } from '../../tensor/matrix.ts';
import { matMulT, matTmul, qrThin } from './small-linalg.ts';
import { zeros } from '../../tensor/matrix.ts';

export interface Factored {
  readonly B: Mat;
  readonly A: Mat;
  /** Multiplies the product. */
  readonly coef: number;
}

export function factoredInner(x: Factored, y: Factored): number {
  if (x.B.cols === 0 || y.B.cols === 0) return 0;
  const g = matTmul(x.B, y.B);
  const h = matMulT(x.A, y.A);
  let s = 0;
  for (let i = 0; i < g.data.length; i++) s += g.data[i]! * h.data[i]!;
  return s * x.coef * y.coef;
}

/**
 * ‖Σ_i X_i − Σ_j Y_j‖_F, accurately: the terms are stacked into one product
 * [c₁B₁ …]·[A₁; …], and its norm is that of the small core R_B·R_Aᵀ from two thin QRs.
 * (Expanding ‖X‖² + ‖Y‖² − 2⟨X,Y⟩ would lose half the digits when X ≈ Y.)
 */
export function factoredDistance(xs: readonly Factored[], ys: readonly Factored[]): number {
  const all = [...xs, ...ys.map((y) => ({ ...y, coef: -y.coef }))].filter((t) => t.B.cols > 0 && t.coef !== 0);
  if (all.length === 0) return 0;
  const m = all[0]!.B.rows;
  const n = all[0]!.A.cols;
  const total = all.reduce((s, t) => s + t.B.cols, 0);
  const B = zeros(m, total);
  const At = zeros(n, total);
  let offset = 0;
  for (const t of all) {
    const r = t.B.cols;
    for (let i = 0; i < m; i++) for (let j = 0; j < r; j++) B.data[i * total + offset + j] = t.coef * t.B.data[i * r + j]!;
    for (let j = 0; j < r; j++) for (let i = 0; i < n; i++) At.data[i * total + offset + j] = t.A.data[j * n + i]!;
    offset += r;
  }
  const core = matMulT(qrThin(B).R, qrThin(At).R);
  let s = 0;
  for (const v of core.data) s += v * v;
  return Math.sqrt(s);
}

export function factoredNorm(xs: readonly Factored[]): number {
  return factoredDistance(xs, []);
}
