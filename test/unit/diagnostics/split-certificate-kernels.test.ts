// The tall-module certificate's O(m·n²) and O(n³) kernels (Gram, Cholesky, inverse factor) and the
// exact products, split between the calling thread and the split helper: each against an independent
// result, and bit-identical with the helper off (AWB_SPLIT_HELPER=0), so a report never depends on
// whether a second thread ran. Also: the range projector's disk cache survives a new process and
// refuses damaged or foreign entries.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { drainExactPool, exactDenseOperator, exactGramLower, exactPoolBytes, releaseExactCopies } from '../../../src/compute/exact-dense-operator.ts';
import { splitHelperStats, stopSplitHelper } from '../../../src/compute/split-helper.ts';
import { choleskyInPlace, inverseFactorTranspose } from '../../../src/diagnostics/cholesky-inverse.ts';
import { computeRangeProjector } from '../../../src/diagnostics/range-projection.ts';
import { diskBasisCache } from '../../../src/diagnostics/base-basis.ts';
import { tsGemm } from '../../../src/compute/ts-gemm.ts';
import { memoryOf, newWasmBuffer, wasmMemoryBytes } from '../../../src/compute/wasm-kernels.ts';
import { createRng } from '../../../src/util/rng.ts';
import type { Mat } from '../../../src/tensor/matrix.ts';

const dirs: string[] = [];
afterAll(async () => {
  await stopSplitHelper();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function randomF32Mat(rows: number, cols: number, seed: number): Mat {
  const rng = createRng(seed);
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, () => Math.fround(rng.normal())) };
}

/** Runs `f` with the split helper off (everything on the calling thread). */
function withoutHelper<T>(f: () => T): T {
  const before = process.env.AWB_SPLIT_HELPER;
  process.env.AWB_SPLIT_HELPER = '0';
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env.AWB_SPLIT_HELPER;
    else process.env.AWB_SPLIT_HELPER = before;
  }
}

/** A random symmetric positive definite n×n matrix in shared memory: diagonal n + 2, entries in (−1, 1). */
function spd(n: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const G = new Float64Array(new SharedArrayBuffer(n * n * 8));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const v = 2 * rng.next() - 1;
      G[i * n + j] = v;
      G[j * n + i] = v;
    }
    G[i * n + i] = n + 2;
  }
  return G;
}

