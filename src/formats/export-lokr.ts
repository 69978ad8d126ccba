// Export to LoKr in LyCORIS naming, exact: a module imported as LoKr is written as its two Kronecker
// factors (full lokr_w1, lokr_w2; scale folded into W1, since LyCORIS uses scale 1 when both are full);
// any other LoRA module is kron([[1]], B·A): lokr_w1 = [[1]], lokr_w2_a = B, lokr_w2_b = A, alpha = scale·r.
// (PEFT's own LoKr re-derives the factor shapes from its config, so PEFT naming is not offered.)
import type { LoraModule } from '../adapter/types.ts';
import { floatTensor, type TensorToWrite } from '../safetensors/writer.ts';
import { nativeFactors } from './family-module.ts';
import { lycorisPrefix, refuseDora, type FamilyExport } from './export-loha.ts';

export async function lokrExportTensors(modules: readonly LoraModule[]): Promise<FamilyExport> {
  const tensors: TensorToWrite[] = [];
  for (const module of modules) {
    refuseDora(module, 'LoKr');
    const base = lycorisPrefix(module.name);
    const native = nativeFactors(module);
    const n = native ? await native() : undefined;
    if (n?.kind === 'lokr') {
      const kernel = module.layout.kind === 'conv' ? module.layout.kernel : [];
      const k = kernel.reduce((a, b) => a * b, 1);
      tensors.push(floatTensor(`${base}.lokr_w1`, 'F32', [n.W1.rows, n.W1.cols], n.W1.data.map((v) => v * n.scale)));
      tensors.push(floatTensor(`${base}.lokr_w2`, 'F32', [n.W2.rows, n.W2.cols / k, ...kernel], n.W2.data));
      continue;
    }
    const f = await module.load();
    const r = f.A.rows;
    tensors.push(floatTensor(`${base}.lokr_w1`, 'F32', [1, 1], [1]));
    tensors.push(floatTensor(`${base}.lokr_w2_a`, 'F32', [f.B.rows, r], f.B.data));
    tensors.push(floatTensor(`${base}.lokr_w2_b`, 'F32', [r, f.A.cols], f.A.data));
    tensors.push(floatTensor(`${base}.alpha`, 'F32', [], [module.scale * r]));
  }
  return { tensors, config: undefined };
}
