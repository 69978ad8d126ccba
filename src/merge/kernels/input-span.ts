// The joint geometry of one module's inputs, computed once per module and shared by the methods
// whose output lies in the inputs' span (cat, linear, svd, lego) and by the merge report.
//
// With B_cat = [B_1 … B_T] (m×c) and A_cat = [A_1; …; A_T] (c×n), c = Σ r_t, raw factors (no scale,
// no weight), every such output is B_cat·P·Q·A_cat for small coefficient matrices P (c×k), Q (k×c).
// Two c×c Gram matrices G_B = B_catᵀB_cat and G_A = A_cat·A_catᵀ, an O((m+n)·c²/2) pass, answer the
// rest in c-space:
//   ‖B_cat·E·A_cat‖_F = ‖R_B·E·R_Aᵀ‖_F for any c×c E, where R_BᵀR_B = G_B and R_AᵀR_A = G_A;
//   the SVD of B_cat·D·A_cat is the SVD of the core R_B·D·R_Aᵀ mapped back through R⁻¹.
// R comes from a Cholesky factorisation of the column-normalised Gram when that is well conditioned
// (`invertible`); otherwise (rank-deficient or nearly so: zero columns, repeated adapters, c > m)
// from a Householder QR of the stack itself, which is exact for norms but not inverted.
import { WorkbenchError } from '../../errors.ts';
import type { Mat } from '../../tensor/matrix.ts';
import { extractR, householderInPlace } from '../../linalg/qr.ts';
import { scratchF64, sharedScratchF64 } from '../../util/scratch.ts';
import { splitCombine, splitGram } from './split-kernels.ts';
import { columnsToRows } from './gram-space.ts';
import { outputF64 } from './output-pool.ts';

export interface SpanTerm {
  /** m×r, row-major. */
  readonly B: Mat;
  /** r×n, row-major. */
  readonly A: Mat;
}

/**
 * Smallest diagonal entry of the Cholesky factor of the unit-diagonal (correlation) Gram matrix for
 * which R is used as invertible. The diagonal ratio bounds κ(R) from below; 1e-4 keeps the rounding
 * that R⁻¹ amplifies (≈ eps·κ²) near 1e-8, far below an f32 output's resolution. Methods still
 * certify their result a posteriori (svd checks UᵀU = I in c-space) and fall back when it fails.
 */
export const CHOLESKY_MIN_PIVOT = 1e-4;

const TRANSPOSE_BLOCK = 256;

export interface InputSpan {
  readonly m: number;
  readonly n: number;
  /** Σ r_t. */
  readonly c: number;
  /** offsets[t] = first column of term t in B_cat; offsets[T] = c. */
  readonly offsets: readonly number[];
  /** B_catᵀ·B_cat, c×c row-major. */
  readonly GB: Float64Array;
  /** A_cat·A_catᵀ, c×c row-major. */
  readonly GA: Float64Array;
  /** Both R factors are c×c upper triangular from a well-conditioned Cholesky (R⁻¹ may be applied). */
  readonly invertible: boolean;
  /** R_B (rowsB×c, row-major) with R_BᵀR_B = G_B. */
  readonly RB: Mat;
  /** R_A (rowsA×c, row-major) with R_AᵀR_A = G_A. */
  readonly RA: Mat;
  /** B_cat·P (m×k) and Q·A_cat (k×n), P c×k and Q k×c row-major, in output-pool buffers. */
  combine(P: Float64Array, Q: Float64Array, k: number): { B: Mat; A: Mat };
  /** R_B·E·R_Aᵀ (rowsB×rowsA) for a c×c coefficient matrix E: ‖B_cat·E·A_cat‖_F = ‖that‖_F. */
  project(E: Float64Array): Float64Array;
  /** project(P·Q) for P c×k, Q k×c, as (R_B·P)·(R_A·Qᵀ)ᵀ: O(c²k) instead of O(c³). */
  projectFactors(P: Float64Array, Q: Float64Array, k: number): Float64Array;
  /** project(diag(d)) for d zero outside columns [from, to): O(c²·(to − from)). */
  projectDiagonal(d: Float64Array, from: number, to: number): Float64Array;
}

