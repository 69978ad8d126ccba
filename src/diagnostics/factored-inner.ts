// ⟨s₁B₁A₁, s₂B₂A₂⟩_F = s₁s₂·trace((B₁ᵀB₂)(A₂A₁ᵀ)), in O((m+n)·r₁·r₂), no m×n matrix.
import type { Mat } from '../tensor/matrix.ts';

export interface ScaledFactors {
  readonly B: Mat;
  readonly A: Mat;
  readonly scale: number;
}

export function factoredInner(x: ScaledFactors, y: ScaledFactors): number {
  const r1 = x.B.cols;
  const r2 = y.B.cols;
  const m = x.B.rows;
  const n = x.A.cols;
  const bb = new Float64Array(r1 * r2);
  for (let row = 0; row < m; row++) {
    for (let i = 0; i < r1; i++) {
      const v = x.B.data[row * r1 + i]!;
      if (v === 0) continue;
      for (let j = 0; j < r2; j++) bb[i * r2 + j] = bb[i * r2 + j]! + v * y.B.data[row * r2 + j]!;
    }
  }
  let sum = 0;
  for (let i = 0; i < r1; i++) {
    for (let j = 0; j < r2; j++) {
      let aa = 0;
      for (let c = 0; c < n; c++) aa += y.A.data[j * n + c]! * x.A.data[i * n + c]!;
      sum += bb[i * r2 + j]! * aa;
    }
  }
  return x.scale * y.scale * sum;
}
