// Small dense helpers of the merge report and the federated methods: CGS2 thin QR
// (its R is all the factored-norm computation needs), Gram-type products, and a
// right solve for r×r systems. Pure functions; the ops that call them validate.
import type { Mat } from '../../tensor/matrix.ts';
import { zeros } from '../../tensor/matrix.ts';

/**
 * Thin QR of an m×c matrix by classical Gram–Schmidt with one re-orthogonalisation pass (CGS2).
 * Columns that are (numerically) in the span of the previous ones get a zero Q column and a
 * zero R diagonal, so Q·R = X still holds and the rank deficiency is visible.
 */
export function qrThin(x: Mat): { Q: Mat; R: Mat } {
  const { rows: m, cols: c } = x;
  const Q = zeros(m, c);
  const R = zeros(c, c);
  const q = Q.data;
  const col = new Float64Array(m);
  for (let j = 0; j < c; j++) {
    let original = 0;
    for (let i = 0; i < m; i++) {
      const v = x.data[i * c + j]!;
      col[i] = v;
      original += v * v;
    }
    original = Math.sqrt(original);
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += q[i * c + k]! * col[i]!;
        if (dot === 0) continue;
        R.data[k * c + j]! += dot;
        for (let i = 0; i < m; i++) col[i]! -= dot * q[i * c + k]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += col[i]! * col[i]!;
    norm = Math.sqrt(norm);
    if (norm <= 1e-13 * original || norm === 0) {
      continue;
    }
    R.data[j * c + j] = norm;
    for (let i = 0; i < m; i++) q[i * c + j] = col[i]! / norm;
  }
  return { Q, R };
}

export function transposeMat(x: Mat): Mat {
  const out = zeros(x.cols, x.rows);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < x.cols; j++) out.data[j * x.rows + i] = x.data[i * x.cols + j]!;
  }
  return out;
}

/** C = Xᵀ·Y for X (k×a), Y (k×b): an a×b Gram-type product without forming the transpose. */
export function matTmul(x: Mat, y: Mat): Mat {
  const out = zeros(x.cols, y.cols);
  const a = x.cols;
  const b = y.cols;
  for (let k = 0; k < x.rows; k++) {
    for (let i = 0; i < a; i++) {
      const xi = x.data[k * a + i]!;
      if (xi === 0) continue;
      const row = i * b;
      const yRow = k * b;
      for (let j = 0; j < b; j++) out.data[row + j]! += xi * y.data[yRow + j]!;
    }
  }
  return out;
}

/** C = X·Yᵀ for X (a×k), Y (b×k). */
export function matMulT(x: Mat, y: Mat): Mat {
  const out = zeros(x.rows, y.rows);
  const k = x.cols;
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < y.rows; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += x.data[i * k + t]! * y.data[j * k + t]!;
      out.data[i * y.rows + j] = s;
    }
  }
  return out;
}

/** Solves X·M = Y for X (M square k×k, Y a×k) by Gaussian elimination with partial pivoting on Mᵀ. */
export function solveRight(y: Mat, m: Mat): Mat {
  const k = m.rows;
  const a = y.rows;
  // Mᵀ Xᵀ = Yᵀ
  const lhs = transposeMat(m).data.slice();
  const rhs = transposeMat(y).data.slice(); // k×a
  for (let col = 0; col < k; col++) {
    let piv = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(lhs[r * k + col]!) > Math.abs(lhs[piv * k + col]!)) piv = r;
    if (piv !== col) {
      for (let c = 0; c < k; c++) [lhs[col * k + c], lhs[piv * k + c]] = [lhs[piv * k + c]!, lhs[col * k + c]!];
      for (let c = 0; c < a; c++) [rhs[col * a + c], rhs[piv * a + c]] = [rhs[piv * a + c]!, rhs[col * a + c]!];
    }
    const d = lhs[col * k + col]!;
    if (d === 0) continue;
    for (let r = col + 1; r < k; r++) {
      const f = lhs[r * k + col]! / d;
      if (f === 0) continue;
      for (let c = col; c < k; c++) lhs[r * k + c]! -= f * lhs[col * k + c]!;
      for (let c = 0; c < a; c++) rhs[r * a + c]! -= f * rhs[col * a + c]!;
    }
  }
  const xt = new Float64Array(k * a);
  for (let row = k - 1; row >= 0; row--) {
    const d = lhs[row * k + row]!;
    for (let c = 0; c < a; c++) {
      let s = rhs[row * a + c]!;
      for (let t = row + 1; t < k; t++) s -= lhs[row * k + t]! * xt[t * a + c]!;
      xt[row * a + c] = d === 0 ? 0 : s / d;
    }
  }
  return transposeMat({ rows: k, cols: a, data: xt });
}
