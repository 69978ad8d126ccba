// MiSS / Bone (PEFT `miss_block`, formerly `bone_block`) → exact LoRA (algorithms.md §5.4, A16).
// Default mode: M is r×m; the input (zero-padded to a multiple of r) is cut into blocks of length r and
// summed, then multiplied by M: A'[ρ, i] = 1 if i mod r = ρ, B' = Mᵀ. `mini`: M is r×mini_r, tiled along
// the output dim to r×m first. `bat` depends on W0 and has no exact low-rank form.
import { WorkbenchError } from '../errors.ts';
import { transpose, type Mat } from '../tensor/matrix.ts';

export function missToLora(block: Mat, outFeatures: number, inFeatures: number): { B: Mat; A: Mat } {
  const r = block.rows;
  let M = block;
  if (block.cols !== outFeatures) {
    if (block.cols === 0 || outFeatures % block.cols !== 0) {
      throw new WorkbenchError(
        'FAMILY_TENSORS_INVALID',
        `miss_block is ${r}×${block.cols}; expected ${r}×${outFeatures} (default mode) or ${r}×mini_r with mini_r dividing ${outFeatures} (mini mode)`,
        { details: { shape: [r, block.cols], outFeatures } },
      );
    }
    const tiled = new Float64Array(r * outFeatures);
    for (let p = 0; p < r; p++) {
      for (let o = 0; o < outFeatures; o++) tiled[p * outFeatures + o] = block.data[p * block.cols + (o % block.cols)]!;
    }
    M = { rows: r, cols: outFeatures, data: tiled };
  }
  const A = new Float64Array(r * inFeatures);
  for (let i = 0; i < inFeatures; i++) A[(i % r) * inFeatures + i] = 1;
  return { B: transpose(M), A: { rows: r, cols: inFeatures, data: A } };
}
