import { describe, expect, it } from 'vitest';
import { qrThin } from '../../../src/linalg/qr.ts';
import { fromRows, matmul } from '../../../src/tensor/matrix.ts';
import { maxAbsDiff, orthonormalityError, randomMat } from './helpers.ts';

describe('qrThin (Householder, f64)', () => {
  it('factors a tall 40×7 Gaussian matrix: ‖QR − M‖∞ < 1e-13, ‖QᵀQ − I‖∞ < 1e-14, R upper with R_jj ≥ 0', () => {
    const M = randomMat(40, 7, 1);
    const { Q, R } = qrThin(M);
    expect([Q.rows, Q.cols, R.rows, R.cols]).toEqual([40, 7, 7, 7]);
    expect(maxAbsDiff(matmul(Q, R), M)).toBeLessThan(1e-13);
    expect(orthonormalityError(Q)).toBeLessThan(1e-14);
    for (let i = 0; i < 7; i++) {
      expect(R.data[i * 7 + i]).toBeGreaterThanOrEqual(0);
      for (let j = 0; j < i; j++) expect(R.data[i * 7 + j]).toBe(0);
    }
  });

  it('factors a wide 3×5 matrix into 3×3 Q and 3×5 R', () => {
    const M = randomMat(3, 5, 2);
    const { Q, R } = qrThin(M);
    expect([Q.rows, Q.cols, R.rows, R.cols]).toEqual([3, 3, 3, 5]);
    expect(maxAbsDiff(matmul(Q, R), M)).toBeLessThan(1e-14);
    expect(orthonormalityError(Q)).toBeLessThan(1e-14);
  });

  it('keeps Q orthonormal for a rank-deficient matrix with a zero column', () => {
    const M = fromRows([
      [1, 0, 2],
      [2, 0, 4],
      [3, 0, 6],
      [4, 0, 8.5],
    ]);
    const { Q, R } = qrThin(M);
    expect(maxAbsDiff(matmul(Q, R), M)).toBeLessThan(1e-13);
    expect(orthonormalityError(Q)).toBeLessThan(1e-14);
    expect(Math.abs(R.data[1 * 3 + 1]!)).toBe(0);
  });

  it('matches the hand-computed QR of [[3,1],[4,2]]: R = [[5, 2.2],[0, 0.4]]', () => {
    const { Q, R } = qrThin(fromRows([[3, 1], [4, 2]]));
    expect(maxAbsDiff(R, fromRows([[5, 2.2], [0, 0.4]]))).toBeLessThan(1e-14);
    expect(maxAbsDiff(Q, fromRows([[0.6, -0.8], [0.8, 0.6]]))).toBeLessThan(1e-14);
  });
});
