// Thin Householder QR in f64. Works on a column-major copy so that every
// reflector and every column it touches is contiguous; this is what makes the
// tall-skinny QRs of the factored SVD (4096×128) cheap in plain TypeScript.
import { transpose, zeros } from '../tensor/matrix.ts';
import type { Mat } from '../tensor/matrix.ts';

/** Householder factorisation kept in compact (LAPACK geqrf-like) form. */
export interface HouseholderQr {
  readonly m: number;
  readonly n: number;
  /** k = min(m, n) reflectors. */
  readonly k: number;
  /** Column-major m×n: R on and above the diagonal, reflector tails below (v[j] = 1 implied). */
  readonly cols: Float64Array;
  /** H_j = I − tau[j]·v_j·v_jᵀ. */
  readonly tau: Float64Array;
}

/** Copies a row-major Mat into a column-major array. */
export function toColumnMajor(M: Mat): Float64Array {
  return transpose(M).data;
}

/**
 * Reflectors are applied in panels of this many: for each target column the whole panel is applied
 * while the column sits in L1 and the panel (PANEL·m doubles) in L2. The arithmetic is identical to
 * the unblocked loop, only the loop order changes, so results are bit-identical for any panel size.
 */
const PANEL = 16;

/** Householder QR of a column-major m×n array (overwritten with the compact form). */
export function householderInPlace(m: number, n: number, a: Float64Array): HouseholderQr {
  const k = Math.min(m, n);
  const tau = new Float64Array(k);
  for (let j0 = 0; j0 < k; j0 += PANEL) {
    const j1 = Math.min(k, j0 + PANEL);
    // Factor the panel columns j0..j1−1 (unblocked, right-looking inside the panel).
    for (let j = j0; j < j1; j++) {
      makeReflector(m, a, j, tau);
      for (let c = j + 1; c < j1; c++) applyReflector(m, a, j * m, tau[j]!, j, a, c * m);
    }
    // Apply the panel to the trailing columns, four columns at a time.
    let c = j1;
    for (; c + 4 <= n; c += 4) {
      for (let j = j0; j < j1; j++) applyReflector4(m, a, j * m, tau[j]!, j, a, c * m);
    }
    for (; c < n; c++) {
      for (let j = j0; j < j1; j++) applyReflector(m, a, j * m, tau[j]!, j, a, c * m);
    }
  }
  return { m, n, k, cols: a, tau };
}

/** Builds reflector j from a[j.., j] in place (v[j] = 1 implied, R_jj stored at a[j, j]). */
function makeReflector(m: number, a: Float64Array, j: number, tau: Float64Array): void {
  const cj = j * m;
  // Scaled norm of x = a[j.., j] (guards against overflow/underflow for extreme inputs).
  let scaleMax = 0;
  for (let i = j; i < m; i++) {
    const v = Math.abs(a[cj + i]!);
    if (v > scaleMax) scaleMax = v;
  }
  if (scaleMax === 0) {
    tau[j] = 0;
    return;
  }
  let ss = 0;
  for (let i = j; i < m; i++) {
    const v = a[cj + i]! / scaleMax;
    ss += v * v;
  }
  const normX = scaleMax * Math.sqrt(ss);
  const alpha = a[cj + j]!;
  const beta = alpha >= 0 ? -normX : normX;
  const denom = alpha - beta;
  if (denom === 0) {
    tau[j] = 0;
    return;
  }
  const inv = 1 / denom;
  for (let i = j + 1; i < m; i++) {
    a[cj + i]! *= inv;
  }
  tau[j] = (beta - alpha) / beta;
  a[cj + j] = beta;
}

/** x[off + j..m) ← H·x with H = I − t·v·vᵀ, v = (1, v[vOff + j + 1..m)). */
function applyReflector(m: number, v: Float64Array, vOff: number, t: number, j: number, x: Float64Array, xOff: number): void {
  if (t === 0) return;
  let dot = x[xOff + j]!;
  for (let i = j + 1; i < m; i++) {
    dot += v[vOff + i]! * x[xOff + i]!;
  }
  const w = t * dot;
  if (w === 0) return;
  x[xOff + j]! -= w;
  for (let i = j + 1; i < m; i++) {
    x[xOff + i]! -= w * v[vOff + i]!;
  }
}

