// ‖s·B·A‖_F without forming the m×n product:
// ‖sBA‖_F² = s²·trace((BᵀB)(AAᵀ)), two r×r Gram matrices (cost (m + n)·r²).
import type { Mat } from '../tensor/matrix.ts';

/** Gram matrix of the columns of M (MᵀM, cols×cols). */
function columnGram(m: Mat): Float64Array {
  const { rows, cols, data } = m;
  const g = new Float64Array(cols * cols);
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    for (let p = 0; p < cols; p++) {
      const v = data[row + p]!;
      if (v === 0) continue;
      const gp = p * cols;
      for (let q = p; q < cols; q++) {
        g[gp + q]! += v * data[row + q]!;
      }
    }
  }
  for (let p = 0; p < cols; p++) {
    for (let q = 0; q < p; q++) g[p * cols + q] = g[q * cols + p]!;
  }
  return g;
}

/** Gram matrix of the rows of M (MMᵀ, rows×rows). */
function rowGram(m: Mat): Float64Array {
  const { rows, cols, data } = m;
  const g = new Float64Array(rows * rows);
  for (let p = 0; p < rows; p++) {
    const rp = p * cols;
    for (let q = p; q < rows; q++) {
      const rq = q * cols;
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += data[rp + j]! * data[rq + j]!;
      g[p * rows + q] = sum;
      g[q * rows + p] = sum;
    }
  }
  return g;
}

/** ‖scale·B·A‖_F for A r×n, B m×r. Never allocates more than two r×r matrices. */
export function factoredFrobeniusNorm(A: Mat, B: Mat, scale: number): number {
  const r = A.rows;
  const gb = columnGram(B);
  const ga = rowGram(A);
  let trace = 0;
  for (let i = 0; i < r * r; i++) trace += gb[i]! * ga[i]!;
  // Rounding can make a tiny true value slightly negative.
  return Math.abs(scale) * Math.sqrt(Math.max(trace, 0));
}

/** ⟨s₁B₁A₁, s₂B₂A₂⟩_F = s₁s₂·trace((B₁ᵀB₂)(A₂A₁ᵀ)), with r₁×r₂ products only. */
export function factoredInnerProduct(A1: Mat, B1: Mat, s1: number, A2: Mat, B2: Mat, s2: number): number {
  const r1 = A1.rows;
  const r2 = A2.rows;
  const m = B1.rows;
  const n = A1.cols;
  // G = B₁ᵀB₂ (r1×r2), H = A₁A₂ᵀ (r1×r2); trace(G·Hᵀ) = Σ G∘H.
  const g = new Float64Array(r1 * r2);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < r1; p++) {
      const v = B1.data[i * r1 + p]!;
      if (v === 0) continue;
      for (let q = 0; q < r2; q++) g[p * r2 + q]! += v * B2.data[i * r2 + q]!;
    }
  }
  let sum = 0;
  for (let p = 0; p < r1; p++) {
    for (let q = 0; q < r2; q++) {
      let h = 0;
      for (let j = 0; j < n; j++) h += A1.data[p * n + j]! * A2.data[q * n + j]!;
      sum += g[p * r2 + q]! * h;
    }
  }
  return s1 * s2 * sum;
}

/** ‖ΔW₁ − ΔW₂‖_F / ‖ΔW₁‖_F without forming either delta (0 when both are zero). */
export function factoredRelativeDistance(A1: Mat, B1: Mat, s1: number, A2: Mat, B2: Mat, s2: number): number {
  const n1 = factoredInnerProduct(A1, B1, s1, A1, B1, s1);
  const n2 = factoredInnerProduct(A2, B2, s2, A2, B2, s2);
  const cross = factoredInnerProduct(A1, B1, s1, A2, B2, s2);
  const diff = Math.sqrt(Math.max(n1 + n2 - 2 * cross, 0));
  return n1 === 0 ? diff : diff / Math.sqrt(n1);
}
