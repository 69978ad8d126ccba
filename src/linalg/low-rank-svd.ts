// Exact thin SVD of Σ w_i·B_i·A_i without forming the m×n sum (algorithms.md §6.1):
// stack B = [w_1B_1 … w_NB_N] (m×R) and A = [A_1; …; A_N] (R×n), QR both B and Aᵀ, take the SVD of
// the small core R_B·R_Aᵀ, and map its vectors back through the two Q's. Cost O((m+n)·R² + R³).
import { WorkbenchError } from '../errors.ts';
import { zeros } from '../tensor/matrix.ts';
import type { Mat } from '../tensor/matrix.ts';
import { applyQInPlace, extractR, householderInPlace } from './qr.ts';
import { normaliseSigns, svdSmall } from './svd-small.ts';
import type { Svd } from './svd-small.ts';
import { scratchF64 } from '../util/scratch.ts';

export interface LowRankTerm {
  /** m×r_i. */
  readonly B: Mat;
  /** r_i×n. */
  readonly A: Mat;
  /** Multiplies B_i·A_i (fold the LoRA scale s_i and the merge weight in here). */
  readonly weight: number;
}

const EPS = 2.220446049250313e-16;

/**
 * Cut-off below which a singular value of the sum is numerical zero: σ_i ≤ max(m, n)·eps·scale, the
 * rule of LAPACK-based rank estimators (numpy.linalg.matrix_rank, ml-matrix's `rank`), where
 * scale = max(σ_1, max_i |w_i|·‖B_i‖_F·‖A_i‖_F). The second term matters when terms cancel: then
 * σ_1 itself is round-off of the size eps·‖w_i·B_i·A_i‖, and relative to σ_1 nothing would be dropped.
 */
export function rankTolerance(m: number, n: number, scale: number): number {
  return Math.max(m, n) * EPS * scale;
}

function allFinite(d: Float64Array): boolean {
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return false;
  return true;
}

function frob(M: Mat): number {
  const d = M.data;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i]! * d[i]!;
  return Math.sqrt(s);
}

/**
 * Exact thin SVD of Σ w_i·B_i·A_i. Returns only the numerically non-zero part: U is m×ρ, S has ρ
 * descending values, Vt is ρ×n, with ρ ≤ min(m, n, Σ r_i) (ρ = 0 for a zero sum). Pairs are
 * sign-normalised (largest-|·| entry of each u_j positive).
 */
export interface LowRankSvdOptions {
  /**
   * How many singular vector pairs to form, given all ρ singular values (default: all). U and Vt
   * then hold only that many (the leading ones, identical to the full result's), while S keeps
   * all ρ values, so energy bookkeeping stays exact; forming vectors costs O((m+n)·R) each.
   */
  readonly vectors?: (S: Float64Array) => number;
  /** Storage for U's and Vt's data (default: fresh arrays); must return `length` zeros. */
  readonly allocate?: (length: number) => Float64Array;
}

