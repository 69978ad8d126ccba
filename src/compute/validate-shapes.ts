// Shape checks shared by every backend: ops validate, kernels compute.
import { WorkbenchError } from '../errors.ts';
import type { Mat } from '../tensor/matrix.ts';
import type { MatmulOptions } from './backend.ts';

/** Returns [m, k, n] of op(a)·op(b), or throws LINALG_SHAPE_MISMATCH naming both shapes. */
export function matmulShape(a: Mat, b: Mat, options: MatmulOptions = {}): [number, number, number] {
  const m = options.transposeA ? a.cols : a.rows;
  const k = options.transposeA ? a.rows : a.cols;
  const kb = options.transposeB ? b.cols : b.rows;
  const n = options.transposeB ? b.rows : b.cols;
  if (k !== kb) {
    const left = `${a.rows}×${a.cols}${options.transposeA ? 'ᵀ' : ''}`;
    const right = `${b.rows}×${b.cols}${options.transposeB ? 'ᵀ' : ''}`;
    throw new WorkbenchError('LINALG_SHAPE_MISMATCH', `cannot multiply ${left} by ${right}: inner dimensions ${k} and ${kb} differ`, {
      details: { left: [a.rows, a.cols], right: [b.rows, b.cols], transposeA: !!options.transposeA, transposeB: !!options.transposeB },
    });
  }
  return [m, k, n];
}

export function assertSameShape(a: Mat, b: Mat, what: string): void {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new WorkbenchError('LINALG_SHAPE_MISMATCH', `${what}: shapes ${a.rows}×${a.cols} and ${b.rows}×${b.cols} differ`, {
      details: { left: [a.rows, a.cols], right: [b.rows, b.cols] },
    });
  }
}

export function assertDataLength(rows: number, cols: number, length: number, what: string): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || rows * cols !== length) {
    throw new WorkbenchError('LINALG_SHAPE_MISMATCH', `${what}: ${length} values do not fill a ${rows}×${cols} matrix`, {
      details: { rows, cols, length },
    });
  }
}

export function assertOperandRows(expected: number, x: Mat, what: string): void {
  if (x.rows !== expected) {
    throw new WorkbenchError('LINALG_SHAPE_MISMATCH', `${what}: operand has ${x.rows} rows, expected ${expected}`, {
      details: { expectedRows: expected, rows: x.rows, cols: x.cols },
    });
  }
}
