// rowMajorOperator agrees with explicit products M·X and Mᵀ·Y (1e-12).
import { describe, expect, it } from 'vitest';
import { rowMajorOperator } from '../../../src/merge/kernels/row-major-operator.ts';
import { matmul, toRows, transpose } from '../../../src/tensor/matrix.ts';
import { maxAbsDiff, randomMat } from './helpers.ts';

describe('rowMajorOperator', () => {
  it('computes M·X and Mᵀ·Y without forming Mᵀ', async () => {
    const M = randomMat(7, 5, 1);
    M.data[3] = 0;
    const X = randomMat(5, 3, 2);
    const Y = randomMat(7, 4, 3);
    const op = rowMajorOperator(M);
    expect(maxAbsDiff(toRows(await op.apply(X)), toRows(matmul(M, X)))).toBeLessThan(1e-12);
    expect(maxAbsDiff(toRows(await op.applyTranspose(Y)), toRows(matmul(transpose(M), Y)))).toBeLessThan(1e-12);
  });
});
