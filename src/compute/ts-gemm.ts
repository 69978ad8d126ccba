// Pure-TypeScript f64 GEMM: the oracle every faster backend is checked against,
// and the same-run baseline of bench/linalg/gemm.ts. No validation here (the
// `ts` backend validates); the kernel is a pure function over typed arrays.
import { transpose } from '../tensor/matrix.ts';
import type { Mat } from '../tensor/matrix.ts';

/** Columns of C and rows of B processed per pass: a 128×256 f64 panel of B (256 KiB) stays in L2. */
const COLUMN_BLOCK = 256;
const DEPTH_BLOCK = 128;

/**
 * C (m×n) = op(A)·op(B). `aRowStride`/`aColStride` read A as m×k whether or not
 * it is transposed; B must already be k×n row-major.
 */
function kernel(
  a: Float64Array,
  aRowStride: number,
  aColStride: number,
  b: Float64Array,
  c: Float64Array,
  m: number,
  k: number,
  n: number,
): void {
  for (let j0 = 0; j0 < n; j0 += COLUMN_BLOCK) {
    const j1 = Math.min(n, j0 + COLUMN_BLOCK);
    for (let p0 = 0; p0 < k; p0 += DEPTH_BLOCK) {
      const p1 = Math.min(k, p0 + DEPTH_BLOCK);
      const p4 = p1 - ((p1 - p0) % 4);
      panel(a, aRowStride, aColStride, b, c, m, n, j0, j1, p0, p1, p4);
    }
  }
}

/** C[:, j0:j1] += A[:, p0:p1]·B[p0:p1, j0:j1], four rows of B per sweep over a row of C. */
function panel(
  a: Float64Array,
  aRowStride: number,
  aColStride: number,
  b: Float64Array,
  c: Float64Array,
  m: number,
  n: number,
  j0: number,
  j1: number,
  p0: number,
  p1: number,
  p4: number,
): void {
  for (let i = 0; i < m; i++) {
    const cRow = i * n;
    const aRow = i * aRowStride;
    let p = p0;
    for (; p < p4; p += 4) {
      const a0 = a[aRow + p * aColStride]!;
      const a1 = a[aRow + (p + 1) * aColStride]!;
      const a2 = a[aRow + (p + 2) * aColStride]!;
      const a3 = a[aRow + (p + 3) * aColStride]!;
      const b0 = p * n;
      const b1 = b0 + n;
      const b2 = b1 + n;
      const b3 = b2 + n;
      for (let j = j0; j < j1; j++) {
        c[cRow + j] = c[cRow + j]! + a0 * b[b0 + j]! + a1 * b[b1 + j]! + a2 * b[b2 + j]! + a3 * b[b3 + j]!;
      }
    }
    for (; p < p1; p++) {
      const a0 = a[aRow + p * aColStride]!;
      const b0 = p * n;
      for (let j = j0; j < j1; j++) {
        c[cRow + j] = c[cRow + j]! + a0 * b[b0 + j]!;
      }
    }
  }
}

/** op(a)·op(b) in f64. Callers validate shapes first (see validate-shapes.ts). */
export function tsGemm(a: Mat, b: Mat, transposeA = false, transposeB = false): Mat {
  const m = transposeA ? a.cols : a.rows;
  const k = transposeA ? a.rows : a.cols;
  const n = transposeB ? b.rows : b.cols;
  const bData = transposeB ? transpose(b).data : b.data;
  const c = new Float64Array(m * n);
  if (transposeA) {
    // A is k×m: element (i, p) of Aᵀ sits at p·m + i.
    kernel(a.data, 1, a.cols, bData, c, m, k, n);
  } else {
    kernel(a.data, a.cols, 1, bData, c, m, k, n);
  }
  return { rows: m, cols: n, data: c };
}
