// Randomized SVD of a dense m×n matrix (Halko et al., algorithms.md §6.2), seeded,
// re-orthonormalising every half step. Used to re-factor the element-wise merges.
import type { Mat } from '../../tensor/matrix.ts';
import { zeros } from '../../tensor/matrix.ts';
import { createRng } from '../../util/rng.ts';
import { jacobiSvd, qrThin } from './small-linalg.ts';
import type { FactoredSvd } from './factored-svd.ts';

export interface DenseMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array | Float32Array;
}

function mulRight(m: DenseMatrix, x: Mat): Mat {
  const out = zeros(m.rows, x.cols);
  const l = x.cols;
  for (let i = 0; i < m.rows; i++) {
    const row = i * m.cols;
    const o = i * l;
    for (let k = 0; k < m.cols; k++) {
      const v = m.data[row + k]!;
      if (v === 0) continue;
      const xr = k * l;
      for (let j = 0; j < l; j++) out.data[o + j]! += v * x.data[xr + j]!;
    }
  }
  return out;
}

function mulTransposeRight(m: DenseMatrix, y: Mat): Mat {
  const out = zeros(m.cols, y.cols);
  const l = y.cols;
  for (let i = 0; i < m.rows; i++) {
    const row = i * m.cols;
    const yr = i * l;
    for (let k = 0; k < m.cols; k++) {
      const v = m.data[row + k]!;
      if (v === 0) continue;
      const o = k * l;
      for (let j = 0; j < l; j++) out.data[o + j]! += v * y.data[yr + j]!;
    }
  }
  return out;
}

export interface RandomizedSvdOptions {
  readonly rank: number;
  readonly oversample: number;
  readonly powerIterations: number;
  readonly seed: number;
}

export function randomizedSvdDense(m: DenseMatrix, options: RandomizedSvdOptions): FactoredSvd {
  const p = Math.min(m.rows, m.cols);
  const l = Math.min(options.rank + options.oversample, p);
  const rng = createRng(options.seed);
  const omega = zeros(m.cols, l);
  for (let i = 0; i < omega.data.length; i++) omega.data[i] = rng.normal();
  let q = qrThin(mulRight(m, omega)).Q;
  for (let it = 0; it < options.powerIterations; it++) {
    const z = qrThin(mulTransposeRight(m, q)).Q;
    q = qrThin(mulRight(m, z)).Q;
  }
  // Sᵀ = Mᵀ Q (n×l); Sᵀ = Ũ' Σ V'ᵀ  ⇒  M ≈ Q V' Σ Ũ'ᵀ
  const st = mulTransposeRight(m, q);
  const svd = jacobiSvd(st);
  const k = Math.min(options.rank, svd.S.length);
  const U = zeros(m.rows, k);
  const Vt = zeros(k, m.cols);
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < m.rows; i++) {
      let s = 0;
      for (let t = 0; t < l; t++) s += q.data[i * l + t]! * svd.V.data[t * l + j]!;
      U.data[i * k + j] = s;
    }
    for (let i = 0; i < m.cols; i++) Vt.data[j * m.cols + i] = svd.U.data[i * svd.U.cols + j]!;
  }
  return { U, S: svd.S.slice(0, k), Vt };
}
