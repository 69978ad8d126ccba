// Projection onto range(W0) for tall base weights (m > n), with a certified error.
// For a unit u, Σ over ALL n base left singular vectors of cos² = ‖P·u‖² (P = U·Uᵀ), which is
// < 1 when u leaves range(W0) — and tuned intruders on tall modules do: (I − P)·u_t =
// s·(I − P)·B·A·v_t / σ_t. Two uses (intruder-scan.ts): ρ² = ‖Pu‖² − Σ_known c² instead of
// 1 − Σ_known c², and the quadrature bound run on P·u, whose spectral measure under W0·W0ᵀ has
// no mass at the (m − n)-fold zero eigenvalue that defeats it on u itself.
//
// p̂ = W0·x with x = G⁻¹·W0ᵀ·u, G = W0ᵀW0 = L·Lᵀ (f64 Cholesky, n³/3 after the Gram product;
// no SVD). p̂ lies in range(W0), so e = P·u − p̂ = P·(u − p̂) and
//   ‖e‖ = ‖Uᵀ r‖ = ‖Σ⁻¹Vᵀ·W0ᵀ r‖ ≤ ‖W0ᵀ r‖ / σ_min,   r = u − p̂,
// with σ_min ≥ 1/‖L⁻¹‖_F (λ_min(G) = 1/‖L⁻¹‖₂²). Rounding of the products is added to the bound.
// Ill-conditioned W0 (Cholesky breakdown, or σ_min below 1e-6·σ₁) gives no projector: the
// caller falls back to the full SVD, as the definition itself is then ill-posed.
import type { LinearOperator } from '../linalg/operator.ts';
import type { Mat } from '../tensor/matrix.ts';
import { tsGemm } from '../compute/ts-gemm.ts';
import { exactGramLower } from '../compute/exact-dense-operator.ts';
import { columnsOf, dot, fromColumns, norm } from './dense-kernels.ts';

const EPS = 2 ** -52;
/** Condition number above which the projector is not trusted (its error bound would be useless). */
export const RANGE_PROJECTION_MAX_CONDITION = 1e6;

export interface ProjectedVector {
  /** p̂ ∈ range(W0), ≈ P·u. */
  readonly p: Float64Array;
  /** ‖p̂‖. */
  readonly norm: number;
  /** Certified bound on ‖P·u − p̂‖. */
  readonly error: number;
}

export interface RangeProjector {
  /** Lower bound on the smallest singular value of W0. */
  readonly sigmaMinLower: number;
  /** `exact`: W0 (the same matrix the projector was built from) as an f64 operator. */
  project(exact: LinearOperator, vectors: readonly Float64Array[]): Promise<ProjectedVector[]>;
}

/** Undefined when W0 is not tall or too ill-conditioned. Holds only n×n data, not W0. */
export function rangeProjector(W0: Mat): RangeProjector | undefined {
  const { rows: m, cols: n } = W0;
  if (m <= n || n === 0) return undefined;
  const L = exactGramLower(m, n, W0.data); // lower triangle of G, overwritten by its Cholesky factor
  let frob2 = 0;
  for (let i = 0; i < n; i++) frob2 += L[i * n + i]!; // trace(G) = ‖W0‖_F²
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = L[rj + j]!;
    for (let k = 0; k < j; k++) d -= L[rj + k]! * L[rj + k]!;
    if (!(d > n * EPS * frob2)) return undefined;
    const ljj = Math.sqrt(d);
    L[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = L[ri + j]!;
      for (let k = 0; k < j; k++) s -= L[ri + k]! * L[rj + k]!;
      L[ri + j] = s / ljj;
    }
  }
  // L⁻¹ (lower) by forward substitution on each column of the identity; column c is kept as a
  // contiguous row of X = (L⁻¹)ᵀ so that both operands of the inner product run contiguously.
  const X = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    const xc = c * n;
    X[xc + c] = 1 / L[c * n + c]!;
    for (let i = c + 1; i < n; i++) {
      let s = 0;
      const ri = i * n;
      for (let k = c; k < i; k++) s += L[ri + k]! * X[xc + k]!;
      X[xc + i] = -s / L[ri + i]!;
    }
  }
  const Linv = new Float64Array(n * n);
  let invFrob2 = 0;
  for (let c = 0; c < n; c++) {
    for (let i = c; i < n; i++) {
      const v = X[c * n + i]!;
      Linv[i * n + c] = v;
      invFrob2 += v * v;
    }
  }
  // Rounding in L⁻¹ is relative ~ n·ε·κ(L); a factor 2 covers it well inside the κ cap below.
  const sigmaMinLower = 1 / (2 * Math.sqrt(invFrob2));
  const normF = Math.sqrt(frob2);
  if (!(sigmaMinLower * RANGE_PROJECTION_MAX_CONDITION > normF)) return undefined;
  const LinvMat: Mat = { rows: n, cols: n, data: Linv };
  return {
    sigmaMinLower,
    async project(exact, vectors) {
      if (vectors.length === 0) return [];
      const Umat = fromColumns(vectors, m);
      const w = await exact.applyTranspose(Umat); // n×t
      const x = tsGemm(LinvMat, tsGemm(LinvMat, w), true, false); // G⁻¹·W0ᵀ·u
      const pMat = await exact.apply(x);
      const p = columnsOf(pMat);
      const rMat: Mat = { rows: m, cols: vectors.length, data: Umat.data.map((v, i) => v - pMat.data[i]!) };
      const z = columnsOf(await exact.applyTranspose(rMat));
      const xs = columnsOf(x);
      const rs = columnsOf(rMat);
      return p.map((pj, j) => {
        // Rounding: W0ᵀr carries ≤ m·ε·‖W0‖_F·‖r‖, and p̂ = fl(W0·x) leaves range(W0) by ≤ n·ε·‖W0‖_F·‖x‖.
        const wtr = norm(z[j]!) + 2 * m * EPS * normF * norm(rs[j]!);
        const offRange = 2 * n * EPS * normF * norm(xs[j]!);
        const error = (wtr + offRange * normF) / sigmaMinLower + offRange;
        return { p: pj, norm: Math.sqrt(dot(pj, pj)), error };
      });
    },
  };
}