export function lowRankSvd(terms: readonly LowRankTerm[], options: LowRankSvdOptions = {}): Svd {
  const first = terms[0];
  if (first === undefined) {
    throw new WorkbenchError('LINALG_SHAPE_MISMATCH', 'lowRankSvd needs at least one B·A term', { details: { terms: 0 } });
  }
  const m = first.B.rows;
  const n = first.A.cols;
  let R = 0;
  terms.forEach((t, i) => {
    if (t.B.rows !== m || t.A.cols !== n || t.B.cols !== t.A.rows) {
      throw new WorkbenchError(
        'LINALG_SHAPE_MISMATCH',
        `term ${i}: B is ${t.B.rows}×${t.B.cols} and A is ${t.A.rows}×${t.A.cols}; expected B m×r and A r×n with m = ${m}, n = ${n}`,
        { details: { term: i, B: [t.B.rows, t.B.cols], A: [t.A.rows, t.A.cols], m, n } },
      );
    }
    if (!Number.isFinite(t.weight) || !allFinite(t.B.data) || !allFinite(t.A.data)) {
      throw new WorkbenchError('LINALG_NONFINITE', `term ${i}: the weight, B or A holds a non-finite value (NaN or ±Inf)`, {
        details: { term: i, weight: String(t.weight) },
      });
    }
    R += t.B.cols;
  });

  // Column-major stacked B (m×R), weights folded in.
  const bCols = scratchF64('lowRankSvd.bCols', m * R, false);
  // Column-major Aᵀ (n×R) is exactly the row-major data of the stacked A.
  const aCols = scratchF64('lowRankSvd.aCols', n * R, false);
  let offset = 0;
  for (const t of terms) {
    const r = t.B.cols;
    const w = t.weight;
    const src = t.B.data;
    // Blocked transpose (a block of rows stays in L1 while its r columns are written).
    for (let i0 = 0; i0 < m; i0 += 256) {
      const i1 = Math.min(m, i0 + 256);
      for (let j = 0; j < r; j++) {
        const out = (offset + j) * m;
        for (let i = i0; i < i1; i++) bCols[out + i] = w * src[i * r + j]!;
      }
    }
    aCols.set(t.A.data, offset * n);
    offset += r;
  }

  const qrB = householderInPlace(m, R, bCols);
  const qrA = householderInPlace(n, R, aCols);
  const RB = extractR(qrB); // kB×R
  const RA = extractR(qrA); // kA×R
  // Core K = R_B·R_Aᵀ (kB×kA).
  const kB = RB.rows;
  const kA = RA.rows;
  const K = zeros(kB, kA);
  const rb = RB.data;
  const ra = RA.data;
  const kd = K.data;
  for (let i = 0; i < kB; i++) {
    for (let j = 0; j < kA; j++) {
      let s = 0;
      // R_B[i, c] = 0 for c < i, R_A[j, c] = 0 for c < j.
      for (let c = Math.max(i, j); c < R; c++) s += rb[i * R + c]! * ra[j * R + c]!;
      kd[i * kA + j] = s;
    }
  }
  const core = svdSmall(K);
  const sigma1 = core.S[0] ?? 0;
  let termScale = 0;
  for (const t of terms) termScale = Math.max(termScale, Math.abs(t.weight) * frob(t.B) * frob(t.A));
  const tol = rankTolerance(m, n, Math.max(sigma1, termScale));
  let rho = 0;
  while (rho < core.S.length && core.S[rho]! > tol && core.S[rho]! > 0) rho++;

  const allS = core.S.slice(0, rho);
  const full = rho;
  if (options.vectors) rho = Math.max(0, Math.min(rho, Math.floor(options.vectors(allS))));
  // U = Q_B·Ũ[:, :ρ] (column-major m×ρ), V = Q_A·Ṽ[:, :ρ] (column-major n×ρ = row-major Vt).
  const uCols = scratchF64('lowRankSvd.uCols', m * rho, true);
  for (let j = 0; j < rho; j++) {
    for (let i = 0; i < kB; i++) uCols[j * m + i] = core.U.data[i * core.U.cols + j]!;
  }
  applyQInPlace(qrB, rho, uCols);
  const alloc = options.allocate ?? ((length: number) => new Float64Array(length));
  const vCols = alloc(n * rho);
  for (let j = 0; j < rho; j++) vCols.set(core.Vt.data.subarray(j * kA, (j + 1) * kA), j * n);
  applyQInPlace(qrA, rho, vCols);

  const U = { rows: m, cols: rho, data: alloc(m * rho) };
  for (let i0 = 0; i0 < m; i0 += 256) {
    const i1 = Math.min(m, i0 + 256);
    for (let j = 0; j < rho; j++) {
      const src = j * m;
      for (let i = i0; i < i1; i++) U.data[i * rho + j] = uCols[src + i]!;
    }
  }
  const out: Svd = { U, S: allS.slice(0, rho), Vt: { rows: rho, cols: n, data: vCols } };
  normaliseSigns(out);
  return rho === full ? out : { ...out, S: allS };
}
