import { describe, expect, it } from 'vitest';
import { svdSmall } from '../../../src/linalg/svd-small.ts';
import { eighSymmetric } from '../../../src/linalg/eigh.ts';
import { fromRows, matmul, transpose, zeros } from '../../../src/tensor/matrix.ts';
import { maxAbsDiff, orthonormalityError, randomMat, reconstruct } from './helpers.ts';

describe('svdSmall (QR + one-sided Jacobi)', () => {
  it('gives σ(diag(3,−2)) = [3, 2] with a sign-fixed U', () => {
    const { U, S, Vt } = svdSmall(fromRows([[3, 0], [0, -2]]));
    expect(Array.from(S)).toEqual([3, 2]);
    expect(maxAbsDiff(reconstruct(U, S, Vt), fromRows([[3, 0], [0, -2]]))).toBeLessThan(1e-15);
    expect(U.data[0]).toBeGreaterThan(0);
    expect(U.data[3]).toBeGreaterThan(0);
  });

  it('reproduces A4: σ([[3,0,0],[0,2,1]]) = [3, √5] (wide input, transposed internally)', () => {
    const M = fromRows([[3, 0, 0], [0, 2, 1]]);
    const { U, S, Vt } = svdSmall(M);
    expect(S[0]).toBeCloseTo(3, 14);
    expect(S[1]).toBeCloseTo(Math.sqrt(5), 14);
    expect([U.rows, U.cols, Vt.rows, Vt.cols]).toEqual([2, 2, 2, 3]);
    expect(maxAbsDiff(reconstruct(U, S, Vt), M)).toBeLessThan(1e-14);
  });

  it('handles tall, wide and square Gaussian matrices: reconstruction < 1e-12, orthonormal factors < 1e-13', () => {
    for (const [m, n, seed] of [[30, 12, 3], [12, 30, 4], [25, 25, 5]] as const) {
      const M = randomMat(m, n, seed);
      const { U, S, Vt } = svdSmall(M);
      const k = Math.min(m, n);
      expect(S.length).toBe(k);
      for (let j = 1; j < k; j++) expect(S[j]).toBeLessThanOrEqual(S[j - 1]!);
      expect(maxAbsDiff(reconstruct(U, S, Vt), M)).toBeLessThan(1e-12);
      expect(orthonormalityError(U)).toBeLessThan(1e-13);
      expect(orthonormalityError(transpose(Vt))).toBeLessThan(1e-13);
    }
  });

  it('returns exact zeros and still-orthonormal U, V for the zero matrix and a rank-2 10×6 matrix', () => {
    const Z = svdSmall(zeros(5, 3));
    expect(Array.from(Z.S)).toEqual([0, 0, 0]);
    expect(orthonormalityError(Z.U)).toBeLessThan(1e-15);
    expect(orthonormalityError(transpose(Z.Vt))).toBeLessThan(1e-15);
    const M = matmul(randomMat(10, 2, 6), randomMat(2, 6, 7));
    const { U, S, Vt } = svdSmall(M);
    expect(S[2]! / S[0]!).toBeLessThan(1e-14);
    expect(orthonormalityError(U)).toBeLessThan(1e-13);
    expect(orthonormalityError(transpose(Vt))).toBeLessThan(1e-13);
    expect(maxAbsDiff(reconstruct(U, S, Vt), M)).toBeLessThan(1e-13);
  });

  it('refuses NaN input with LINALG_NONFINITE', () => {
    expect(() => svdSmall(fromRows([[1, Number.NaN]]))).toThrow(expect.objectContaining({ code: 'LINALG_NONFINITE' }));
  });
});

describe('eighSymmetric (cyclic Jacobi)', () => {
  it('gives eigenvalues [3, 1] of [[2,1],[1,2]] with vectors ±[1,1]/√2, ±[1,−1]/√2', () => {
    const { values, vectors } = eighSymmetric(fromRows([[2, 1], [1, 2]]));
    expect(values[0]).toBeCloseTo(3, 14);
    expect(values[1]).toBeCloseTo(1, 14);
    expect(Math.abs(vectors.data[0]!)).toBeCloseTo(Math.SQRT1_2, 14);
    expect(vectors.data[0]! * vectors.data[2]!).toBeCloseTo(0.5, 14);
    expect(vectors.data[1]! * vectors.data[3]!).toBeCloseTo(-0.5, 14);
  });

  it('decomposes a 20×20 symmetric indefinite matrix: ‖VΛVᵀ − M‖∞ < 1e-12, descending values', () => {
    const X = randomMat(20, 20, 8);
    const M = matmul(X, transpose(X));
    for (let i = 0; i < 20; i++) M.data[i * 20 + i]! -= 20;
    const { values, vectors } = eighSymmetric(M);
    for (let j = 1; j < 20; j++) expect(values[j]).toBeLessThanOrEqual(values[j - 1]!);
    expect(values[19]).toBeLessThan(0);
    expect(orthonormalityError(vectors)).toBeLessThan(1e-13);
    const vl = zeros(20, 20);
    for (let i = 0; i < 20; i++) for (let j = 0; j < 20; j++) vl.data[i * 20 + j] = vectors.data[i * 20 + j]! * values[j]!;
    expect(maxAbsDiff(matmul(vl, transpose(vectors)), M)).toBeLessThan(1e-11);
  });
});
