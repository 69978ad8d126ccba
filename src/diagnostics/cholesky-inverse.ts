// Cholesky factor of an n×n Gram matrix and the inverse of that factor, in f64, for the range
// projection of tall base weights (range-projection.ts). Both are split between the calling thread
// and the split helper (src/compute/split-helper.ts) along boundaries that leave every entry's sum
// unchanged (rows of a panel update; independent columns of the inverse), so the results are the
// same bits with or without the helper. When the Gram matrix lives in a wasm memory (the WebAssembly
// Gram, n a multiple of 4), both run the WebAssembly SIMD kernels of src/compute/wasm/exact-kernels.wat
// on it (the inverse in the room reserved after it); otherwise the JS kernels below.
import { defineSplitKernel, isShared, runSplit } from '../compute/split-helper.ts';
import { SPLIT_MIN_WORK } from '../compute/exact-dense-operator.ts';
import { choleskyPanelWasmRows, exactKernelsModule, inverseColumnsWasm, memoryOf } from '../compute/wasm-kernels.ts';

const EPS = 2 ** -52;

/**
 * Panel update of a left-looking Cholesky: for rows i in [from, to) (from a multiple of 4) and the
 * panel's columns j..j+3, L[i][j+q] −= Σ_{k<j} L[i][k]·L[j+q][k]. 4×4 register blocks, sums in k
 * order. Self-contained: its source runs in the split helper too.
 */
export function choleskyPanelRows(L: Float64Array, n: number, j: number, from: number, to: number): void {
  const w = Math.min(4, n - j);
  const p0 = j * n;
  const p1 = (w > 1 ? j + 1 : j) * n;
  const p2 = (w > 2 ? j + 2 : j) * n;
  const p3 = (w > 3 ? j + 3 : j) * n;
  for (let i = from; i < to; i += 4) {
    const ni = Math.min(4, to - i);
    const r0 = i * n;
    const r1 = (ni > 1 ? i + 1 : i) * n;
    const r2 = (ni > 2 ? i + 2 : i) * n;
    const r3 = (ni > 3 ? i + 3 : i) * n;
    let a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0; // prettier-ignore
    let a20 = 0, a21 = 0, a22 = 0, a23 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0; // prettier-ignore
    for (let k = 0; k < j; k++) {
      const x0 = L[r0 + k]!;
      const x1 = L[r1 + k]!;
      const x2 = L[r2 + k]!;
      const x3 = L[r3 + k]!;
      const y0 = L[p0 + k]!;
      const y1 = L[p1 + k]!;
      const y2 = L[p2 + k]!;
      const y3 = L[p3 + k]!;
      a00 += x0 * y0;
      a01 += x0 * y1;
      a02 += x0 * y2;
      a03 += x0 * y3;
      a10 += x1 * y0;
      a11 += x1 * y1;
      a12 += x1 * y2;
      a13 += x1 * y3;
      a20 += x2 * y0;
      a21 += x2 * y1;
      a22 += x2 * y2;
      a23 += x2 * y3;
      a30 += x3 * y0;
      a31 += x3 * y1;
      a32 += x3 * y2;
      a33 += x3 * y3;
    }
    const acc = [a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33];
    for (let p = 0; p < ni; p++) {
      const o = (i + p) * n + j;
      for (let q = 0; q < w; q++) L[o + q] = L[o + q]! - acc[p * 4 + q]!;
    }
  }
}

/**
 * Columns [from, to) of L⁻¹ (L lower triangular, row-major), stored as rows of X = (L⁻¹)ᵀ:
 * X[c·n + i] = (L⁻¹)[i][c] for i ≥ c (X must start zeroed). Forward substitution, four columns per
 * pass sharing the loads of L's rows; `from` a multiple of 4. Self-contained.
 */
export function inverseFactorColumns(X: Float64Array, L: Float64Array, n: number, from: number, to: number): void {
  for (let c = from; c < to; c += 4) {
    const nc = Math.min(4, to - c);
    // Leading triangle: rows c..c+nc−1, column by column.
    for (let q = 0; q < nc; q++) {
      const xc = (c + q) * n;
      X[xc + c + q] = 1 / L[(c + q) * n + c + q]!;
      for (let i = c + q + 1; i < c + nc; i++) {
        let s = 0;
        for (let k = c + q; k < i; k++) s += L[i * n + k]! * X[xc + k]!;
        X[xc + i] = -s / L[i * n + i]!;
      }
    }
    const x0 = c * n;
    const x1 = (nc > 1 ? c + 1 : c) * n;
    const x2 = (nc > 2 ? c + 2 : c) * n;
    const x3 = (nc > 3 ? c + 3 : c) * n;
    for (let i = c + nc; i < n; i++) {
      const ri = i * n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = c; k < i; k++) {
        const l = L[ri + k]!;
        s0 += l * X[x0 + k]!;
        s1 += l * X[x1 + k]!;
        s2 += l * X[x2 + k]!;
        s3 += l * X[x3 + k]!;
      }
      const d = L[ri + i]!;
      X[x0 + i] = -s0 / d;
      if (nc > 1) X[x1 + i] = -s1 / d;
      if (nc > 2) X[x2 + i] = -s2 / d;
      if (nc > 3) X[x3 + i] = -s3 / d;
    }
  }
}

