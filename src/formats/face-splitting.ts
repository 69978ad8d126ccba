// LoHa → exact LoRA (algorithms.md §5.2, A14): (B1A1) ⊙ (B2A2) = (B1 • B2)·(A1ᵀ • A2ᵀ)ᵀ, where
// • is the row-wise Kronecker ("face-splitting") product. Rank r1·r2, no m×n matrix formed.
import { WorkbenchError } from '../errors.ts';
import type { Mat } from '../tensor/matrix.ts';

/** (X • Y)[i, :] = X[i, :] ⊗ Y[i, :]; X is p×r1, Y is p×r2, the result p×(r1·r2). */
export function faceSplit(X: Mat, Y: Mat): Mat {
  if (X.rows !== Y.rows) {
    throw new WorkbenchError('INVALID_ARGUMENT', `face-splitting product needs equal row counts, got ${X.rows} and ${Y.rows}`, {
      details: { rowsX: X.rows, rowsY: Y.rows },
    });
  }
  const p = X.rows;
  const cols = X.cols * Y.cols;
  const data = new Float64Array(p * cols);
  for (let i = 0; i < p; i++) {
    for (let a = 0; a < X.cols; a++) {
      const x = X.data[i * X.cols + a]!;
      const base = i * cols + a * Y.cols;
      for (let b = 0; b < Y.cols; b++) data[base + b] = x * Y.data[i * Y.cols + b]!;
    }
  }
  return { rows: p, cols, data };
}

/** The column-wise version: (X ⊙c Y)[:, j] = X[:, j] ⊗ Y[:, j]; X is r1×n, Y is r2×n → (r1·r2)×n. */
export function columnFaceSplit(X: Mat, Y: Mat): Mat {
  if (X.cols !== Y.cols) {
    throw new WorkbenchError('INVALID_ARGUMENT', `column face-splitting product needs equal column counts, got ${X.cols} and ${Y.cols}`, {
      details: { colsX: X.cols, colsY: Y.cols },
    });
  }
  const n = X.cols;
  const rows = X.rows * Y.rows;
  const data = new Float64Array(rows * n);
  for (let a = 0; a < X.rows; a++) {
    for (let b = 0; b < Y.rows; b++) {
      const out = (a * Y.rows + b) * n;
      for (let j = 0; j < n; j++) data[out + j] = X.data[a * n + j]! * Y.data[b * n + j]!;
    }
  }
  return { rows, cols: n, data };
}

/**
 * LoHa factors W1a (m×r1), W1b (r1×n), W2a (m×r2), W2b (r2×n) → B' (m×r1r2), A' (r1r2×n) with
 * B'·A' = (W1a·W1b) ⊙ (W2a·W2b) exactly. The scale is not folded in.
 */
export function lohaToLora(w1a: Mat, w1b: Mat, w2a: Mat, w2b: Mat): { B: Mat; A: Mat } {
  return { B: faceSplit(w1a, w2a), A: columnFaceSplit(w1b, w2b) };
}
