// Op₁ + Op₂ + … as one LinearOperator: W0 + s·B·A without forming the sum.
import { WorkbenchError } from '../errors.ts';
import type { LinearOperator } from '../linalg/operator.ts';
import type { Mat } from '../tensor/matrix.ts';

function sumInto(parts: readonly Mat[]): Mat {
  const [first, ...rest] = parts;
  if (first === undefined) {
    throw new WorkbenchError('INTERNAL', 'sum of no operator results');
  }
  const out = Float64Array.from(first.data);
  for (const part of rest) {
    for (let i = 0; i < out.length; i++) out[i]! += part.data[i]!;
  }
  return { rows: first.rows, cols: first.cols, data: out };
}

/**
 * The sum of operators of one shape. It takes ownership: dispose() disposes every term
 * (do not call it when a term, such as a shared base W0, must outlive the sum).
 */
export function sumOperator(...ops: readonly LinearOperator[]): LinearOperator {
  const [first] = ops;
  if (first === undefined) {
    throw new WorkbenchError('INVALID_ARGUMENT', 'sum operator needs at least one term');
  }
  ops.forEach((op, i) => {
    if (op.rows !== first.rows || op.cols !== first.cols) {
      throw new WorkbenchError('LINALG_SHAPE_MISMATCH', `sum operator: term ${i} is ${op.rows}×${op.cols}, term 0 is ${first.rows}×${first.cols}`, {
        details: { term: i, shape: [op.rows, op.cols], expected: [first.rows, first.cols] },
      });
    }
  });
  return {
    rows: first.rows,
    cols: first.cols,
    async apply(x: Mat): Promise<Mat> {
      const parts: Mat[] = [];
      for (const op of ops) parts.push(await op.apply(x));
      return sumInto(parts);
    },
    async applyTranspose(y: Mat): Promise<Mat> {
      const parts: Mat[] = [];
      for (const op of ops) parts.push(await op.applyTranspose(y));
      return sumInto(parts);
    },
    dispose(): void {
      for (const op of ops) op.dispose?.();
    },
  };
}