defineSplitKernel('cholesky.panel', `(${choleskyPanelRows.toString()})`);
defineSplitKernel('cholesky.inverse', `(${inverseFactorColumns.toString()})`);

/**
 * In place: the lower triangle of `L` (an n×n Gram matrix G, split over two threads when it is in
 * shared memory; entries above the diagonal are unspecified) becomes its Cholesky factor. False when a pivot falls to
 * ≤ n·ε·trace(G) (G numerically singular): the caller must not use L then.
 */
export function choleskyInPlace(L: Float64Array, n: number, trace: number): boolean {
  const pivotFloor = n * EPS * trace;
  const wasm = wasmFor(L, n, 0);
  // The helper updates L in place: only an L in shared memory can be handed to it.
  const shareable = isShared(L);
  for (let j = 0; j < n; j += 4) {
    const w = Math.min(4, n - j);
    const rows = n - j;
    const work = rows * j * w;
    const split = j + 4 * Math.ceil(rows / 8);
    const big = shareable && work >= SPLIT_MIN_WORK && split < n;
    if (wasm) {
      const { memory, module } = wasm;
      const l = L.byteOffset;
      runSplit(
        'wasm.choleskyPanel',
        big ? [memory, module, l, n, j, split, n] : undefined,
        () => choleskyPanelWasmRows(memory, module, l, n, j, j, big ? split : n),
        () => {
          if (big) choleskyPanelWasmRows(memory, module, l, n, j, split, n);
        },
      );
    } else {
      runSplit(
        'cholesky.panel',
        big ? [L, n, j, split, n] : undefined,
        () => choleskyPanelRows(L, n, j, j, big ? split : n),
        () => {
          if (big) choleskyPanelRows(L, n, j, split, n);
        },
      );
    }
    // The panel's diagonal block, then the rows below it (O(n·16) per panel).
    for (let q = 0; q < w; q++) {
      const cq = j + q;
      const rq = cq * n;
      let d = L[rq + cq]!;
      for (let t = j; t < cq; t++) d -= L[rq + t]! * L[rq + t]!;
      if (!(d > pivotFloor)) return false;
      const lqq = Math.sqrt(d);
      L[rq + cq] = lqq;
      for (let i = cq + 1; i < n; i++) {
        const ri = i * n;
        let s = L[ri + cq]!;
        for (let t = j; t < cq; t++) s -= L[ri + t]! * L[rq + t]!;
        L[ri + cq] = s / lqq;
      }
    }
  }
  return true;
}

/** X = (L⁻¹)ᵀ (n×n, upper triangular, row-major) of a lower-triangular f64 factor in shared memory. */
/** The wasm memory and kernels for L when L lives in one (n % 4 = 0) with `after` free bytes after it. */
function wasmFor(L: Float64Array, n: number, after: number): { memory: WebAssembly.Memory; module: WebAssembly.Module } | undefined {
  const memory = memoryOf(L);
  const module = exactKernelsModule();
  if (!memory || !module || n % 4 !== 0 || L.byteOffset % 8 !== 0) return undefined;
  if (L.byteOffset + n * n * 8 + after > memory.buffer.byteLength) return undefined;
  return { memory, module };
}

export function inverseFactorTranspose(L: Float64Array, n: number): Float64Array {
  const wasm = wasmFor(L, n, n * n * 8);
  if (wasm) {
    const { memory, module } = wasm;
    const x = L.byteOffset + n * n * 8;
    const X = new Float64Array(memory.buffer, x, n * n);
    X.fill(0); // the memory may come from the pool
    const split = Math.min(n, 4 * Math.round((n * (1 - 2 ** (-1 / 3))) / 4));
    const big = (n * n * n) / 6 >= 2 * SPLIT_MIN_WORK && split > 0 && split < n;
    const l = L.byteOffset;
    runSplit(
      'wasm.inverseColumns',
      big ? [memory, module, x, l, n, split, n] : undefined,
      () => inverseColumnsWasm(memory, module, x, l, n, 0, big ? split : n),
      () => {
        if (big) inverseColumnsWasm(memory, module, x, l, n, split, n);
      },
    );
    return X;
  }
  const X = new Float64Array(new SharedArrayBuffer(n * n * 8));
  // Column c costs ≈ (n − c)²/2: the first n·(1 − 2^(−1/3)) columns are half the work. (An L not in
  // shared memory would be copied to the helper: it stays on this thread.)
  const split = Math.min(n, 4 * Math.round((n * (1 - 2 ** (-1 / 3))) / 4));
  const big = isShared(L) && (n * n * n) / 6 >= 2 * SPLIT_MIN_WORK && split > 0 && split < n;
  runSplit(
    'cholesky.inverse',
    big ? [X, L, n, split, n] : undefined,
    () => inverseFactorColumns(X, L, n, 0, big ? split : n),
    () => {
      if (big) inverseFactorColumns(X, L, n, split, n);
    },
  );
  return X;
}
