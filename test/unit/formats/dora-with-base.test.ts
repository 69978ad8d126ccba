// DoRA + base weight → truncated LoRA module (algorithms.md §5.7, A21), base read from a safetensors
// model in canonical orientation (Conv1D stored transposed).
import { describe, expect, it } from 'vitest';
import type { LoraModule } from '../../../src/adapter/types.ts';
import { baseWeightFor, doraModuleWithBase } from '../../../src/formats/dora-with-base.ts';
import { parseSafetensors } from '../../../src/safetensors/reader.ts';
import { floatTensor, serializeSafetensors } from '../../../src/safetensors/writer.ts';
import { fromRows, matmul, toRows, type Mat } from '../../../src/tensor/matrix.ts';

function doraModule(layout: LoraModule['layout']): LoraModule {
  return {
    name: 'h.0.lin',
    outFeatures: 2,
    inFeatures: 2,
    rank: 1,
    alpha: 1,
    scale: 1,
    layout,
    dtype: 'F32',
    hasDora: true,
    keys: { A: 'a', B: 'b', magnitude: 'm' },
    load: async () => ({ B: fromRows([[1], [0]]), A: fromRows([[0, 1]]), doraMagnitude: Float64Array.from([3.5, 4]) }),
  };
}

describe('DoRA with its base weight', () => {
  it('A21: W0 = diag(3,4) → rank-1 LoRA of ΔW_eff = [[0.320391, 1.106797],[0,0]], error ≈ 0, max|g−1| reported', async () => {
    const base = parseSafetensors(serializeSafetensors([floatTensor('h.0.lin.weight', 'F32', [2, 2], [3, 0, 0, 4])]), 'base.safetensors');
    const module = doraModule({ kind: 'linear' });
    const W0 = await baseWeightFor(base, module);
    const out = await doraModuleWithBase(module, W0, { rank: 1 });
    expect(out.hasDora).toBe(false);
    expect(out.rank).toBe(1);
    expect(out.family).toMatchObject({ name: 'dora', conversion: 'truncated' });
    expect(out.family!.relativeError!).toBeLessThan(1e-7);
    // g = [3.5/√10, 1]
    expect(out.family!.params.maxGainDeviation as number).toBeCloseTo(Math.abs(3.5 / Math.sqrt(10) - 1), 12);
    const f = await out.load();
    const got = toRows(matmul(f.B, f.A));
    [[0.320391, 1.106797], [0, 0]].forEach((row, i) => row.forEach((v, j) => expect(got[i]![j]!).toBeCloseTo(v, 5)));
  });

  it('a Conv1D (fan_in_fan_out) base stored in×out is transposed; a wrong shape is refused naming the tensor', async () => {
    const stored: Mat = fromRows([[3, 0], [1, 4]]); // n×m storage of W0 = [[3,1],[0,4]]
    const base = parseSafetensors(serializeSafetensors([floatTensor('h.0.lin.weight', 'F32', [2, 2], stored.data)]), 'base.safetensors');
    const W0 = await baseWeightFor(base, doraModule({ kind: 'linear_fan_in_fan_out' }));
    expect(toRows(W0)).toEqual([[3, 1], [0, 4]]);
    const bad = parseSafetensors(serializeSafetensors([floatTensor('h.0.lin.weight', 'F32', [3, 2], [1, 2, 3, 4, 5, 6])]), 'base.safetensors');
    await expect(baseWeightFor(bad, doraModule({ kind: 'linear' }))).rejects.toMatchObject({ code: 'FAMILY_TENSORS_INVALID', message: expect.stringContaining('h.0.lin.weight') });
  });
});
