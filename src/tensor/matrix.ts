// The one dense matrix value type of the library: row-major, f64.
// Kernels (src/linalg) are pure functions over it; they never validate.
import { WorkbenchError } from '../errors.ts';

export interface Mat {
  readonly rows: number;
  readonly cols: number;
  /** Row-major, length rows × cols. */
  readonly data: Float64Array;
}

export function mat(rows: number, cols: number, data?: ArrayLike<number>): Mat {
  if (data !== undefined && data.length !== rows * cols) {
    throw new WorkbenchError('LINALG_SHAPE_MISMATCH', `matrix data has ${data.length} values, expected ${rows}×${cols}`, {
      details: { rows, cols, length: data.length },
    });
  }
  return { rows, cols, data: data === undefined ? new Float64Array(rows * cols) : Float64Array.from(data) };
}

export function zeros(rows: number, cols: number): Mat {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

export function fromRows(rows: readonly (readonly number[])[]): Mat {
  const r = rows.length;
  const c = rows[0]?.length ?? 0;
  const out = zeros(r, c);
  rows.forEach((row, i) => {
    if (row.length !== c) {
      throw new WorkbenchError('LINALG_SHAPE_MISMATCH', `row ${i} has ${row.length} values, expected ${c}`);
    }
    out.data.set(row, i * c);
  });
  return out;
}

export function toRows(m: Mat): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) {
    out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  }
  return out;
}

export function transpose(m: Mat): Mat {
  const out = zeros(m.cols, m.rows);
  const { rows, cols, data } = m;
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    for (let j = 0; j < cols; j++) {
      out.data[j * rows + i] = data[row + j]!;
    }
  }
  return out;
}

/** Plain i-k-j product in f64. The reference for every faster path; fine for small cores. */
export function matmul(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) {
    throw new WorkbenchError('LINALG_SHAPE_MISMATCH', `cannot multiply ${a.rows}×${a.cols} by ${b.rows}×${b.cols}`, {
      details: { left: [a.rows, a.cols], right: [b.rows, b.cols] },
    });
  }
  const out = zeros(a.rows, b.cols);
  const n = b.cols;
  for (let i = 0; i < a.rows; i++) {
    const outRow = i * n;
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k]!;
      if (aik === 0) {
        continue;
      }
      const bRow = k * n;
      for (let j = 0; j < n; j++) {
        out.data[outRow + j]! += aik * b.data[bRow + j]!;
      }
    }
  }
  return out;
}

export function scale(m: Mat, factor: number): Mat {
  const out = zeros(m.rows, m.cols);
  for (let i = 0; i < m.data.length; i++) {
    out.data[i] = m.data[i]! * factor;
  }
  return out;
}

export function frobeniusNorm(m: Mat): number {
  let sum = 0;
  for (let i = 0; i < m.data.length; i++) {
    const v = m.data[i]!;
    sum += v * v;
  }
  return Math.sqrt(sum);
}

export function getEntry(m: Mat, i: number, j: number): number {
  return m.data[i * m.cols + j]!;
}
