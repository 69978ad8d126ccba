// The merge report's Frobenius geometry from two Gram matrices, computed once per module:
// for the joint stack of terms X_i = B_i·A_i (columns b_a of all B's, rows a_a of all A's),
// G_B = [b_aᵀb_b] and G_A = [a_a·a_bᵀ] (c×c, c = Σ r_i). Then for any coefficients d
//   ⟨Σ d_i X_i, Σ e_j X_j⟩_F = Σ_ab d(a) e(b) G_B[a,b] G_A[a,b],
// an O(c²) evaluation after an O((m+n)·c²/2) set-up, instead of a Householder QR of the
// (m+n)×c stacks per module. Squared norms near zero lose digits to cancellation
// (‖X − Y‖² when X ≈ Y), so those are recomputed exactly: columns whose A rows are bitwise
// identical are combined explicitly (Σ d·b, elementwise, no cancellation of squares), exact
// zeros dropped, and the remainder goes through the joint Householder QR (src/linalg/qr.ts).
// Terms that reuse another's factors (same A row bitwise, B column a multiple of the other's to a
// few rounding units, as cat's output does) fold into one coefficient first, so the Gram matrices
// span only distinct rank-one terms and such merges cancel in the coefficients, not in squares.
import type { Mat } from '../../tensor/matrix.ts';
import { extractR, householderInPlace } from '../../linalg/qr.ts';
import { scratchF64 } from '../../util/scratch.ts';

export interface GramTerm {
  /** m×r, row-major. */
  readonly B: Mat;
  /** r×n, row-major. */
  readonly A: Mat;
}

/** A squared norm below this fraction of Σ|d_a d_b G_B G_A| is recomputed without cancellation. */
export const CANCELLATION_FRACTION = 1e-6;

const TRANSPOSE_BLOCK = 256;

const EPS = 2.220446049250313e-16;
/** Rounding units per entry within which a B column counts as a multiple of another. */
const ALIAS_ULPS = 4;

/**
 * Gram matrix of c rows of length L packed in `rows` (row a at a·L):
 * out[a·c + b] = Σ_i rows[a·L + i]·rows[b·L + i].
 */
export function gramOfRows(rows: Float64Array, c: number, L: number): Float64Array {
  return gramOfRowList(Array.from({ length: c }, (_, a) => rows.subarray(a * L, (a + 1) * L)), L);
}

/**
 * Gram matrix of rows given as separate arrays of length L (views into the factors themselves,
 * so nothing is copied): out[a·c + b] = Σ_i rows[a][i]·rows[b][i]. Upper triangle in 2×4 register
 * blocks (each pass over L reads six rows and does eight multiply-adds), then mirrored.
 */
export function gramOfRowList(rows: readonly Float64Array[], L: number): Float64Array {
  const c = rows.length;
  const out = new Float64Array(c * c);
  let a = 0;
  for (; a + 2 <= c; a += 2) {
    const x0 = rows[a]!;
    const x1 = rows[a + 1]!;
    let b = a;
    for (; b + 4 <= c; b += 4) {
      const y0 = rows[b]!;
      const y1 = rows[b + 1]!;
      const y2 = rows[b + 2]!;
      const y3 = rows[b + 3]!;
      let s00 = 0;
      let s01 = 0;
      let s02 = 0;
      let s03 = 0;
      let s10 = 0;
      let s11 = 0;
      let s12 = 0;
      let s13 = 0;
      for (let i = 0; i < L; i++) {
        const x = x0[i]!;
        const y = x1[i]!;
        const r0 = y0[i]!;
        const r1 = y1[i]!;
        const r2 = y2[i]!;
        const r3 = y3[i]!;
        s00 += x * r0;
        s01 += x * r1;
        s02 += x * r2;
        s03 += x * r3;
        s10 += y * r0;
        s11 += y * r1;
        s12 += y * r2;
        s13 += y * r3;
      }
      const p = a * c + b;
      out[p] = s00;
      out[p + 1] = s01;
      out[p + 2] = s02;
      out[p + 3] = s03;
      out[p + c] = s10;
      out[p + c + 1] = s11;
      out[p + c + 2] = s12;
      out[p + c + 3] = s13;
    }
    for (; b < c; b++) {
      const r = rows[b]!;
      let s0 = 0;
      let s1 = 0;
      for (let i = 0; i < L; i++) {
        const v = r[i]!;
        s0 += x0[i]! * v;
        s1 += x1[i]! * v;
      }
      out[a * c + b] = s0;
      out[(a + 1) * c + b] = s1;
    }
  }
  for (; a < c; a++) {
    const x0 = rows[a]!;
    for (let b = a; b < c; b++) {
      const r = rows[b]!;
      let s = 0;
      for (let i = 0; i < L; i++) s += x0[i]! * r[i]!;
      out[a * c + b] = s;
    }
  }
  // Mirror the upper triangle (the 2×4 blocks also wrote G[a+1, a], which equals G[a, a+1]).
  for (let i = 0; i < c; i++) for (let j = 0; j < i; j++) out[i * c + j] = out[j * c + i]!;
  return out;
}

