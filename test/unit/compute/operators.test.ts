// The TypeScript operators that need no backend: s·B·A and sums of operators.
import { describe, expect, it } from 'vitest';
import { lowRankOperator } from '../../../src/compute/low-rank-operator.ts';
import { sumOperator } from '../../../src/compute/sum-operator.ts';
import { fromRows } from '../../../src/tensor/matrix.ts';

describe('low-rank operator', () => {
  it('applies the hand-checkable 2·[1;2]·[3 4] to the identity', async () => {
    // s·B·A = 2·[[3, 4], [6, 8]] = [[6, 8], [12, 16]].
    const op = lowRankOperator(fromRows([[1], [2]]), fromRows([[3, 4]]), 2);
    expect([op.rows, op.cols]).toEqual([2, 2]);
    const eye = fromRows([
      [1, 0],
      [0, 1],
    ]);
    expect(Array.from((await op.apply(eye)).data)).toEqual([6, 8, 12, 16]);
    expect(Array.from((await op.applyTranspose(eye)).data)).toEqual([6, 12, 8, 16]);
  });

  it('rejects B and A whose ranks differ', () => {
    expect(() => lowRankOperator(fromRows([[1, 2]]), fromRows([[3, 4]]), 1)).toThrow(expect.objectContaining({ code: 'LINALG_SHAPE_MISMATCH' }));
  });

  it('rejects an operand with the wrong number of rows', async () => {
    const op = lowRankOperator(fromRows([[1], [2]]), fromRows([[3, 4, 5]]), 1);
    await expect(op.apply(fromRows([[1], [2]]))).rejects.toMatchObject({ code: 'LINALG_SHAPE_MISMATCH' });
  });
});

describe('sum operator', () => {
  it('adds the products of its terms', async () => {
    const op = sumOperator(lowRankOperator(fromRows([[1], [0]]), fromRows([[1, 1]]), 1), lowRankOperator(fromRows([[0], [1]]), fromRows([[2, 0]]), 3));
    // [[1, 1], [0, 0]] + [[0, 0], [6, 0]] applied to [1; 1] = [2; 6].
    expect(Array.from((await op.apply(fromRows([[1], [1]]))).data)).toEqual([2, 6]);
    expect(Array.from((await op.applyTranspose(fromRows([[1], [1]]))).data)).toEqual([7, 1]);
  });

  it('refuses terms of different shapes and an empty sum', () => {
    const a = lowRankOperator(fromRows([[1], [0]]), fromRows([[1, 1]]), 1);
    const b = lowRankOperator(fromRows([[1]]), fromRows([[1, 1]]), 1);
    expect(() => sumOperator(a, b)).toThrow(expect.objectContaining({ code: 'LINALG_SHAPE_MISMATCH' }));
    expect(() => sumOperator()).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('disposes every term it owns', () => {
    let disposed = 0;
    const term = { rows: 1, cols: 1, apply: async () => fromRows([[0]]), applyTranspose: async () => fromRows([[0]]), dispose: () => void disposed++ };
    sumOperator(term, term).dispose?.();
    expect(disposed).toBe(2);
  });
});
