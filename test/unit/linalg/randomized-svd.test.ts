import { describe, expect, it } from 'vitest';
import { defaultTripletTolerance, randomizedSvd, topSingularTriplets } from '../../../src/linalg/randomized-svd.ts';
import { matOperator } from '../../../src/linalg/mat-operator.ts';
import { lowRankSvd } from '../../../src/linalg/low-rank-svd.ts';
import { svdSmall } from '../../../src/linalg/svd-small.ts';
import { qrThin } from '../../../src/linalg/qr.ts';
import { fromRows, matmul, transpose, zeros } from '../../../src/tensor/matrix.ts';
import type { Mat } from '../../../src/tensor/matrix.ts';
import type { LinearOperator } from '../../../src/linalg/operator.ts';
import { maxAbsDiff, orthonormalityError, randomMat } from './helpers.ts';

/** U·diag(σ)·Vᵀ with random orthonormal U (m×p), V (n×p) and the given spectrum. */
function withSpectrum(m: number, n: number, sigma: readonly number[], seed: number): Mat {
  const p = sigma.length;
  const U = qrThin(randomMat(m, p, seed)).Q;
  const V = qrThin(randomMat(n, p, seed + 1)).Q;
  const us = zeros(m, p);
  for (let i = 0; i < m; i++) for (let j = 0; j < p; j++) us.data[i * p + j] = U.data[i * p + j]! * sigma[j]!;
  return matmul(us, transpose(V));
}

function countingOperator(op: LinearOperator): LinearOperator & { products: number } {
  const counted = {
    rows: op.rows,
    cols: op.cols,
    products: 0,
    apply: async (x: Mat) => {
      counted.products++;
      return op.apply(x);
    },
    applyTranspose: async (y: Mat) => {
      counted.products++;
      return op.applyTranspose(y);
    },
  };
  return counted;
}

describe('randomizedSvd (Halko, re-orthonormalised power iterations)', () => {
  const sigma = Array.from({ length: 60 }, (_, j) => 100 * Math.pow(0.8, j));
  const M = withSpectrum(80, 70, sigma, 40);

  it('recovers the top 8 values of a 0.8^j spectrum to 1e-9 relative with 2 power iterations, in 2q+2 = 6 products', async () => {
    const op = countingOperator(matOperator(M));
    const { U, S, Vt } = await randomizedSvd(op, { rank: 8, seed: 7 });
    expect(op.products).toBe(6);
    expect(S.length).toBe(8);
    for (let j = 0; j < 8; j++) expect(Math.abs(S[j]! - sigma[j]!) / sigma[j]!).toBeLessThan(1e-9);
    expect(orthonormalityError(U)).toBeLessThan(1e-13);
    expect(orthonormalityError(transpose(Vt))).toBeLessThan(1e-13);
  });

  it('is reproducible for a seed and differs in its sketch for another seed', async () => {
    const a = await randomizedSvd(matOperator(M), { rank: 4, seed: 1, powerIterations: 0 });
    const b = await randomizedSvd(matOperator(M), { rank: 4, seed: 1, powerIterations: 0 });
    const c = await randomizedSvd(matOperator(M), { rank: 4, seed: 2, powerIterations: 0 });
    expect(Array.from(a.S)).toEqual(Array.from(b.S));
    expect(Array.from(a.S)).not.toEqual(Array.from(c.S));
  });

  it('is exact (to 1e-12) on a rank-3 operator: the sketch spans the whole range', async () => {
    const B = randomMat(30, 3, 50);
    const A = randomMat(3, 25, 51);
    const exact = lowRankSvd([{ B, A, weight: 1 }]);
    const got = await randomizedSvd(matOperator(matmul(B, A)), { rank: 3, powerIterations: 0, seed: 3 });
    for (let j = 0; j < 3; j++) expect(Math.abs(got.S[j]! - exact.S[j]!)).toBeLessThan(1e-12 * exact.S[0]!);
    // Same sign convention on both paths, so the vectors agree entry by entry.
    expect(maxAbsDiff(got.U, exact.U)).toBeLessThan(1e-10);
  });

  it('refuses rank 0 with INVALID_ARGUMENT', async () => {
    await expect(randomizedSvd(matOperator(M), { rank: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('stops with ABORTED when the signal has fired', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(randomizedSvd(matOperator(M), { rank: 2, signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('topSingularTriplets (iterate until the top-k values stabilise, then certify)', () => {
  it('A12: σ(W0 + ΔW) for W0 = diag(4,3,2,1), ΔW = 2.5·ones → [12.62444, 3.57604, 2.45533, 1.34420], top u = ±[0.57616, 0.51630, 0.46770, 0.42747]', async () => {
    const M = fromRows([
      [6.5, 2.5, 2.5, 2.5],
      [2.5, 5.5, 2.5, 2.5],
      [2.5, 2.5, 4.5, 2.5],
      [2.5, 2.5, 2.5, 3.5],
    ]);
    const top = await topSingularTriplets(matOperator(M), 2, { seed: 1 });
    expect(top.S[0]).toBeCloseTo(12.62444, 5);
    expect(top.S[1]).toBeCloseTo(3.57604, 5);
    const u0 = [0, 1, 2, 3].map((i) => top.U.data[i * 2]!);
    [0.57616, 0.5163, 0.4677, 0.42747].forEach((v, i) => expect(u0[i]).toBeCloseTo(v, 5));
  });

  it('converges on a slowly decaying spectrum (gap 1%) and certifies residuals ≤ 1e-3·σ1 at tolerance 1e-9 (vector error ~ √(tol/gap))', async () => {
    const sigma = Array.from({ length: 50 }, (_, j) => 10 * Math.pow(0.99, j));
    const M = withSpectrum(60, 60, sigma, 60);
    const top = await topSingularTriplets(matOperator(M), 5, { seed: 4, tolerance: 1e-9, maxPowerIterations: 200 });
    expect(top.converged).toBe(true);
    for (let j = 0; j < 5; j++) expect(Math.abs(top.S[j]! - sigma[j]!) / sigma[0]!).toBeLessThan(1e-7);
    for (const r of top.residuals) expect(r).toBeLessThan(1e-3);
    const dense = svdSmall(M);
    expect(Math.abs(top.S[4]! - dense.S[4]!)).toBeLessThan(1e-7 * dense.S[0]!);
  });

  it('reports converged = false when the iteration cap is reached first', async () => {
    const sigma = Array.from({ length: 50 }, (_, j) => 10 * Math.pow(0.999, j));
    const M = withSpectrum(60, 60, sigma, 70);
    const top = await topSingularTriplets(matOperator(M), 5, { seed: 4, tolerance: 1e-15, maxPowerIterations: 4 });
    expect(top.converged).toBe(false);
    expect(top.iterations).toBe(4);
  });
});

describe('defaultTripletTolerance', () => {
  it('is 16·√max(m,n)·eps, floored at 1e-10: 6.1e-5 for f32 at 4096, 1e-10 for f64', () => {
    const big = { rows: 4096, cols: 4096, apply: async (x: Mat) => x, applyTranspose: async (y: Mat) => y };
    expect(defaultTripletTolerance(big, 2 ** -24)).toBeCloseTo(16 * 64 * 2 ** -24, 18);
    expect(defaultTripletTolerance(big, 2 ** -53)).toBe(1e-10);
  });
});
