// Frobenius geometry of low-rank products without forming them:
// ⟨B1A1, B2A2⟩ = trace((B1ᵀB2)(A2A1ᵀ)) = Σ_ij (B1ᵀB2)_ij (A1A2ᵀ)_ij.
import type { Mat } from '../../tensor/matrix.ts';
import { matMulT, matTmul, qrThin } from './small-linalg.ts';
import { zeros } from '../../tensor/matrix.ts';
import { extractR, householderInPlace } from '../../linalg/qr.ts';

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

/**
 * One joint basis for a set of low-rank terms, so that the norm of any linear combination
 * Σ c_i B_i A_i is cheap and accurate: stack all B's (m×c) and all Aᵀ's (n×c), one Householder
 * QR each (src/linalg), then ‖Σ c_i B_i A_i‖_F = ‖R_B · D(c) · R_Aᵀ‖_F with D(c) the block
 * diagonal of the coefficients, a k×k problem (k ≤ c).
 */
export interface FactoredSpace {
  norm(coefs: readonly number[]): number;
}

export function factoredSpace(terms: readonly { readonly B: Mat; readonly A: Mat }[]): FactoredSpace {
  const m = terms[0]?.B.rows ?? 0;
  const n = terms[0]?.A.cols ?? 0;
  const c = terms.reduce((s, t) => s + t.B.cols, 0);
  const bCols = new Float64Array(m * c);
  const aCols = new Float64Array(n * c);
  const blockOf = new Int32Array(c);
  let offset = 0;
  terms.forEach((t, ti) => {
    const r = t.B.cols;
    for (let i = 0; i < m; i++) for (let j = 0; j < r; j++) bCols[(offset + j) * m + i] = t.B.data[i * r + j]!;
    aCols.set(t.A.data, offset * n); // row-major r×n A is column-major n×r Aᵀ
    for (let j = 0; j < r; j++) blockOf[offset + j] = ti;
    offset += r;
  });
  const RB = c === 0 ? zeros(0, 0) : extractR(householderInPlace(m, c, bCols));
  const RA = c === 0 ? zeros(0, 0) : extractR(householderInPlace(n, c, aCols));
  return {
    norm(coefs: readonly number[]): number {
      if (c === 0) return 0;
      const kb = RB.rows;
      const ka = RA.rows;
      let s = 0;
      const row = new Float64Array(ka);
      for (let i = 0; i < kb; i++) {
        row.fill(0);
        for (let j = 0; j < c; j++) {
          const v = RB.data[i * c + j]! * coefs[blockOf[j]!]!;
          if (v === 0) continue;
          for (let l = 0; l < ka; l++) row[l]! += v * RA.data[l * c + j]!;
        }
        for (let l = 0; l < ka; l++) s += row[l]! * row[l]!;
      }
      return Math.sqrt(s);
    },
  };
}
