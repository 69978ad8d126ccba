// Thin SVD of a small dense matrix (up to a few hundred on a side) in f64:
// Householder QR first (so the iteration runs on a square k×k triangle), then
// one-sided (Hestenes) Jacobi on the columns of R. Jacobi is slower than
// Golub–Kahan but simple, and it gets small singular values to high *relative*
// accuracy, which matters for the ill-conditioned cores of merged adapters.
import { WorkbenchError } from '../errors.ts';
import { transpose, zeros } from '../tensor/matrix.ts';
import type { Mat } from '../tensor/matrix.ts';
import { applyQInPlace, householderInPlace, extractR, toColumnMajor } from './qr.ts';

export interface Svd {
  /** m×k, orthonormal columns. */
  readonly U: Mat;
  /** k singular values, descending, non-negative. */
  readonly S: Float64Array;
  /** k×n, orthonormal rows. */
  readonly Vt: Mat;
}

const EPS = 2.220446049250313e-16;
/** Cyclic sweeps before giving up; Jacobi converges quadratically, real cases need < 15. */
export const JACOBI_MAX_SWEEPS = 60;

/**
 * Thin SVD M = U·diag(S)·Vt with k = min(m, n). Wide matrices are transposed internally.
 * Rank-deficient inputs get orthonormal U columns for the zero singular values (completed from the
 * standard basis). Each pair (u_j, v_j) is sign-normalised: the largest-|·| entry of u_j is positive.
 */
export function svdSmall(M: Mat): Svd {
  assertFinite(M);
  if (M.rows < M.cols) {
    const t = svdTall(transpose(M));
    // Mᵀ = U'ΣV'ᵀ ⇒ M = V'ΣU'ᵀ.
    const out = { U: transpose(t.Vt), S: t.S, Vt: transpose(t.U) };
    normaliseSigns(out);
    return out;
  }
  const out = svdTall(M);
  normaliseSigns(out);
  return out;
}

function assertFinite(M: Mat): void {
  const d = M.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]!)) {
      throw new WorkbenchError('LINALG_NONFINITE', `SVD input ${M.rows}×${M.cols} holds a non-finite value at flat index ${i}`, {
        details: { rows: M.rows, cols: M.cols, index: i, value: String(d[i]) },
      });
    }
  }
}

/** m ≥ n. */
function svdTall(M: Mat): Svd {
  const { rows: m, cols: n } = M;
  const k = n;
  if (k === 0) {
    return { U: zeros(m, 0), S: new Float64Array(0), Vt: zeros(0, n) };
  }
  const qr = householderInPlace(m, n, toColumnMajor(M));
  const R = extractR(qr); // n×n upper triangular
  // Jacobi on the columns of Rᵀ converges faster for graded R (Drmač–Veselić); either works,
  // and Rᵀ = Ur·Σ·Vrᵀ ⇒ R = Vr·Σ·Urᵀ.
  const work = toColumnMajor(transpose(R)); // column-major of Rᵀ: columns are rows of R
  const vAcc = new Float64Array(k * k); // column-major k×k, accumulates the right rotations
  for (let j = 0; j < k; j++) vAcc[j * k + j] = 1;
  jacobiColumns(k, k, work, vAcc);
  // work = Rᵀ·Vr = Ur·Σ (columns); vAcc = Vr. Hence R = Vr·Σ·Urᵀ: left vectors of R are Vr,
  // right vectors are Ur = work/σ.
  const sigma = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let ss = 0;
    for (let i = 0; i < k; i++) {
      const v = work[j * k + i]!;
      ss += v * v;
    }
    sigma[j] = Math.sqrt(ss);
  }
  const order = Array.from({ length: k }, (_, j) => j).sort((a, b) => sigma[b]! - sigma[a]! || a - b);
  const S = new Float64Array(k);
  // Right vectors (rows of Vt) = normalised columns of work; left small vectors = columns of vAcc.
  const rightCols = new Float64Array(k * k);
  const leftSmall = new Float64Array(m * k); // column-major m×k, top k rows = Vr, rest 0 (for applyQ)
  const zeroCols: number[] = [];
  order.forEach((src, dst) => {
    const s = sigma[src]!;
    S[dst] = s;
    for (let i = 0; i < k; i++) leftSmall[dst * m + i] = vAcc[src * k + i]!;
    if (s > 0) {
      for (let i = 0; i < k; i++) rightCols[dst * k + i] = work[src * k + i]! / s;
    } else {
      zeroCols.push(dst);
    }
  });
  completeOrthonormal(k, k, rightCols, zeroCols);
  applyQInPlace(qr, k, leftSmall);
  const U = zeros(m, k);
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < m; i++) U.data[i * k + j] = leftSmall[j * m + i]!;
  }
  const Vt = zeros(k, n);
  for (let j = 0; j < k; j++) Vt.data.set(rightCols.subarray(j * k, (j + 1) * k), j * n);
  return { U, S, Vt };
}

