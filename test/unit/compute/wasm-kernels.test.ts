// The WebAssembly kernels: hand-checked cases, products against tsGemm across the shapes the kernels
// pad or decline, and the committed bytes equal a fresh compile of the .wat source (a stale
// generated module would silently run old code).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { memoryOf, wasmGramLower } from '../../../src/compute/wasm-kernels.ts';
import { exactDenseOperator, releaseExactCopies } from '../../../src/compute/exact-dense-operator.ts';
import { tsGemm } from '../../../src/compute/ts-gemm.ts';
import { createRng } from '../../../src/util/rng.ts';
import type { Mat } from '../../../src/tensor/matrix.ts';

function randomF32Mat(rows: number, cols: number, seed: number): Mat {
  const rng = createRng(seed);
  return { rows, cols, data: Float64Array.from({ length: rows * cols }, () => Math.fround(rng.normal())) };
}

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('WebAssembly Gram kernel', () => {
  it('computes WᵀW of a 2×4 matrix by hand: G[0][0] = 1 + 25, G[1][0] = 2 + 30, G[3][2] = 12 + 56, G[3][3] = 16 + 64', () => {
    const W = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]); // 2×4, row-major
    const gram = wasmGramLower(2, 4, (Wt: Float32Array) => {
      for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) Wt[j * 2 + i] = W[i * 4 + j]!;
    });
    expect(gram).toBeDefined();
    const G = gram!.G;
    expect(G[0]).toBe(26);
    expect(G[4]).toBe(32);
    expect(G[5]).toBe(40); // 4 + 36
    expect(G[3 * 4 + 2]).toBe(68);
    expect(G[3 * 4 + 3]).toBe(80);
    expect(Array.from(gram!.Wt)).toEqual([1, 5, 2, 6, 3, 7, 4, 8]);
  });

  it('declines shapes the kernel does not cover (n not a multiple of 4, odd m), leaving them to the JS kernel', () => {
    expect(wasmGramLower(2, 6, () => {})).toBeUndefined();
    expect(wasmGramLower(3, 4, () => {})).toBeUndefined();
  });

  it('W·X and Wᵀ·Y equal tsGemm for 1–20 columns (padding to 4, groups of 16), odd row counts, odd widths left to JS', async () => {
    for (const [rows, cols] of [[38, 30], [37, 30], [30, 37]] as const) {
      const W = randomF32Mat(rows, cols, rows + cols);
      const op = exactDenseOperator(rows, cols, W.data);
      for (const b of [1, 3, 4, 7, 16, 17, 20]) {
        const X = randomF32Mat(cols, b, b);
        const Y = randomF32Mat(rows, b, 100 + b);
        const got = await op.apply(X);
        const want = tsGemm(W, X);
        got.data.forEach((v, i) => expect(Math.abs(v - want.data[i]!), `${rows}×${cols} b=${b}`).toBeLessThan(1e-11));
        const gotT = await op.applyTranspose(Y);
        const wantT = tsGemm(W, Y, true, false);
        gotT.data.forEach((v, i) => expect(Math.abs(v - wantT.data[i]!), `${rows}×${cols}ᵀ b=${b}`).toBeLessThan(1e-11));
      }
      releaseExactCopies(W.data);
    }
  });

  it('keeps a stored base in a wasm memory, so the products run in WebAssembly', () => {
    const W = randomF32Mat(8, 6, 1);
    const copies: Float32Array[] = [];
    // The compact copy is internal; Gram's transposed copy shows where such copies live.
    const gram = wasmGramLower(8, 4, (Wt: Float32Array) => {
      copies.push(Wt);
      Wt.fill(1);
    });
    expect(memoryOf(copies[0]!)).toBeDefined();
    expect(gram!.G[0]).toBe(8); // Σ of eight 1·1
    expect(W.rows).toBe(8);
  });

  it('the committed kernel bytes are what the .wat source compiles to', () => {
    // Exits 1 and names the stale file otherwise.
    expect(() => execFileSync(process.execPath, ['scripts/build-wasm-kernels.mjs', '--check'], { cwd: root, stdio: 'pipe' })).not.toThrow();
  });
});