describe('split certificate kernels', () => {
  // 601×130: the JS kernel (130 is not a multiple of 4); 600×128: the WebAssembly SIMD kernel.
  it.each([
    [601, 130],
    [600, 128],
  ])('the Gram lower triangle of a %i×%i matrix equals tsGemm, and the helper computes its rows to the same bits', (rows, cols) => {
    const W = randomF32Mat(rows, cols, 1); // above the split threshold
    const before = splitHelperStats().helperJobs;
    const G = exactGramLower(W.rows, W.cols, W.data);
    expect(splitHelperStats().helperJobs).toBeGreaterThan(before);
    const copy = W.data.slice(); // a new array: no cached copies carry over
    const alone = withoutHelper(() => exactGramLower(W.rows, W.cols, copy));
    const want = tsGemm(W, W, true, false);
    const n = W.cols;
    let differing = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        if (!Object.is(G[i * n + j], alone[i * n + j])) differing++;
        expect(Math.abs(G[i * n + j]! - want.data[i * n + j]!)).toBeLessThan(1e-10 * (1 + Math.abs(want.data[i * n + j]!)));
      }
    }
    expect(differing).toBe(0);
  });

  it('the WebAssembly Gram leaves a transposed copy the exact operator then uses for Wᵀ·Y', async () => {
    const W = randomF32Mat(200, 64, 21);
    const Y = randomF32Mat(200, 3, 22);
    drainExactPool();
    exactGramLower(W.rows, W.cols, W.data);
    const got = await exactDenseOperator(W.rows, W.cols, W.data).applyTranspose(Y);
    const want = tsGemm(W, Y, true, false);
    got.data.forEach((v, i) => expect(Math.abs(v - want.data[i]!)).toBeLessThan(1e-10));
    // Released: the f32 copy of W and the Gram's memory (Wᵀ, scratch, G: more than both matrices) go to the pool.
    releaseExactCopies(W.data);
    expect(exactPoolBytes()).toBeGreaterThan(200 * 64 * 4 * 2 + 64 * 64 * 8);
    drainExactPool();
  });

  it('split exact products W·X and Wᵀ·Y equal the single-thread ones bit for bit, and tsGemm to rounding', async () => {
    const W = randomF32Mat(1030, 520, 2);
    const X = randomF32Mat(520, 9, 3);
    const Y = randomF32Mat(1030, 9, 4);
    const op = exactDenseOperator(W.rows, W.cols, W.data);
    const before = splitHelperStats().helperJobs;
    const got = await op.apply(X);
    const gotT = await op.applyTranspose(Y);
    expect(splitHelperStats().helperJobs).toBeGreaterThanOrEqual(before + 2);
    const copy = { ...W, data: W.data.slice() }; // a new source array: its own compact copy
    const alone = await withoutHelper(() => {
      const op2 = exactDenseOperator(copy.rows, copy.cols, copy.data);
      return Promise.all([op2.apply(X), op2.applyTranspose(Y)]);
    });
    expect(Array.from(got.data)).toEqual(Array.from(alone[0].data));
    expect(Array.from(gotT.data)).toEqual(Array.from(alone[1].data));
    const want = tsGemm(W, X);
    got.data.forEach((v, i) => expect(Math.abs(v - want.data[i]!)).toBeLessThan(1e-10));
  });

  // 'wasm': G in a wasm memory with room for the inverse after it (as the WebAssembly Gram leaves
  // it), so the WebAssembly kernels run; 'js': a plain shared buffer, the JS kernels.
  it.each(['js', 'wasm'] as const)('Cholesky and inverse factor (%s): L·Lᵀ = G and L·(L⁻¹) = I to rounding, same bits with the helper off', (kind) => {
    const n = 2052; // panels past j ≈ 600 are split; a multiple of 4, not of 8
    const G = spd(n, 5);
    const trace = n * (n + 2);
    const place = (): Float64Array => {
      const buffer = kind === 'wasm' ? newWasmBuffer(wasmMemoryBytes(2 * n * n * 8)!)! : new SharedArrayBuffer(G.byteLength);
      const view = new Float64Array(buffer, 0, n * n);
      view.set(G);
      return view;
    };
    const L = place();
    expect(memoryOf(L) !== undefined).toBe(kind === 'wasm');
    const before = splitHelperStats().helperJobs;
    expect(choleskyInPlace(L, n, trace)).toBe(true);
    const X = inverseFactorTranspose(L, n);
    expect(splitHelperStats().helperJobs).toBeGreaterThan(before + 10);
    const L2 = place();
    const X2 = withoutHelper(() => {
      expect(choleskyInPlace(L2, n, trace)).toBe(true);
      return inverseFactorTranspose(L2, n);
    });
    let differing = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) if (!Object.is(L[i * n + j], L2[i * n + j])) differing++;
    }
    expect(differing).toBe(0);
    expect(X.every((v, i) => v === X2[i])).toBe(true);
    const rng = createRng(9);
    for (let trial = 0; trial < 200; trial++) {
      const i = rng.int(n);
      const j = rng.int(i + 1);
      // (L·Lᵀ)_ij = Σ_{k ≤ j} L_ik·L_jk.
      let s = 0;
      for (let k = 0; k <= j; k++) s += L[i * n + k]! * L[j * n + k]!;
      expect(Math.abs(s - G[i * n + j]!)).toBeLessThan(1e-12 * trace / n);
      // (L·L⁻¹)_ij = Σ_{j ≤ k ≤ i} L_ik·X_jk with X = (L⁻¹)ᵀ.
      let e = 0;
      for (let k = j; k <= i; k++) e += L[i * n + k]! * X[j * n + k]!;
      expect(Math.abs(e - (i === j ? 1 : 0))).toBeLessThan(1e-12);
    }
  });

  it('an operator built after another was released reuses its memory and still computes its own product', async () => {
    const first = randomF32Mat(300, 200, 11);
    const second = randomF32Mat(300, 200, 12);
    const X = randomF32Mat(200, 3, 13);
    const Y = randomF32Mat(300, 3, 14);
    const op1 = exactDenseOperator(first.rows, first.cols, first.data);
    await op1.applyTranspose(Y); // builds the transposed copy too
    drainExactPool();
    releaseExactCopies(first.data);
    // The f32 copy and its transpose (page-rounded wasm memories with product scratch, or exact-size buffers).
    expect(exactPoolBytes()).toBeGreaterThanOrEqual(2 * 300 * 200 * 4);
    const op2 = exactDenseOperator(second.rows, second.cols, second.data);
    const got = await op2.apply(X);
    const gotT = await op2.applyTranspose(Y);
    const want = tsGemm(second, X);
    const wantT = tsGemm(second, Y, true, false);
    got.data.forEach((v, i) => expect(Math.abs(v - want.data[i]!)).toBeLessThan(1e-10));
    gotT.data.forEach((v, i) => expect(Math.abs(v - wantT.data[i]!)).toBeLessThan(1e-10));
    // The released array gets fresh copies again, not the reused ones.
    const again = await exactDenseOperator(first.rows, first.cols, first.data).apply(X);
    const wantFirst = tsGemm(first, X);
    again.data.forEach((v, i) => expect(Math.abs(v - wantFirst.data[i]!)).toBeLessThan(1e-10));
    drainExactPool();
    expect(exactPoolBytes()).toBe(0);
  });

  it('refuses a singular Gram matrix (a zero pivot) instead of returning a factor', () => {
    const n = 12;
    const L = new Float64Array(new SharedArrayBuffer(n * n * 8));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) L[i * n + j] = 1; // rank one
    expect(choleskyInPlace(L, n, n)).toBe(false);
  });
});

describe('range projector disk cache', () => {
  it('a new cache on the same folder returns the same projector; damaged or foreign entries are refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'awb-range-cache-'));
    dirs.push(dir);
    const state = computeRangeProjector(randomF32Mat(90, 40, 6))!;
    expect(state.inverseFactor).toHaveLength((40 * 41) / 2);
    await diskBasisCache(dir).putProjector('abc-N', state);
    const back = await diskBasisCache(dir).getProjector('abc-N');
    expect(back).toEqual(state);
    expect(await diskBasisCache(dir).getProjector('other-N')).toBeUndefined();
    const file = (await readdir(dir)).find((f) => f.endsWith('.range.safetensors'))!;
    await writeFile(join(dir, file), new Uint8Array([1, 2, 3]));
    expect(await diskBasisCache(dir).getProjector('abc-N')).toBeUndefined();
  });
});