/**
 * Upper Cholesky factor of G (c×c) through its unit-diagonal scaling, or null when a pivot falls
 * below CHOLESKY_MIN_PIVOT (or G has a zero or non-finite diagonal).
 */
export function choleskyUpper(G: Float64Array, c: number): Float64Array | null {
  const s = new Float64Array(c);
  for (let a = 0; a < c; a++) {
    const d = G[a * c + a]!;
    if (!(d > 0) || !Number.isFinite(d)) return null;
    s[a] = Math.sqrt(d);
  }
  const R = new Float64Array(c * c);
  for (let j = 0; j < c; j++) {
    let diag = 1;
    for (let i = 0; i < j; i++) diag -= R[i * c + j]! * R[i * c + j]!;
    if (!(diag > CHOLESKY_MIN_PIVOT * CHOLESKY_MIN_PIVOT)) return null;
    const rjj = Math.sqrt(diag);
    R[j * c + j] = rjj;
    for (let l = j + 1; l < c; l++) {
      let v = G[j * c + l]! / (s[j]! * s[l]!);
      for (let i = 0; i < j; i++) v -= R[i * c + j]! * R[i * c + l]!;
      R[j * c + l] = v / rjj;
    }
  }
  // Undo the scaling: G = S·CᵀC·S with C the factor above, so R = C·S.
  for (let j = 0; j < c; j++) for (let l = j; l < c; l++) R[j * c + l]! *= s[l]!;
  return R;
}

/** R of a Householder QR of the column-major m×c array `cols` (overwritten). */
function householderR(m: number, c: number, cols: Float64Array): Mat {
  return extractR(householderInPlace(m, c, cols));
}

/** Incremented by every inputSpan call: a span's combine() refuses to run on recycled buffers. */
let spanGeneration = 0;

