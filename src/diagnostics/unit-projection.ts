// A 2-D map of the rank-one units (MSUs) of one module across adapters: each unit
// (s·bᵢ, aᵢ) in the canonical gauge (balanced norms, dominant entry of a positive,
// src/units), normalised to unit length as the concatenation [b; a], then PCA by the
// eigen-decomposition of the centred N×N Gram matrix (N = Σ ranks, small).
import type { Mat } from '../tensor/matrix.ts';
import { canonicalizeUnit } from '../units/canonicalize-unit.ts';
import { symmetricEigen } from './dense-kernels.ts';

export interface UnitInput {
  readonly adapterIndex: number;
  readonly B: Mat;
  readonly A: Mat;
  readonly scale: number;
}

export interface ProjectedUnit {
  readonly adapterIndex: number;
  readonly rankIndex: number;
  readonly x: number;
  readonly y: number;
  readonly norm: number;
}

export function projectUnits(inputs: readonly UnitInput[]): { points: ProjectedUnit[]; explained: [number, number] } {
  const features: Float64Array[] = [];
  const meta: { adapterIndex: number; rankIndex: number; norm: number }[] = [];
  for (const input of inputs) {
    const { B, A } = input;
    for (let i = 0; i < B.cols; i++) {
      const b = new Float64Array(B.rows);
      for (let row = 0; row < B.rows; row++) b[row] = input.scale * B.data[row * B.cols + i]!;
      const a = Float64Array.from(A.data.subarray(i * A.cols, (i + 1) * A.cols));
      if (!canonicalizeUnit(b, a)) continue;
      const f = new Float64Array(b.length + a.length);
      f.set(b, 0);
      f.set(a, b.length);
      let nn = 0;
      for (const v of f) nn += v * v;
      nn = Math.sqrt(nn);
      for (let t = 0; t < f.length; t++) f[t] = f[t]! / nn;
      features.push(f);
      meta.push({ adapterIndex: input.adapterIndex, rankIndex: i, norm: (nn * nn) / 2 });
    }
  }
  const N = features.length;
  if (N === 0) return { points: [], explained: [0, 0] };
  const dim = features[0]!.length;
  const mean = new Float64Array(dim);
  for (const f of features) for (let t = 0; t < dim; t++) mean[t] = mean[t]! + f[t]! / N;
  const centred = features.map((f) => f.map((v, t) => v - mean[t]!));
  const gram = new Float64Array(N * N);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      const a = centred[i]!;
      const b = centred[j]!;
      for (let t = 0; t < dim; t++) s += a[t]! * b[t]!;
      gram[i * N + j] = s;
      gram[j * N + i] = s;
    }
  }
  const eig = symmetricEigen(N, gram);
  const total = eig.values.reduce((acc, v) => acc + Math.max(v, 0), 0);
  const axis = (j: number): Float64Array => {
    const lambda = Math.max(eig.values[j] ?? 0, 0);
    const vec = eig.vectors[j];
    const out = new Float64Array(N);
    if (!vec) return out;
    // Sign: make the largest-|·| coordinate positive, so that the picture is reproducible.
    let best = 0;
    for (let i = 1; i < N; i++) if (Math.abs(vec[i]!) > Math.abs(vec[best]!)) best = i;
    const sign = vec[best]! < 0 ? -1 : 1;
    for (let i = 0; i < N; i++) out[i] = sign * vec[i]! * Math.sqrt(lambda);
    return out;
  };
  const x = axis(0);
  const y = axis(1);
  return {
    points: meta.map((m, i) => ({ ...m, x: x[i]!, y: y[i]! })),
    explained: [
      total > 0 ? Math.max(eig.values[0] ?? 0, 0) / total : 0,
      total > 0 ? Math.max(eig.values[1] ?? 0, 0) / total : 0,
    ],
  };
}
