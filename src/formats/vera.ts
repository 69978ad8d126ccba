// VeRA → exact LoRA (algorithms.md §5.5, A17): ΔW = diag(λ_b)·B[:m]·diag(λ_d)·A[:, :n] (no α),
// so B' = diag(λ_b)·B[:m]·diag(λ_d), A' = A[:, :n]. The shared bases must be in the file.
import { WorkbenchError } from '../errors.ts';
import type { Mat } from '../tensor/matrix.ts';

export function veraToLora(veraA: Mat, veraB: Mat, lambdaD: Float64Array, lambdaB: Float64Array, outFeatures: number, inFeatures: number): { B: Mat; A: Mat } {
  const r = veraA.rows;
  if (veraB.cols !== r || lambdaD.length !== r || lambdaB.length !== outFeatures || veraB.rows < outFeatures || veraA.cols < inFeatures) {
    throw new WorkbenchError(
      'FAMILY_TENSORS_INVALID',
      `VeRA shapes disagree: vera_A ${veraA.rows}×${veraA.cols}, vera_B ${veraB.rows}×${veraB.cols}, lambda_d ${lambdaD.length}, lambda_b ${lambdaB.length}, module ${outFeatures}×${inFeatures}`,
      { details: { veraA: [veraA.rows, veraA.cols], veraB: [veraB.rows, veraB.cols], lambdaD: lambdaD.length, lambdaB: lambdaB.length, outFeatures, inFeatures } },
    );
  }
  const B = new Float64Array(outFeatures * r);
  for (let o = 0; o < outFeatures; o++) {
    for (let k = 0; k < r; k++) B[o * r + k] = lambdaB[o]! * veraB.data[o * r + k]! * lambdaD[k]!;
  }
  const A = new Float64Array(r * inFeatures);
  for (let k = 0; k < r; k++) {
    for (let i = 0; i < inFeatures; i++) A[k * inFeatures + i] = veraA.data[k * veraA.cols + i]!;
  }
  return { B: { rows: outFeatures, cols: r, data: B }, A: { rows: r, cols: inFeatures, data: A } };
}
