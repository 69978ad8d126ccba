// How two adapters relate on one module, gauge-free: principal angles between the
// column spaces (and row spaces) of ΔW₁ and ΔW₂, the cosine matrix of rank-one units
// |cos(b₁,b₂)·cos(a₁,a₂)| (the cosine of the rank-one matrices b aᵀ), and the rate of
// opposite signs among entries where both deltas are non-zero.
import type { Mat } from '../tensor/matrix.ts';
import { SIGN_CONFLICT_MAX_ENTRIES } from '../limits.ts';
import { createRng } from '../util/rng.ts';
import { svdSmall } from '../linalg/svd-small.ts';
import { dot } from './dense-kernels.ts';
import type { FactoredSvd } from './factored-svd.ts';

export interface OverlapSide {
  /** Cosines of the principal angles, descending. */
  readonly cosines: number[];
  /** Σ cos² / min(r₁, r₂): 1 when one space contains the other, 0 when orthogonal. */
  readonly overlap: number;
}

export interface ModuleOverlap {
  readonly column: OverlapSide;
  readonly row: OverlapSide;
  /** r₁ × r₂ matrix of |cos(b₁ᵢ,b₂ⱼ)·cos(a₁ᵢ,a₂ⱼ)|. */
  readonly unitCosines: number[][];
  readonly signConflict: { readonly rate: number; readonly entries: number; readonly sampledRows: number | null };
}

export function principalAngles(left: readonly Float64Array[], right: readonly Float64Array[]): OverlapSide {
  if (left.length === 0 || right.length === 0) return { cosines: [], overlap: 0 };
  const data = new Float64Array(left.length * right.length);
  left.forEach((a, i) => right.forEach((b, j) => (data[i * right.length + j] = dot(a, b))));
  const svd = svdSmall({ rows: left.length, cols: right.length, data });
  const cosines = Array.from(svd.S, (c) => Math.min(1, c));
  const overlap = cosines.reduce((acc, c) => acc + c * c, 0) / Math.min(left.length, right.length);
  return { cosines, overlap };
}

function column(M: Mat, j: number): Float64Array {
  const out = new Float64Array(M.rows);
  for (let i = 0; i < M.rows; i++) out[i] = M.data[i * M.cols + j]!;
  return out;
}

function unitCos(x: Float64Array, y: Float64Array): number {
  const d = Math.sqrt(dot(x, x) * dot(y, y));
  return d > 0 ? dot(x, y) / d : 0;
}

export function unitCosineMatrix(B1: Mat, A1: Mat, B2: Mat, A2: Mat): number[][] {
  const b2 = Array.from({ length: B2.cols }, (_, j) => column(B2, j));
  const a2 = Array.from({ length: A2.rows }, (_, j) => A2.data.subarray(j * A2.cols, (j + 1) * A2.cols));
  const out: number[][] = [];
  for (let i = 0; i < B1.cols; i++) {
    const b1 = column(B1, i);
    const a1 = A1.data.subarray(i * A1.cols, (i + 1) * A1.cols);
    out.push(b2.map((b, j) => Math.abs(unitCos(b1, b) * unitCos(a1, a2[j]!))));
  }
  return out;
}

/** Opposite-sign rate of s₁B₁A₁ vs s₂B₂A₂ over entries where both are non-zero, row by row. */
export function signConflictRate(B1: Mat, A1: Mat, s1: number, B2: Mat, A2: Mat, s2: number, seed: number): ModuleOverlap['signConflict'] {
  const m = B1.rows;
  const n = A1.cols;
  let rows = Array.from({ length: m }, (_, i) => i);
  let sampledRows: number | null = null;
  if (m * n > SIGN_CONFLICT_MAX_ENTRIES) {
    const keep = Math.max(1, Math.floor(SIGN_CONFLICT_MAX_ENTRIES / n));
    const rng = createRng(seed);
    for (let i = m - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [rows[i], rows[j]] = [rows[j]!, rows[i]!];
    }
    rows = rows.slice(0, keep).sort((a, b) => a - b);
    sampledRows = rows.length;
  }
  const row1 = new Float64Array(n);
  const row2 = new Float64Array(n);
  let both = 0;
  let conflicts = 0;
  const fill = (out: Float64Array, B: Mat, A: Mat, s: number, i: number): void => {
    out.fill(0);
    for (let k = 0; k < B.cols; k++) {
      const c = s * B.data[i * B.cols + k]!;
      if (c === 0) continue;
      const off = k * n;
      for (let j = 0; j < n; j++) out[j] = out[j]! + c * A.data[off + j]!;
    }
  };
  for (const i of rows) {
    fill(row1, B1, A1, s1, i);
    fill(row2, B2, A2, s2, i);
    for (let j = 0; j < n; j++) {
      const x = row1[j]!;
      const y = row2[j]!;
      if (x !== 0 && y !== 0) {
        both++;
        if (x > 0 !== y > 0) conflicts++;
      }
    }
  }
  return { rate: both > 0 ? conflicts / both : 0, entries: both, sampledRows };
}

export function moduleOverlap(
  first: { B: Mat; A: Mat; scale: number; svd: FactoredSvd },
  second: { B: Mat; A: Mat; scale: number; svd: FactoredSvd },
  seed: number,
): ModuleOverlap {
  return {
    column: principalAngles(first.svd.u, second.svd.u),
    row: principalAngles(first.svd.v, second.svd.v),
    unitCosines: unitCosineMatrix(first.B, first.A, second.B, second.A),
    signConflict: signConflictRate(first.B, first.A, first.scale, second.B, second.A, second.scale, seed),
  };
}
