// The one dense kernel the diagnostics need that src/linalg does not have: a symmetric
// eigensolver for LARGE matrices (Householder tridiagonalisation + implicit QL, after
// EISPACK tred2/tql2 as in JAMA; O(n³) once, 1024×1024 Gram in seconds), where
// linalg's eighSymmetric (cyclic Jacobi, O(n³) per sweep, "a few hundred on a side")
// takes minutes; also used on Lanczos tridiagonals. Plus vector helpers. Float64,
// row-major, no validation: callers check shapes.
import type { Mat } from '../tensor/matrix.ts';
import { zeros } from '../tensor/matrix.ts';

export interface SymmetricEigen {
  /** Eigenvalues, descending. */
  readonly values: Float64Array;
  /** Row j is the unit eigenvector of values[j]. */
  readonly vectors: Float64Array[];
}

/** Eigen-decomposition of a symmetric n×n matrix given row-major (only the lower triangle is read). */
export function symmetricEigen(n: number, data: Float64Array): SymmetricEigen {
  if (n === 0) {
    return { values: new Float64Array(0), vectors: [] };
  }
  const V: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const row = new Float64Array(n);
    for (let j = 0; j <= i; j++) {
      row[j] = data[i * n + j]!;
    }
    V.push(row);
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      V[i]![j] = V[j]![i]!;
    }
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(n, V, d, e);
  // tql2 works on the transpose, so that each rotation touches two contiguous rows.
  const Vt: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const row = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      row[k] = V[k]![i]!;
    }
    Vt.push(row);
  }
  tql2(n, Vt, d, e);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[b]! - d[a]!);
  return { values: Float64Array.from(order, (i) => d[i]!), vectors: order.map((i) => Vt[i]!) };
}

function tred2(n: number, V: Float64Array[], d: Float64Array, e: Float64Array): void {
  for (let j = 0; j < n; j++) d[j] = V[n - 1]![j]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[i - 1]![j]!;
        V[i]![j] = 0;
        V[j]![i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[j]![i] = f;
        g = e[j]! + V[j]![j]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k]![j]! * d[k]!;
          e[k] = e[k]! + V[k]![j]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) {
          V[k]![j] = V[k]![j]! - (f * e[k]! + g * d[k]!);
        }
        d[j] = V[i - 1]![j]!;
        V[i]![j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[n - 1]![i] = V[i]![i]!;
    V[i]![i] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k]![i + 1]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k]![i + 1]! * V[k]![j]!;
        for (let k = 0; k <= i; k++) V[k]![j] = V[k]![j]! - g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[k]![i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[n - 1]![j]!;
    V[n - 1]![j] = 0;
  }
  V[n - 1]![n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e); Vt holds eigenvector candidates as rows. */
function tql2(n: number, Vt: Float64Array[], d: Float64Array, e: Float64Array): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        iter++;
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          const a = Vt[i]!;
          const b = Vt[i + 1]!;
          for (let k = 0; k < n; k++) {
            const hk = b[k]!;
            b[k] = s * a[k]! + c * hk;
            a[k] = c * a[k]! - s * hk;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1 && iter < 60);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}

/** The symmetric tridiagonal with diagonal α and off-diagonal β (Lanczos), row-major s×s. */
export function tridiagonal(alphas: readonly number[], betas: readonly number[]): Float64Array {
  const s = alphas.length;
  const T = new Float64Array(s * s);
  for (let i = 0; i < s; i++) {
    T[i * s + i] = alphas[i]!;
    if (i + 1 < s) {
      T[(i + 1) * s + i] = betas[i]!;
      T[i * s + i + 1] = betas[i]!;
    }
  }
  return T;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

/** Columns of a row-major rows×cols matrix as separate vectors. */
export function columnsOf(m: Mat): Float64Array[] {
  const out: Float64Array[] = [];
  for (let j = 0; j < m.cols; j++) {
    const v = new Float64Array(m.rows);
    for (let i = 0; i < m.rows; i++) v[i] = m.data[i * m.cols + j]!;
    out.push(v);
  }
  return out;
}

/** The matrix whose columns are the given vectors (all of the same length). */
export function fromColumns(vectors: readonly Float64Array[], length: number): Mat {
  const out = zeros(length, vectors.length);
  vectors.forEach((v, j) => {
    for (let i = 0; i < length; i++) out.data[i * vectors.length + j] = v[i]!;
  });
  return out;
}

/** Flips v so that its largest-|·| entry is positive. */
export function normaliseSignInPlace(v: Float64Array): void {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (Math.abs(v[i]!) > Math.abs(v[best]!)) best = i;
  if (v[best]! < 0) for (let i = 0; i < v.length; i++) v[i] = -v[i]!;
}
