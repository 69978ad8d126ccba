// Small dense kernels used by the spectral diagnostics: a symmetric eigensolver
// (Householder tridiagonalisation + implicit QL, after EISPACK tred2/tql2 as in
// JAMA), a one-sided Jacobi SVD for small cores, Gram products and a
// re-orthogonalising Gram–Schmidt. All Float64, row-major, no validation:
// callers check shapes.
import type { Mat } from '../tensor/matrix.ts';
import { zeros } from '../tensor/matrix.ts';
import type { Rng } from '../util/rng.ts';

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

/** G = M·Mᵀ (rows×rows), symmetric. */
export function gramRows(m: Mat): Float64Array {
  const { rows, cols, data } = m;
  const out = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    const ri = i * cols;
    for (let j = 0; j <= i; j++) {
      const rj = j * cols;
      let s = 0;
      for (let k = 0; k < cols; k++) s += data[ri + k]! * data[rj + k]!;
      out[i * rows + j] = s;
      out[j * rows + i] = s;
    }
  }
  return out;
}

/** G = Mᵀ·M (cols×cols), symmetric. */
export function gramCols(m: Mat): Float64Array {
  const { rows, cols, data } = m;
  const out = new Float64Array(cols * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let i = 0; i < cols; i++) {
      const v = data[base + i]!;
      if (v === 0) continue;
      const oi = i * cols;
      for (let j = 0; j <= i; j++) out[oi + j] = out[oi + j]! + v * data[base + j]!;
    }
  }
  for (let i = 0; i < cols; i++) {
    for (let j = 0; j < i; j++) out[j * cols + i] = out[i * cols + j]!;
  }
  return out;
}

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

/**
 * Orthonormalises the vectors in place with classical Gram–Schmidt applied twice (CGS2).
 * A vector that collapses (rank deficiency) is replaced by a fresh random direction
 * orthogonal to the others when `rng` is given, or dropped otherwise. Returns the kept vectors.
 */
export function orthonormalize(vectors: Float64Array[], rng?: Rng): Float64Array[] {
  const out: Float64Array[] = [];
  for (const original of vectors) {
    let v = original;
    const before = norm(v);
    for (let attempt = 0; attempt < 3; attempt++) {
      for (let pass = 0; pass < 2; pass++) {
        for (const q of out) {
          const c = dot(q, v);
          for (let i = 0; i < v.length; i++) v[i] = v[i]! - c * q[i]!;
        }
      }
      const after = norm(v);
      if (after > 1e-10 * Math.max(before, 1e-300) && after > 1e-300) {
        for (let i = 0; i < v.length; i++) v[i] = v[i]! / after;
        out.push(v);
        break;
      }
      if (!rng || out.length >= v.length) break;
      v = new Float64Array(v.length);
      for (let i = 0; i < v.length; i++) v[i] = rng.normal();
    }
  }
  return out;
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

export interface SmallSvd {
  /** Columns of U as vectors (length rows), one per singular value. */
  readonly u: Float64Array[];
  readonly s: Float64Array;
  /** Columns of V as vectors (length cols). */
  readonly v: Float64Array[];
}

/**
 * Thin SVD of a small dense matrix by one-sided Jacobi (Hestenes) on the columns;
 * accurate to working precision in the small singular values, which the Gram route is not.
 * Cost O(rows·cols²) per sweep: use it for cores of a few hundred at most.
 */
export function jacobiSvd(m: Mat): SmallSvd {
  const transposed = m.rows < m.cols;
  const rows = transposed ? m.cols : m.rows;
  const cols = transposed ? m.rows : m.cols;
  // Work on columns of the tall matrix X (rows ≥ cols) as vectors.
  const x: Float64Array[] = [];
  for (let j = 0; j < cols; j++) {
    const v = new Float64Array(rows);
    for (let i = 0; i < rows; i++) v[i] = transposed ? m.data[j * m.cols + i]! : m.data[i * m.cols + j]!;
    x.push(v);
  }
  const vt: Float64Array[] = [];
  for (let j = 0; j < cols; j++) {
    const v = new Float64Array(cols);
    v[j] = 1;
    vt.push(v);
  }
  const tol = 1e-15;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < cols - 1; p++) {
      for (let q = p + 1; q < cols; q++) {
        const xp = x[p]!;
        const xq = x[q]!;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < rows; i++) {
          alpha += xp[i]! * xp[i]!;
          beta += xq[i]! * xq[i]!;
          gamma += xp[i]! * xq[i]!;
        }
        if (Math.abs(gamma) <= tol * Math.sqrt(alpha * beta) || gamma === 0) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < rows; i++) {
          const a = xp[i]!;
          const b = xq[i]!;
          xp[i] = c * a - s * b;
          xq[i] = s * a + c * b;
        }
        const vp = vt[p]!;
        const vq = vt[q]!;
        for (let i = 0; i < cols; i++) {
          const a = vp[i]!;
          const b = vq[i]!;
          vp[i] = c * a - s * b;
          vq[i] = s * a + c * b;
        }
      }
    }
    if (!rotated) break;
  }
  const sig = x.map((v) => norm(v));
  const order = sig.map((_, i) => i).sort((a, b) => sig[b]! - sig[a]!);
  const s = Float64Array.from(order, (i) => sig[i]!);
  const left = order.map((i) => {
    const v = Float64Array.from(x[i]!);
    const nv = sig[i]!;
    if (nv > 0) for (let k = 0; k < v.length; k++) v[k] = v[k]! / nv;
    return v;
  });
  const right = order.map((i) => vt[i]!);
  return transposed ? { u: right, s, v: left } : { u: left, s, v: right };
}

/** Flips v so that its largest-|·| entry is positive. */
export function normaliseSignInPlace(v: Float64Array): void {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (Math.abs(v[i]!) > Math.abs(v[best]!)) best = i;
  if (v[best]! < 0) for (let i = 0; i < v.length; i++) v[i] = -v[i]!;
}
