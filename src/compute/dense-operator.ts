// A dense matrix as a LinearOperator whose W (and, on first transposed use, Wᵀ)
// stay resident on the backend: randomized SVD multiplies the same 4096×4096 W0
// 2q+2 times and uploads it once.
import type { LinearOperator } from '../linalg/operator.ts';
import type { Mat } from '../tensor/matrix.ts';
import type { Backend } from './backend.ts';
import { assertDataLength } from './validate-shapes.ts';

export interface DenseOperator extends LinearOperator {
  /** Frees the resident W and Wᵀ. */
  dispose(): void;
}

/** `data` is row-major rows×cols; it is copied (to f32 on tfjs backends) and may be reused by the caller. */
export function createDenseOperator(backend: Backend, rows: number, cols: number, data: Float32Array | Float64Array): DenseOperator {
  assertDataLength(rows, cols, data.length, 'dense operator');
  const resident = backend.upload(rows, cols, data);
  return {
    rows,
    cols,
    apply: (x: Mat) => resident.multiply(x),
    applyTranspose: (y: Mat) => resident.multiplyTransposed(y),
    dispose: () => resident.dispose(),
  };
}
