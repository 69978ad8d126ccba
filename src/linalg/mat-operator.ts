// A dense f64 Mat seen as a LinearOperator, in pure TypeScript: the oracle for
// randomized-SVD tests and the path for small matrices. Large matrices go
// through src/compute's backend-resident dense operator instead.
import { WorkbenchError } from '../errors.ts';
import { matmul, transpose } from '../tensor/matrix.ts';
import type { Mat } from '../tensor/matrix.ts';
import type { LinearOperator } from './operator.ts';

/** M is held by reference; Mᵀ is formed once, on the first transposed product. */
export function matOperator(M: Mat): LinearOperator {
  let Mt: Mat | undefined;
  const check = (expected: number, x: Mat, what: string): void => {
    if (x.rows !== expected) {
      throw new WorkbenchError('LINALG_SHAPE_MISMATCH', `${what}: operand has ${x.rows} rows, the ${M.rows}×${M.cols} operator needs ${expected}`, {
        details: { operator: [M.rows, M.cols], operand: [x.rows, x.cols] },
      });
    }
  };
  return {
    rows: M.rows,
    cols: M.cols,
    apply: async (x: Mat) => {
      check(M.cols, x, 'operator product');
      return matmul(M, x);
    },
    applyTranspose: async (y: Mat) => {
      check(M.rows, y, 'transposed operator product');
      Mt ??= transpose(M);
      return matmul(Mt, y);
    },
  };
}