/**
 * Writes the r columns of a row-major m×r matrix as contiguous rows of `out`, starting at row
 * `firstRow` (out row firstRow + j = column j). Blocked: a block of TRANSPOSE_BLOCK source rows stays
 * in L1 while its r columns are written.
 */
export function columnsToRows(src: Float64Array, m: number, r: number, out: Float64Array, firstRow: number): void {
  for (let i0 = 0; i0 < m; i0 += TRANSPOSE_BLOCK) {
    const i1 = Math.min(m, i0 + TRANSPOSE_BLOCK);
    for (let j = 0; j < r; j++) {
      const o = (firstRow + j) * m;
      for (let i = i0; i < i1; i++) out[o + i] = src[i * r + j]!;
    }
  }
}

export interface GramSpace {
  /** ‖Σ_i coefs[i]·X_i‖_F, accurate also under cancellation. */
  norm(coefs: readonly number[]): number;
  /** ⟨Σ x_i X_i, Σ y_j X_j⟩_F. */
  inner(x: readonly number[], y: readonly number[]): number;
}

export function gramSpace(terms: readonly GramTerm[]): GramSpace {
  const m = terms[0]?.B.rows ?? 0;
  const n = terms[0]?.A.cols ?? 0;
  const c = terms.reduce((s, t) => s + t.B.cols, 0);
  // Columns of every B as contiguous rows (Bᵀ), and the rows of every A.
  // Work buffers are reused between modules (src/merge/kernels/scratch.ts): a GramSpace is valid
  // until the next gramSpace call.
  const bRows = scratchF64('gram.bRows', c * m);
  // A rows are already contiguous in each term's A: views, no copy.
  const aRow: Float64Array[] = [];
  const termOf = new Int32Array(c);
  let offset = 0;
  terms.forEach((t, ti) => {
    const r = t.B.cols;
    const src = t.B.data;
    columnsToRows(src, m, r, bRows, offset);
    for (let j = 0; j < r; j++) aRow.push(t.A.data.subarray(j * n, (j + 1) * n));
    for (let j = 0; j < r; j++) termOf[offset + j] = ti;
    offset += r;
  });

  // 1. Groups of columns whose A rows are bitwise identical (cat's and linear's output rows are
  //    the inputs' rows). groupOf[a] is the first column of a's group.
  const groupOf = new Int32Array(c);
  {
    const byKey = new Map<string, number[]>();
    for (let a = 0; a < c; a++) {
      const row = aRow[a]!;
      let h1 = 0;
      let h2 = 0;
      // Bucket key only (equality is checked bitwise below); a cycling weight instead of i % 13.
      for (let i = 0, w = 1; i < n; i++) {
        const v = row[i]!;
        h1 += v;
        h2 += v * w;
        w = w === 13 ? 1 : w + 1;
      }
      const key = `${h1}|${h2}`;
      const list = byKey.get(key) ?? [];
      let found = -1;
      for (const b of list) {
        const other = aRow[b]!;
        let same = true;
        for (let i = 0; i < n; i++) {
          if (row[i] !== other[i]) {
            same = false;
            break;
          }
        }
        if (same) {
          found = groupOf[b]!;
          break;
        }
      }
      groupOf[a] = found >= 0 ? found : a;
      list.push(a);
      byKey.set(key, list);
    }
  }
  // 2. Aliases: a column whose A row equals its group head's and whose B column is λ times the
  //    head's, to within ALIAS_ULPS rounding units per entry, is the head's rank-one term times λ.
  //    Aliases fold into the head's coefficient, so the Gram matrices only span distinct terms
  //    and a merge that reuses input factors (cat) cancels in the coefficients, not in squares.
  const baseOf = new Int32Array(c);
  const lambda = new Float64Array(c).fill(1);
  for (let a = 0; a < c; a++) {
    baseOf[a] = a;
    const g = groupOf[a]!;
    if (g === a) continue;
    const head = bRows.subarray(g * m, (g + 1) * m);
    const col = bRows.subarray(a * m, (a + 1) * m);
    let p = 0;
    for (let i = 1; i < m; i++) if (Math.abs(head[i]!) > Math.abs(head[p]!)) p = i;
    if (head[p] === 0) continue;
    const l = col[p]! / head[p]!;
    let ok = Number.isFinite(l);
    for (let i = 0; ok && i < m; i++) {
      const v = col[i]!;
      if (Math.abs(v - l * head[i]!) > ALIAS_ULPS * EPS * Math.abs(v)) ok = false;
    }
    if (ok) {
      baseOf[a] = g;
      lambda[a] = l;
    }
  }
  const bases: number[] = [];
  const slot = new Int32Array(c).fill(-1);
  for (let a = 0; a < c; a++) {
    if (baseOf[a] === a) {
      slot[a] = bases.length;
      bases.push(a);
    }
  }
  const ce = bases.length;
  // The distinct terms' rows, as views (no compacted copies).
  const bBase = bases.map((a) => bRows.subarray(a * m, (a + 1) * m));
  const GB = gramOfRowList(bBase, m);
  const GA = gramOfRowList(
    bases.map((a) => aRow[a]!),
    n,
  );
  const H = new Float64Array(ce * ce);
  for (let i = 0; i < H.length; i++) H[i] = GB[i]! * GA[i]!;

  /** Coefficient of each distinct term: Σ over its aliases of coef(term)·λ. */
  const effective = (coefs: readonly number[]): Float64Array => {
    const d = new Float64Array(ce);
    for (let a = 0; a < c; a++) {
      const x = coefs[termOf[a]!]!;
      if (x !== 0) d[slot[baseOf[a]!]!]! += x * lambda[a]!;
    }
    return d;
  };
  const quadratic = (x: Float64Array, y: Float64Array): { value: number; magnitude: number } => {
    let value = 0;
    let magnitude = 0;
    for (let a = 0; a < ce; a++) {
      const xa = x[a]!;
      if (xa === 0) continue;
      for (let b = 0; b < ce; b++) {
        const yb = y[b]!;
        if (yb === 0) continue;
        const v = xa * yb * H[a * ce + b]!;
        value += v;
        magnitude += Math.abs(v);
      }
    }
    return { value, magnitude };
  };

  /** Exact-path norm: combine distinct terms sharing an A row, drop exact zeros, joint Householder QR. */
  const exactNorm = (d: Float64Array): number => {
    const combined = new Map<number, Float64Array>();
    for (let k = 0; k < ce; k++) {
      const x = d[k]!;
      if (x === 0) continue;
      const g = groupOf[bases[k]!]!;
      let col = combined.get(g);
      if (!col) {
        col = new Float64Array(m);
        combined.set(g, col);
      }
      const src = bBase[k]!;
      for (let i = 0; i < m; i++) col[i]! += x * src[i]!;
    }
    const live = [...combined.entries()].filter(([, col]) => col.some((v) => v !== 0));
    const k = live.length;
    if (k === 0) return 0;
    const bCols = new Float64Array(m * k);
    const aCols = new Float64Array(n * k);
    live.forEach(([g, col], j) => {
      bCols.set(col, j * m);
      aCols.set(aRow[g]!, j * n);
    });
    const RB = extractR(householderInPlace(m, k, bCols));
    const RA = extractR(householderInPlace(n, k, aCols));
    let s = 0;
    for (let i = 0; i < RB.rows; i++) {
      for (let l = 0; l < RA.rows; l++) {
        let v = 0;
        for (let j = Math.max(i, l); j < k; j++) v += RB.data[i * k + j]! * RA.data[l * k + j]!;
        s += v * v;
      }
    }
    return Math.sqrt(s);
  };

  return {
    inner(x, y) {
      return ce === 0 ? 0 : quadratic(effective(x), effective(y)).value;
    },
    norm(coefs) {
      if (ce === 0) return 0;
      const d = effective(coefs);
      const { value, magnitude } = quadratic(d, d);
      if (magnitude === 0) return 0;
      if (value > CANCELLATION_FRACTION * magnitude) return Math.sqrt(value);
      return exactNorm(d);
    },
  };
}