export function inputSpan(terms: readonly SpanTerm[]): InputSpan {
  const m = terms[0]?.B.rows ?? 0;
  const n = terms[0]?.A.cols ?? 0;
  const offsets = [0];
  for (const t of terms) offsets.push(offsets[offsets.length - 1]! + t.B.cols);
  const c = offsets[offsets.length - 1]!;
  // B's columns as contiguous rows (blocked transpose), A's rows as views.
  const bRows = sharedScratchF64('span.bRows', c * m);
  const aRows: Float64Array[] = [];
  terms.forEach((t, ti) => {
    const r = t.B.cols;
    const src = t.B.data;
    columnsToRows(src, m, r, bRows, offsets[ti]!);
    for (let j = 0; j < r; j++) aRows.push(t.A.data.subarray(j * n, (j + 1) * n));
  });
  const columnRows = Array.from({ length: c }, (_, a) => bRows.subarray(a * m, (a + 1) * m));
  const GB = splitGram(columnRows, m);
  const generation = ++spanGeneration;
  const GA = splitGram(aRows, n);
  const cholB = c <= m ? choleskyUpper(GB, c) : null;
  const cholA = cholB && c <= n ? choleskyUpper(GA, c) : null;
  const invertible = cholB !== null && cholA !== null;
  let RB: Mat;
  let RA: Mat;
  if (invertible) {
    RB = { rows: c, cols: c, data: cholB };
    RA = { rows: c, cols: c, data: cholA };
  } else {
    // Column-major B_cat is exactly bRows; column-major A_catᵀ is the A rows back to back.
    const bCols = scratchF64('span.householderB', c * m);
    bCols.set(bRows);
    const aCols = scratchF64('span.householderA', c * n);
    aRows.forEach((row, a) => aCols.set(row, a * n));
    RB = householderR(m, c, bCols);
    RA = householderR(n, c, aCols);
  }

  return {
    m,
    n,
    c,
    offsets,
    GB,
    GA,
    invertible,
    RB,
    RA,
    combine(P, Q, k) {
      if (generation !== spanGeneration) {
        throw new WorkbenchError('INTERNAL', 'InputSpan.combine called after another module’s span replaced its work buffers');
      }
      // B_outᵀ (k×m) = Pᵀ·B_catᵀ over B's columns as rows, then one transpose into row-major m×k.
      const Pt = new Float64Array(k * c);
      for (let a = 0; a < c; a++) for (let q = 0; q < k; q++) Pt[q * c + a] = P[a * k + q]!;
      const bt = sharedScratchF64('span.combineBt', k * m);
      splitCombine(bt, Pt, k, columnRows, m);
      const B: Mat = { rows: m, cols: k, data: outputF64(m * k) };
      const bd = B.data;
      for (let i0 = 0; i0 < m; i0 += TRANSPOSE_BLOCK) {
        const i1 = Math.min(m, i0 + TRANSPOSE_BLOCK);
        for (let q = 0; q < k; q++) {
          const src = q * m;
          for (let i = i0; i < i1; i++) bd[i * k + q] = bt[src + i]!;
        }
      }
      const at = sharedScratchF64('span.combineA', k * n);
      splitCombine(at, Q, k, aRows, n);
      const A: Mat = { rows: k, cols: n, data: outputF64(k * n) };
      A.data.set(at);
      return { B, A };
    },
    project(E) {
      // T = R_B·E (rowsB×c), then Z = T·R_Aᵀ (rowsB×rowsA), using the triangular structure of both R's.
      const rb = RB.rows;
      const ra = RA.rows;
      const T = new Float64Array(rb * c);
      for (let i = 0; i < rb; i++) {
        for (let l = i; l < c; l++) {
          const x = RB.data[i * c + l]!;
          if (x === 0) continue;
          for (let j = 0; j < c; j++) T[i * c + j]! += x * E[l * c + j]!;
        }
      }
      const Z = new Float64Array(rb * ra);
      for (let i = 0; i < rb; i++) {
        for (let j = 0; j < ra; j++) {
          let s = 0;
          for (let l = j; l < c; l++) s += T[i * c + l]! * RA.data[j * c + l]!;
          Z[i * ra + j] = s;
        }
      }
      return Z;
    },
    projectFactors(P, Q, k) {
      const rb = RB.rows;
      const ra = RA.rows;
      // X = R_B·P (rb×k), Y = R_A·Qᵀ (ra×k), both using the triangular structure.
      const X = new Float64Array(rb * k);
      for (let i = 0; i < rb; i++) {
        for (let l = i; l < c; l++) {
          const x = RB.data[i * c + l]!;
          if (x === 0) continue;
          for (let q = 0; q < k; q++) X[i * k + q]! += x * P[l * k + q]!;
        }
      }
      const Y = new Float64Array(ra * k);
      for (let j = 0; j < ra; j++) {
        for (let l = j; l < c; l++) {
          const x = RA.data[j * c + l]!;
          if (x === 0) continue;
          for (let q = 0; q < k; q++) Y[j * k + q]! += x * Q[q * c + l]!;
        }
      }
      const Z = new Float64Array(rb * ra);
      for (let i = 0; i < rb; i++) {
        for (let j = 0; j < ra; j++) {
          let s = 0;
          for (let q = 0; q < k; q++) s += X[i * k + q]! * Y[j * k + q]!;
          Z[i * ra + j] = s;
        }
      }
      return Z;
    },
    projectDiagonal(d, from, to) {
      const rb = RB.rows;
      const ra = RA.rows;
      const Z = new Float64Array(rb * ra);
      for (let i = 0; i < rb; i++) {
        for (let j = 0; j < ra; j++) {
          let s = 0;
          for (let l = Math.max(i, j, from); l < to; l++) s += RB.data[i * c + l]! * d[l]! * RA.data[j * c + l]!;
          Z[i * ra + j] = s;
        }
      }
      return Z;
    },
  };
}

let latest: { readonly inputs: readonly SpanTerm[]; readonly span: InputSpan; readonly generation: number } | undefined;

/**
 * The span of a module's inputs, computed on first use and shared with whoever asks next for the
 * same input list (the method and then the executor's report see the same `ctx.inputs` array). Only
 * the latest span is kept: its work buffers are recycled by the next one. The inputs' factors must
 * not change while their span is in use.
 */
export function spanOf(inputs: readonly SpanTerm[]): InputSpan {
  if (latest && latest.inputs === inputs && latest.generation === spanGeneration) return latest.span;
  const span = inputSpan(inputs);
  latest = { inputs, span, generation: spanGeneration };
  return span;
}

/** Frobenius norm of a flat array. */
export function frobeniusOf(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
}
