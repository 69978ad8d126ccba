// Projection onto range(W0) for tall base weights (m > n), with a certified error.
// For a unit u, Σ over ALL n base left singular vectors of cos² = ‖P·u‖² (P = U·Uᵀ), which is
// < 1 when u leaves range(W0) — and tuned intruders on tall modules do: (I − P)·u_t =
// s·(I − P)·B·A·v_t / σ_t. Two uses (intruder-scan.ts): ρ² = ‖Pu‖² − Σ_known c² instead of
// 1 − Σ_known c², and the quadrature bound run on P·u, whose spectral measure under W0·W0ᵀ has
// no mass at the (m − n)-fold zero eigenvalue that defeats it on u itself.
//
// p̂ = W0·x with x ≈ G⁻¹·W0ᵀ·u, G = W0ᵀW0 = L·Lᵀ (f64 Cholesky after the Gram product, no SVD;
// L⁻¹ kept in f32 with one step of iterative refinement, so that a cached projector and a fresh
// one give the same bits). p̂ lies in range(W0) whatever x is, so e = P·u − p̂ = P·(u − p̂) and
//   ‖e‖ = ‖Uᵀ r‖ = ‖Σ⁻¹Vᵀ·W0ᵀ r‖ ≤ ‖W0ᵀ r‖ / σ_min,   r = u − p̂,
// with σ_min ≥ 1/‖L⁻¹‖_F (λ_min(G) = 1/‖L⁻¹‖₂²). Rounding of the products is added to the bound.
// Ill-conditioned W0 (Cholesky breakdown, or σ_min below 1e-6·σ₁) gives no projector: the
// caller falls back to the full SVD, as the definition itself is then ill-posed.
import type { LinearOperator } from '../linalg/operator.ts';
import type { Mat } from '../tensor/matrix.ts';
import { exactGramLower } from '../compute/exact-dense-operator.ts';
import { choleskyInPlace, inverseFactorTranspose } from './cholesky-inverse.ts';
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

/** What a projector keeps (and the base cache stores): n×n data only, not W0. */
export interface RangeProjectorState {
  readonly rows: number;
  readonly cols: number;
  /** Certified lower bound on the smallest singular value of W0 (from the f64 factor). */
  readonly sigmaMinLower: number;
  /** ‖W0‖_F. */
  readonly normF: number;
  /** (L⁻¹)ᵀ in f32, upper triangle packed by rows (row c holds entries c…n−1): n(n+1)/2 values. */
  readonly inverseFactor: Float32Array;
}

export interface RangeProjector {
  readonly state: RangeProjectorState;
  /** `exact`: W0 (the same matrix the projector was built from) as an f64 operator. */
  project(exact: LinearOperator, vectors: readonly Float64Array[]): Promise<ProjectedVector[]>;
}

/** Start of packed row c of an n×n upper triangle. */
function packedRow(c: number, n: number): number {
  return c * n - (c * (c - 1)) / 2;
}

/** Undefined when W0 is not tall or too ill-conditioned. */
export function computeRangeProjector(W0: Mat): RangeProjectorState | undefined {
  const { rows: m, cols: n } = W0;
  if (m <= n || n === 0) return undefined;
  // Lower triangle of G, overwritten by its Cholesky factor; room after it for the inverse factor.
  const L = exactGramLower(m, n, W0.data, n * n * 8);
  let frob2 = 0;
  for (let i = 0; i < n; i++) frob2 += L[i * n + i]!; // trace(G) = ‖W0‖_F²
  if (!choleskyInPlace(L, n, frob2)) return undefined;
  const X = inverseFactorTranspose(L, n); // row c = column c of L⁻¹
  const inverseFactor = new Float32Array((n * (n + 1)) / 2);
  let invFrob2 = 0;
  for (let c = 0; c < n; c++) {
    const row = X.subarray(c * n + c, (c + 1) * n);
    for (let i = 0; i < row.length; i++) invFrob2 += row[i]! * row[i]!;
    inverseFactor.set(row, packedRow(c, n));
  }
  // Rounding in L⁻¹ is relative ~ n·ε·κ(L); a factor 2 covers it well inside the κ cap below.
  const sigmaMinLower = 1 / (2 * Math.sqrt(invFrob2));
  const normF = Math.sqrt(frob2);
  if (!(sigmaMinLower * RANGE_PROJECTION_MAX_CONDITION > normF)) return undefined;
  return { rows: m, cols: n, sigmaMinLower, normF, inverseFactor };
}

/**
 * x ≈ G⁻¹·w for each column of w (n×t, row-major): L⁻ᵀ·(L⁻¹·w) with the packed f32 (L⁻¹)ᵀ, all t
 * columns per pass over the factor (it is read twice in all, whatever t is).
 */
function applyInverseGram(state: RangeProjectorState, w: Mat): Mat {
  const n = state.cols;
  const t = w.cols;
  const X = state.inverseFactor;
  // y = L⁻¹·w: y_i = Σ_{c≤i} X[c][i]·w_c, row by row of X (y row-major n×t, like w).
  const y = new Float64Array(n * t);
  const wc = new Float64Array(t);
  for (let c = 0; c < n; c++) {
    const o = packedRow(c, n) - c;
    for (let v = 0; v < t; v++) wc[v] = w.data[c * t + v]!;
    for (let i = c; i < n; i++) {
      const f = X[o + i]!;
      const yi = i * t;
      for (let v = 0; v < t; v++) y[yi + v] = y[yi + v]! + wc[v]! * f;
    }
  }
  // x = L⁻ᵀ·y: x_c = Σ_{i≥c} X[c][i]·y_i.
  const x = new Float64Array(n * t);
  const acc = new Float64Array(t);
  for (let c = 0; c < n; c++) {
    const o = packedRow(c, n) - c;
    acc.fill(0);
    for (let i = c; i < n; i++) {
      const f = X[o + i]!;
      const yi = i * t;
      for (let v = 0; v < t; v++) acc[v] = acc[v]! + f * y[yi + v]!;
    }
    x.set(acc, c * t);
  }
  return { rows: n, cols: t, data: x };
}

export function rangeProjectorFrom(state: RangeProjectorState): RangeProjector {
  const { rows: m, cols: n, sigmaMinLower, normF } = state;
  return {
    state,
    async project(exact, vectors) {
      if (vectors.length === 0) return [];
      const t = vectors.length;
      const Umat = fromColumns(vectors, m);
      const w = await exact.applyTranspose(Umat); // n×t
      // One step of iterative refinement on G·x = W0ᵀu: the f32 inverse factor alone leaves a
      // relative residual ~ κ(G)·2⁻²⁴; after the step it is ~ its square.
      const x1 = applyInverseGram(state, w);
      const g = await exact.applyTranspose(await exact.apply(x1));
      const d = applyInverseGram(state, { rows: n, cols: t, data: w.data.map((v, i) => v - g.data[i]!) });
      const x: Mat = { rows: n, cols: t, data: x1.data.map((v, i) => v + d.data[i]!) };
      const pMat = await exact.apply(x);
      const p = columnsOf(pMat);
      const rMat: Mat = { rows: m, cols: t, data: Umat.data.map((v, i) => v - pMat.data[i]!) };
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

/** Undefined when W0 is not tall or too ill-conditioned. Holds only n×n data, not W0. */
export function rangeProjector(W0: Mat): RangeProjector | undefined {
  const state = computeRangeProjector(W0);
  return state && rangeProjectorFrom(state);
}
