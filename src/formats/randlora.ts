// RandLoRA → exact LoRA (algorithms.md §5.5, A18). Shared bases randlora_A (r×1×D_min) and randlora_B
// (D_max×N_b×r); per layer λ (r×n) and γ (n×d_min), n = number of bases used. Â[(k·n + b), j] =
// λ[k,b]·A[k,0,j]·γ[b,j] (rn×d_min) and B̂[:, b·r + k] = B[:, b, k] (d_max×nr); the contraction pairs
// them POSITIONALLY, as PEFT does. in ≤ out: ΔW = s·B̂[:m]·Â; else ΔW = s·Âᵀ·B̂[:in]ᵀ.
import { WorkbenchError } from '../errors.ts';
import type { Mat } from '../tensor/matrix.ts';

export interface RandloraParts {
  /** randlora_A flattened to r×D_min (the middle dim of size 1 dropped). */
  readonly basisA: Mat;
  /** randlora_B as stored: D_max×N_b×r, row-major. */
  readonly basisB: { readonly dims: readonly [number, number, number]; readonly data: Float64Array };
  /** r×n. */
  readonly lambda: Mat;
  /** n×d_min. */
  readonly gamma: Mat;
}

/** Returns B', A' with ΔW = B'·A' (scale not folded in), rank n·r. */
export function randloraToLora(parts: RandloraParts, outFeatures: number, inFeatures: number): { B: Mat; A: Mat } {
  const { basisA, basisB, lambda, gamma } = parts;
  const r = lambda.rows;
  const n = lambda.cols;
  const dMin = Math.min(outFeatures, inFeatures);
  const dMax = Math.max(outFeatures, inFeatures);
  const [bRows, nb, br] = basisB.dims;
  if (basisA.rows !== r || basisA.cols < dMin || gamma.rows !== n || gamma.cols !== dMin || br !== r || nb < n || bRows < dMax) {
    throw new WorkbenchError(
      'FAMILY_TENSORS_INVALID',
      `RandLoRA shapes disagree: randlora_A ${basisA.rows}×1×${basisA.cols}, randlora_B ${bRows}×${nb}×${br}, lambda ${r}×${n}, gamma ${gamma.rows}×${gamma.cols}, module ${outFeatures}×${inFeatures}`,
      { details: { lambda: [r, n], gamma: [gamma.rows, gamma.cols], basisB: [bRows, nb, br], outFeatures, inFeatures } },
    );
  }
  const rn = r * n;
  const Ahat = new Float64Array(rn * dMin);
  for (let k = 0; k < r; k++) {
    for (let b = 0; b < n; b++) {
      const l = lambda.data[k * n + b]!;
      const row = (k * n + b) * dMin;
      for (let j = 0; j < dMin; j++) Ahat[row + j] = l * basisA.data[k * basisA.cols + j]! * gamma.data[b * dMin + j]!;
    }
  }
  // B̂[:dMax, b·r + k] = B[:, b, k]
  const Bhat = new Float64Array(dMax * rn);
  for (let i = 0; i < dMax; i++) {
    for (let b = 0; b < n; b++) {
      for (let k = 0; k < r; k++) Bhat[i * rn + b * r + k] = basisB.data[(i * nb + b) * r + k]!;
    }
  }
  if (inFeatures <= outFeatures) {
    return { B: { rows: outFeatures, cols: rn, data: Bhat }, A: { rows: rn, cols: dMin, data: Ahat } };
  }
  // ΔW = Âᵀ (m×rn) · B̂[:in]ᵀ (rn×in)
  const Bt = new Float64Array(dMin * rn);
  for (let p = 0; p < rn; p++) for (let j = 0; j < dMin; j++) Bt[j * rn + p] = Ahat[p * dMin + j]!;
  const At = new Float64Array(rn * dMax);
  for (let i = 0; i < dMax; i++) for (let p = 0; p < rn; p++) At[p * dMax + i] = Bhat[i * rn + p]!;
  return { B: { rows: outFeatures, cols: rn, data: Bt }, A: { rows: rn, cols: inFeatures, data: At } };
}
