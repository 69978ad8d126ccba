import { describe, expect, it } from 'vitest';
import { compareModuleNames } from '../../../src/adapter/module-order.ts';

describe('compareModuleNames (natural order)', () => {
  it('puts layers.2 before layers.10 and keeps text order otherwise', () => {
    const names = ['model.layers.10.q_proj', 'model.layers.2.v_proj', 'model.layers.2.q_proj', 'lm_head', 'model.layers.1.q_proj'];
    expect([...names].sort(compareModuleNames)).toEqual([
      'lm_head',
      'model.layers.1.q_proj',
      'model.layers.2.q_proj',
      'model.layers.2.v_proj',
      'model.layers.10.q_proj',
    ]);
  });
  it('orders kohya names with underscores the same way and is a total order', () => {
    const names = ['lora_unet_up_blocks_10_x', 'lora_unet_up_blocks_9_x', 'lora_unet_up_blocks_09_x', 'lora_te1_a'];
    const sorted = [...names].sort(compareModuleNames);
    expect(sorted).toEqual(['lora_te1_a', 'lora_unet_up_blocks_9_x', 'lora_unet_up_blocks_09_x', 'lora_unet_up_blocks_10_x']);
    for (const a of names) for (const b of names) expect(Math.sign(compareModuleNames(a, b)) + Math.sign(compareModuleNames(b, a))).toBe(0);
  });
});
