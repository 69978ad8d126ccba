// The blocked f64 kernel against the plain i-k-j product, at shapes that cross its
// 128-deep and 256-wide blocks and leave remainders of the 4-way unrolling.
import { describe, expect, it } from 'vitest';
import { tsGemm } from '../../../src/compute/ts-gemm.ts';
import { float32ToMat, matToFloat32 } from '../../../src/compute/float32.ts';
import { matmul, transpose } from '../../../src/tensor/matrix.ts';
import type { Mat } from '../../../src/tensor/matrix.ts';
import { randomMat } from '../../helpers/random-mat.ts';

function maxAbsDiff(x: Mat, y: Mat): number {
  expect([x.rows, x.cols]).toEqual([y.rows, y.cols]);
  let worst = 0;
  for (let i = 0; i < x.data.length; i++) worst = Math.max(worst, Math.abs(x.data[i]! - y.data[i]!));
  return worst;
}

describe('pure-TS GEMM', () => {
  it.each([
    [3, 131, 261],
    [9, 257, 5],
    [1, 1, 1],
    [6, 4, 513],
  ])('matches the i-k-j product for %i×%i·%i×… with every transpose combination', (m, k, n) => {
    const A = randomMat(m, k, m + k);
    const B = randomMat(k, n, k + n);
    const ref = matmul(A, B);
    // Sums of k products of N(0,1) values: f64 rounding stays below k·2⁻⁵³·max|term| ≈ 1e-13 here.
    const tol = 64 * k * 2 ** -53 * 16;
    expect(maxAbsDiff(tsGemm(A, B), ref)).toBeLessThan(tol);
    expect(maxAbsDiff(tsGemm(transpose(A), B, true, false), ref)).toBeLessThan(tol);
    expect(maxAbsDiff(tsGemm(A, transpose(B), false, true), ref)).toBeLessThan(tol);
    expect(maxAbsDiff(tsGemm(transpose(A), transpose(B), true, true), ref)).toBeLessThan(tol);
  });
});

describe('f32 conversions', () => {
  it('round to nearest f32 and widen back exactly', () => {
    const m: Mat = { rows: 1, cols: 3, data: Float64Array.from([1 / 3, 2 ** 30 + 1, -0.1]) };
    const f = matToFloat32(m);
    expect(Array.from(f)).toEqual([Math.fround(1 / 3), Math.fround(2 ** 30 + 1), Math.fround(-0.1)]);
    const back = float32ToMat(1, 3, f);
    expect(Array.from(back.data)).toEqual(Array.from(f));
  });
});
