// Small checks shared by the linalg tests: orthonormality, reconstruction, random matrices.
import { matmul, transpose, zeros } from '../../../src/tensor/matrix.ts';
import type { Mat } from '../../../src/tensor/matrix.ts';

export { randomMat } from '../../helpers/random-mat.ts';

/** max |QᵀQ − I| over the columns of Q. */
export function orthonormalityError(Q: Mat): number {
  const g = matmul(transpose(Q), Q);
  let worst = 0;
  for (let i = 0; i < g.rows; i++) {
    for (let j = 0; j < g.cols; j++) {
      worst = Math.max(worst, Math.abs(g.data[i * g.cols + j]! - (i === j ? 1 : 0)));
    }
  }
  return worst;
}

export function maxAbsDiff(a: Mat, b: Mat): number {
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i]! - b.data[i]!));
  return worst;
}

/** U·diag(S)·Vt. */
export function reconstruct(U: Mat, S: Float64Array, Vt: Mat): Mat {
  const us = zeros(U.rows, S.length);
  for (let i = 0; i < U.rows; i++) {
    for (let j = 0; j < S.length; j++) us.data[i * S.length + j] = U.data[i * U.cols + j]! * S[j]!;
  }
  return matmul(us, Vt);
}

export function maxAbs(m: Mat): number {
  let worst = 0;
  for (const v of m.data) worst = Math.max(worst, Math.abs(v));
  return worst;
}
