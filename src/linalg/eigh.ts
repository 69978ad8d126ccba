// Eigen-decomposition of a small symmetric matrix by cyclic two-sided Jacobi in f64.
// Slow (O(n³) per sweep) but simple and accurate; meant for Gram matrices and cores up to a few
// hundred on a side.
import { WorkbenchError } from '../errors.ts';
import { zeros } from '../tensor/matrix.ts';
import type { Mat } from '../tensor/matrix.ts';

export const EIGH_MAX_SWEEPS = 60;
const EPS = 2.220446049250313e-16;

/**
 * M = V·diag(values)·Vᵀ for symmetric M (only the upper triangle is read; M is symmetrised as
 * (M + Mᵀ)/2). Eigenvalues in descending (algebraic) order, eigenvectors as the columns of
 * `vectors`, each sign-normalised so its largest-|·| entry (lowest index on ties) is positive.
 */
export function eighSymmetric(M: Mat): { values: Float64Array; vectors: Mat } {
  const n = M.rows;
  if (M.cols !== n) {
    throw new WorkbenchError('LINALG_SHAPE_MISMATCH', `eighSymmetric needs a square matrix, got ${M.rows}×${M.cols}`, {
      details: { rows: M.rows, cols: M.cols },
    });
  }
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = i <= j ? M.data[i * n + j]! : M.data[j * n + i]!;
      if (!Number.isFinite(v)) {
        throw new WorkbenchError('LINALG_NONFINITE', `eigen-decomposition input ${n}×${n} holds a non-finite value at (${i}, ${j})`, {
          details: { n, row: i, col: j },
        });
      }
      a[i * n + j] = v;
    }
  }
  const v = new Float64Array(n * n); // row-major, columns are eigenvectors
  for (let i = 0; i < n; i++) v[i * n + i] = 1;

  let frob = 0;
  for (let i = 0; i < n * n; i++) frob += a[i]! * a[i]!;
  // Off-diagonal entries below this are treated as zero: relative to their own diagonal pair
  // (keeps graded spectra accurate), or absolutely negligible against ‖M‖_F.
  const absoluteFloor = 1e-3 * EPS * Math.sqrt(frob);
  let converged = n <= 1 || frob === 0;
  for (let sweep = 0; sweep < EIGH_MAX_SWEEPS && !converged; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        if (Math.abs(apq) <= EPS * Math.sqrt(Math.abs(app * aqq)) || Math.abs(apq) <= absoluteFloor) {
          a[p * n + q] = 0;
          a[q * n + p] = 0;
          continue;
        }
        rotated = true;
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(1 + theta * theta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        // A ← Jᵀ A J with J the rotation in the (p, q) plane.
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
    converged = !rotated;
  }
  if (!converged) {
    throw new WorkbenchError('LINALG_NOT_CONVERGED', `Jacobi eigen-decomposition of a ${n}×${n} matrix did not converge in ${EIGH_MAX_SWEEPS} sweeps`, {
      details: { n, sweeps: EIGH_MAX_SWEEPS },
    });
  }
  const raw = Array.from({ length: n }, (_, i) => a[i * n + i]!);
  const order = raw.map((_, i) => i).sort((x, y) => raw[y]! - raw[x]! || x - y);
  const values = new Float64Array(n);
  const vectors = zeros(n, n);
  order.forEach((src, dst) => {
    values[dst] = raw[src]!;
    let best = 0;
    let bestAbs = -1;
    for (let i = 0; i < n; i++) {
      const x = Math.abs(v[i * n + src]!);
      if (x > bestAbs) {
        bestAbs = x;
        best = i;
      }
    }
    const sign = v[best * n + src]! < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) vectors.data[i * n + dst] = sign * v[i * n + src]!;
  });
  return { values, vectors };
}
