// A linear operator seen only through products, so that W0 + s·B·A (or any sum
// of such terms) is never densified. Async because GPU backends read back asynchronously.
import type { Mat } from '../tensor/matrix.ts';

export interface LinearOperator {
  readonly rows: number;
  readonly cols: number;
  /** Y = Op · X, with X of shape cols×k; returns rows×k. */
  apply(x: Mat): Promise<Mat>;
  /** Z = Opᵀ · Y, with Y of shape rows×k; returns cols×k. */
  applyTranspose(y: Mat): Promise<Mat>;
  /** Releases backend-resident tensors, if any. */
  dispose?(): void;
}