/**
 * Leading singular pairs of a small square-ish M (m ≥ n) with every singular value: S has all n
 * values (descending), U (m×vectors) and Vt (vectors×n) only the leading `vectors` pairs, sign-
 * normalised as svdSmall's. Cheaper than svdSmall when few pairs are wanted: the Jacobi sweeps
 * carry no rotation matrix, and the left vectors are recovered as R·v/σ for the kept pairs only
 * (accurate to about eps·σ₁/σ_j, so callers should keep only pairs with σ_j well above eps·σ₁).
 */
export function svdLeading(M: Mat, vectors: number): Svd {
  assertFinite(M);
  const { rows: m, cols: n } = M;
  if (m < n) throw new WorkbenchError('LINALG_SHAPE_MISMATCH', `svdLeading needs rows ≥ cols, got ${m}×${n}`, { details: { rows: m, cols: n } });
  const keep = Math.max(0, Math.min(vectors, n));
  const qr = householderInPlace(m, n, toColumnMajor(M));
  const R = extractR(qr);
  const work = toColumnMajor(transpose(R));
  jacobiColumns(n, n, work, null);
  // work = Rᵀ·V_r = U_r·Σ: right vectors of R (rows of Vt of M) are its normalised columns;
  // the left vectors of R are R·u/σ, mapped through Q for M.
  const sigma = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += work[j * n + i]! * work[j * n + i]!;
    sigma[j] = Math.sqrt(ss);
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((a, b) => sigma[b]! - sigma[a]! || a - b);
  const S = Float64Array.from(order, (j) => sigma[j]!);
  const leftSmall = new Float64Array(m * keep);
  const Vt = zeros(keep, n);
  for (let dst = 0; dst < keep; dst++) {
    const src = order[dst]!;
    const s = S[dst]!;
    if (!(s > 0)) break;
    for (let i = 0; i < n; i++) Vt.data[dst * n + i] = work[src * n + i]! / s;
    for (let i = 0; i < n; i++) {
      let x = 0;
      for (let l = i; l < n; l++) x += R.data[i * n + l]! * Vt.data[dst * n + l]!;
      leftSmall[dst * m + i] = x / s;
    }
  }
  applyQInPlace(qr, keep, leftSmall);
  const U = zeros(m, keep);
  for (let j = 0; j < keep; j++) for (let i = 0; i < m; i++) U.data[i * keep + j] = leftSmall[j * m + i]!;
  const out: Svd = { U, S: S.slice(0, keep), Vt };
  normaliseSigns(out);
  return { ...out, S };
}

/**
 * One-sided Jacobi on a column-major rows×cols array: rotates column pairs until every pair is
 * orthogonal to |a_p·a_q| ≤ tol·‖a_p‖‖a_q‖ (tol = rows·eps), accumulating the rotations into v
 * (column-major cols×cols).
 */
