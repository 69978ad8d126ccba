import { describe, expect, it } from 'vitest';
import { checkBaseShape, findBaseTensor, indexBase, readBaseWeight } from '../../../src/diagnostics/base-weights.ts';
import { parseSafetensors } from '../../../src/safetensors/reader.ts';
import { floatTensor, serializeSafetensors } from '../../../src/safetensors/writer.ts';
import type { LoraModule } from '../../../src/adapter/types.ts';

const names = [
  'model.layers.0.self_attn.q_proj.weight',
  'transformer.h.0.attn.c_attn.weight',
  'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k.weight',
  'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.weight',
  'model.layers.0.self_attn.q_proj.bias',
];
const source = parseSafetensors(serializeSafetensors(names.map((n) => floatTensor(n, 'F32', [2, 3], [1, 2, 3, 4, 5, 6]))), 'base');
const index = indexBase(source);

describe('matching adapter modules to base weights', () => {
  it.each([
    ['model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.q_proj.weight'],
    ['layers.0.self_attn.q_proj', 'model.layers.0.self_attn.q_proj.weight'],
    ['base_model.model.model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.q_proj.weight'],
    ['h.0.attn.c_attn', 'transformer.h.0.attn.c_attn.weight'],
    ['unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k', 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k.weight'],
    ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_out_0', 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.weight'],
  ])('%s → %s', (module, expected) => {
    expect(findBaseTensor(index, module)).toBe(expected);
  });

  it('finds nothing for a module the base does not have (never a near miss)', () => {
    expect(findBaseTensor(index, 'model.layers.0.self_attn.k_proj')).toBeUndefined();
    expect(findBaseTensor(index, 'model.layers.1.self_attn.q_proj')).toBeUndefined();
  });
});

function module(layout: LoraModule['layout'], m: number, n: number): LoraModule {
  return { name: 'x', outFeatures: m, inFeatures: n, rank: 1, alpha: 1, scale: 1, layout, dtype: 'F32', hasDora: false, keys: { A: 'a', B: 'b' }, load: async () => { throw new Error('unused'); } };
}

describe('base shapes by layout', () => {
  it('linear bases are out×in; Conv1D and embedding bases are stored transposed; conv kernels flatten', () => {
    expect(checkBaseShape(module({ kind: 'linear' }, 2, 3), [2, 3])).toEqual({ ok: true, transposed: false });
    expect(checkBaseShape(module({ kind: 'linear_fan_in_fan_out' }, 2, 3), [3, 2])).toEqual({ ok: true, transposed: true });
    expect(checkBaseShape(module({ kind: 'embedding' }, 4, 10), [10, 4])).toEqual({ ok: true, transposed: true });
    expect(checkBaseShape(module({ kind: 'conv', kernel: [3, 3] }, 8, 36), [8, 4, 3, 3])).toEqual({ ok: true, transposed: false });
    const bad = checkBaseShape(module({ kind: 'linear' }, 2, 3), [3, 2]);
    expect(bad.ok).toBe(false);
  });

  it('reads a Conv1D base n×m back as the canonical m×n matrix', async () => {
    // Stored [2, 3] = n×m with n = 2, m = 3: canonical is its transpose.
    const w = await readBaseWeight(source, 'transformer.h.0.attn.c_attn.weight', module({ kind: 'linear_fan_in_fan_out' }, 3, 2), true);
    expect(w.W0.rows).toBe(3);
    expect(Array.from(w.W0.data)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(w.sha256).toHaveLength(64);
  });
});
