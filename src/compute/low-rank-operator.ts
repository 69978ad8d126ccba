// scale·B·A as a LinearOperator that is never densified: a product costs
// O((m+n)·r·k) in f64 TypeScript, which for LoRA ranks is far below one dense GEMM.
import { WorkbenchError } from '../errors.ts';
import type { LinearOperator } from '../linalg/operator.ts';
import type { Mat } from '../tensor/matrix.ts';
import { tsGemm } from './ts-gemm.ts';
import { assertOperandRows } from './validate-shapes.ts';

function scaleInPlace(m: Mat, factor: number): Mat {
  if (factor !== 1) {
    for (let i = 0; i < m.data.length; i++) m.data[i]! *= factor;
  }
  return m;
}

/** B is m×r, A is r×n; the operator is scale·B·A (m×n). B and A are held by reference, not copied. */
export function lowRankOperator(B: Mat, A: Mat, scale: number): LinearOperator {
  if (B.cols !== A.rows) {
    throw new WorkbenchError('LINALG_SHAPE_MISMATCH', `low-rank operator: B is ${B.rows}×${B.cols} but A is ${A.rows}×${A.cols} (ranks differ)`, {
      details: { B: [B.rows, B.cols], A: [A.rows, A.cols] },
    });
  }
  if (!Number.isFinite(scale)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `low-rank operator: scale must be finite, got ${scale}`, { details: { scale } });
  }
  return {
    rows: B.rows,
    cols: A.cols,
    async apply(x: Mat): Promise<Mat> {
      assertOperandRows(A.cols, x, `product with low-rank ${B.rows}×${A.cols} operator`);
      return scaleInPlace(tsGemm(B, tsGemm(A, x)), scale);
    },
    async applyTranspose(y: Mat): Promise<Mat> {
      assertOperandRows(B.rows, y, `transposed product with low-rank ${B.rows}×${A.cols} operator`);
      return scaleInPlace(tsGemm(A, tsGemm(B, y, true), true), scale);
    },
  };
}