/** applyReflector on the four consecutive columns starting at xOff (each read of v serves four). */
function applyReflector4(m: number, v: Float64Array, vOff: number, t: number, j: number, x: Float64Array, xOff: number): void {
  if (t === 0) return;
  const x0 = xOff;
  const x1 = xOff + m;
  const x2 = xOff + 2 * m;
  const x3 = xOff + 3 * m;
  let d0 = x[x0 + j]!;
  let d1 = x[x1 + j]!;
  let d2 = x[x2 + j]!;
  let d3 = x[x3 + j]!;
  for (let i = j + 1; i < m; i++) {
    const vi = v[vOff + i]!;
    d0 += vi * x[x0 + i]!;
    d1 += vi * x[x1 + i]!;
    d2 += vi * x[x2 + i]!;
    d3 += vi * x[x3 + i]!;
  }
  const w0 = t * d0;
  const w1 = t * d1;
  const w2 = t * d2;
  const w3 = t * d3;
  x[x0 + j]! -= w0;
  x[x1 + j]! -= w1;
  x[x2 + j]! -= w2;
  x[x3 + j]! -= w3;
  for (let i = j + 1; i < m; i++) {
    const vi = v[vOff + i]!;
    x[x0 + i]! -= w0 * vi;
    x[x1 + i]! -= w1 * vi;
    x[x2 + i]! -= w2 * vi;
    x[x3 + i]! -= w3 * vi;
  }
}

/**
 * Applies Q = H_0·H_1·…·H_{k−1} to a column-major m×p block X (in place): X ← Q·X.
 * With X = [I_k; 0] this forms the thin Q; with X = [Ũ; 0] it forms Q·Ũ without a GEMM.
 */
export function applyQInPlace(qr: HouseholderQr, p: number, x: Float64Array): void {
  const { m, k, cols, tau } = qr;
  const lastPanel = Math.floor((k - 1) / PANEL) * PANEL;
  for (let j0 = lastPanel; j0 >= 0; j0 -= PANEL) {
    const j1 = Math.min(k, j0 + PANEL);
    let c = 0;
    for (; c + 4 <= p; c += 4) {
      for (let j = j1 - 1; j >= j0; j--) applyReflector4(m, cols, j * m, tau[j]!, j, x, c * m);
    }
    for (; c < p; c++) {
      for (let j = j1 - 1; j >= j0; j--) applyReflector(m, cols, j * m, tau[j]!, j, x, c * m);
    }
  }
}

/** The k×n upper-trapezoidal R of a compact factorisation, row-major. */
export function extractR(qr: HouseholderQr): Mat {
  const { m, n, k, cols } = qr;
  const R = zeros(k, n);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < n; j++) {
      R.data[i * n + j] = cols[j * m + i]!;
    }
  }
  return R;
}

/** Column-major m×k thin Q. */
export function formQColumnMajor(qr: HouseholderQr): Float64Array {
  const { m, k } = qr;
  const q = new Float64Array(m * k);
  for (let j = 0; j < k; j++) {
    q[j * m + j] = 1;
  }
  applyQInPlace(qr, k, q);
  return q;
}

/** Row-major Mat from a column-major rows×cols array. */
export function fromColumnMajor(rows: number, cols: number, a: Float64Array): Mat {
  const out = zeros(rows, cols);
  for (let j = 0; j < cols; j++) {
    const cj = j * rows;
    for (let i = 0; i < rows; i++) {
      out.data[i * cols + j] = a[cj + i]!;
    }
  }
  return out;
}

/**
 * Thin QR, M = Q·R, with k = min(m, n): Q is m×k with orthonormal columns, R is k×n upper
 * trapezoidal (k×k upper triangular when m ≥ n). The diagonal of R is made non-negative, so the
 * factorisation is unique for full-column-rank M and identical on every platform.
 */
export function qrThin(M: Mat): { Q: Mat; R: Mat } {
  const { rows: m, cols: n } = M;
  const qr = householderInPlace(m, n, toColumnMajor(M));
  const R = extractR(qr);
  const q = formQColumnMajor(qr);
  const k = qr.k;
  for (let j = 0; j < k; j++) {
    if (R.data[j * n + j]! < 0) {
      for (let c = j; c < n; c++) R.data[j * n + c] = -R.data[j * n + c]!;
      for (let i = 0; i < m; i++) q[j * m + i] = -q[j * m + i]!;
    }
  }
  return { Q: fromColumnMajor(m, k, q), R };
}
