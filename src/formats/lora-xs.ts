// LoRA-XS / LoRA-SB → exact LoRA (algorithms.md §5.3, A19): ΔW = s·B·R·A → B' = B·R, A' = A.
import { WorkbenchError } from '../errors.ts';
import { matmul, type Mat } from '../tensor/matrix.ts';

export function loraXsToLora(B: Mat, R: Mat, A: Mat): { B: Mat; A: Mat } {
  if (R.rows !== B.cols || R.cols !== A.rows) {
    throw new WorkbenchError('FAMILY_TENSORS_INVALID', `LoRA-XS latent mapping R is ${R.rows}×${R.cols}; B is ${B.rows}×${B.cols} and A ${A.rows}×${A.cols}`, {
      details: { R: [R.rows, R.cols], B: [B.rows, B.cols], A: [A.rows, A.cols] },
    });
  }
  return { B: matmul(B, R), A };
}