function jacobiColumns(rows: number, cols: number, a: Float64Array, v: Float64Array | null): void {
  const tol = Math.max(rows, 1) * EPS;
  // Without accumulated rotations (v = null) the column norms are carried from pair to pair
  // (α' = α − tγ, β' = β + tγ) and recomputed once per sweep: one dot product per pair, not three.
  const norms = v === null ? new Float64Array(cols) : null;
  for (let sweep = 0; sweep < JACOBI_MAX_SWEEPS; sweep++) {
    let rotated = false;
    if (norms) {
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let i = 0; i < rows; i++) s += a[j * rows + i]! * a[j * rows + i]!;
        norms[j] = s;
      }
    }
    for (let p = 0; p < cols - 1; p++) {
      const cp = p * rows;
      for (let q = p + 1; q < cols; q++) {
        const cq = q * rows;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        if (norms) {
          alpha = norms[p]!;
          beta = norms[q]!;
          for (let i = 0; i < rows; i++) gamma += a[cp + i]! * a[cq + i]!;
        } else {
          for (let i = 0; i < rows; i++) {
            const x = a[cp + i]!;
            const y = a[cq + i]!;
            alpha += x * x;
            beta += y * y;
            gamma += x * y;
          }
        }
        if (gamma === 0 || alpha === 0 || beta === 0) continue;
        if (Math.abs(gamma) <= tol * Math.sqrt(alpha) * Math.sqrt(beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < rows; i++) {
          const x = a[cp + i]!;
          const y = a[cq + i]!;
          a[cp + i] = c * x - s * y;
          a[cq + i] = s * x + c * y;
        }
        if (!v) {
          norms![p] = alpha - t * gamma;
          norms![q] = beta + t * gamma;
          continue;
        }
        const vp = p * cols;
        const vq = q * cols;
        for (let i = 0; i < cols; i++) {
          const x = v[vp + i]!;
          const y = v[vq + i]!;
          v[vp + i] = c * x - s * y;
          v[vq + i] = s * x + c * y;
        }
      }
    }
    if (!rotated) return;
  }
  throw new WorkbenchError('LINALG_NOT_CONVERGED', `one-sided Jacobi SVD of a ${rows}×${cols} core did not converge in ${JACOBI_MAX_SWEEPS} sweeps`, {
    details: { rows, cols, sweeps: JACOBI_MAX_SWEEPS },
    permanent: true,
  });
}

/**
 * Fills the listed columns of a column-major rows×cols array (whose other columns are orthonormal)
 * with unit vectors orthogonal to every other column: standard basis vectors, projected twice.
 */
export function completeOrthonormal(rows: number, cols: number, a: Float64Array, missing: readonly number[]): void {
  if (missing.length === 0) return;
  const filled = new Set<number>();
  for (let j = 0; j < cols; j++) if (!missing.includes(j)) filled.add(j);
  let candidate = 0;
  for (const j of missing) {
    const cj = j * rows;
    for (; candidate < rows; candidate++) {
      a.fill(0, cj, cj + rows);
      a[cj + candidate] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (const f of filled) {
          const cf = f * rows;
          let dot = 0;
          for (let i = 0; i < rows; i++) dot += a[cf + i]! * a[cj + i]!;
          for (let i = 0; i < rows; i++) a[cj + i]! -= dot * a[cf + i]!;
        }
      }
      let ss = 0;
      for (let i = 0; i < rows; i++) ss += a[cj + i]! * a[cj + i]!;
      const norm = Math.sqrt(ss);
      if (norm > 0.5) {
        for (let i = 0; i < rows; i++) a[cj + i]! /= norm;
        filled.add(j);
        candidate++;
        break;
      }
    }
  }
}

/** Flips each (u_j, v_j) so the largest-|·| entry of u_j (lowest index on ties) is positive. */
export function normaliseSigns(svd: Svd): void {
  const { U, Vt } = svd;
  const k = svd.S.length;
  for (let j = 0; j < k; j++) {
    let best = 0;
    let bestAbs = -1;
    for (let i = 0; i < U.rows; i++) {
      const v = Math.abs(U.data[i * U.cols + j]!);
      if (v > bestAbs) {
        bestAbs = v;
        best = i;
      }
    }
    if (U.data[best * U.cols + j]! < 0) {
      for (let i = 0; i < U.rows; i++) U.data[i * U.cols + j] = -U.data[i * U.cols + j]!;
      for (let c = 0; c < Vt.cols; c++) Vt.data[j * Vt.cols + c] = -Vt.data[j * Vt.cols + c]!;
    }
  }
}
