// Files a family importer recognises but cannot convert fail with one code and a message that names the
// module, the tensor and the reason.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';
import { floatTensor, writeSafetensors, type TensorToWrite } from '../../../src/safetensors/writer.ts';
import { suiteTempDir } from '../../helpers/temp-dir.ts';

const TMP = suiteTempDir('awb-family-errors-');
let n = 0;
const vals = (k: number): number[] => Array.from({ length: k }, (_, i) => ((i * 7) % 5) - 2);
const t = (name: string, shape: number[]): TensorToWrite => floatTensor(name, 'F32', shape, vals(shape.reduce((a, b) => a * b, 1)));

async function failure(tensors: TensorToWrite[], config?: Record<string, unknown>): Promise<{ code: string; message: string }> {
  const dir = join(TMP, `c${n++}`);
  mkdirSync(dir);
  await writeSafetensors(join(dir, config ? 'adapter_model.safetensors' : 'x.safetensors'), tensors);
  if (config) writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(config));
  const e = await loadAdapter(dir).then(
    () => undefined,
    (err: unknown) => err as { code: string; message: string },
  );
  expect(e, 'loading should have failed').toBeDefined();
  return e!;
}

const LOHA = (p: string, m: number, n: number, r: number): TensorToWrite[] => [t(`${p}.hada_w1_a`, [m, r]), t(`${p}.hada_w1_b`, [r, n]), t(`${p}.hada_w2_a`, [m, r]), t(`${p}.hada_w2_b`, [r, n])];

describe('family files that cannot be converted', () => {
  it('LoHa whose w2_b disagrees on in_features → FAMILY_TENSORS_INVALID with the four shapes', async () => {
    const e = await failure([...LOHA('lora_unet_x', 4, 6, 2).slice(0, 3), t('lora_unet_x.hada_w2_b', [2, 5])]);
    expect(e.code).toBe('FAMILY_TENSORS_INVALID');
    expect(e.message).toContain('lora_unet_x');
    expect(e.message).toContain('hada_w2_b [2, 5]');
  });

  it('LoHa with only one Tucker core (hada_t1, no hada_t2) → FAMILY_TENSORS_INVALID naming both', async () => {
    const e = await failure([t('lora_unet_x.hada_w1_a', [2, 4]), t('lora_unet_x.hada_w1_b', [2, 6]), t('lora_unet_x.hada_w2_a', [2, 4]), t('lora_unet_x.hada_w2_b', [2, 6]), t('lora_unet_x.hada_t1', [2, 2, 3, 3])]);
    expect(e.code).toBe('FAMILY_TENSORS_INVALID');
    expect(e.message).toContain('lora_unet_x.hada_t1');
    expect(e.message).toContain('hada_t2');
  });

  it('LoHa Tucker core whose rank disagrees with hada_w1_a (stored m×r, not r×m) → FAMILY_TENSORS_INVALID with the shapes', async () => {
    const e = await failure([...LOHA('lora_unet_x', 4, 6, 2), t('lora_unet_x.hada_t1', [2, 2, 3, 3]), t('lora_unet_x.hada_t2', [2, 2, 3, 3])]);
    expect(e.code).toBe('FAMILY_TENSORS_INVALID');
    expect(e.message).toContain('lora_unet_x.hada_t1');
    expect(e.message).toContain('[4, 2]');
  });

  it('LoKr Tucker core that is not (r, r, kh, kw) → FAMILY_TENSORS_INVALID naming lokr_t2 and its shape', async () => {
    const e = await failure([t('lora_unet_y.lokr_w1', [2, 2]), t('lora_unet_y.lokr_w2_a', [2, 3]), t('lora_unet_y.lokr_w2_b', [2, 3]), t('lora_unet_y.lokr_t2', [2, 3, 3, 3])]);
    expect(e.code).toBe('FAMILY_TENSORS_INVALID');
    expect(e.message).toContain('lora_unet_y.lokr_t2');
    expect(e.message).toContain('[2, 3, 3, 3]');
  });

  it('MiSS without module shapes → FAMILY_UNSUPPORTED telling how to supply awb_module_shapes', async () => {
    const e = await failure([t('base_model.model.l.q_proj.miss_block', [2, 4])], { peft_type: 'MISS', r: 2 });
    expect(e.code).toBe('FAMILY_UNSUPPORTED');
    expect(e.message).toContain('awb_module_shapes');
    expect(e.message).toContain('l.q_proj');
  });

  it('MiSS "bat" mode (3-D block) → FAMILY_UNSUPPORTED: it depends on W0', async () => {
    const e = await failure([t('base_model.model.l.q_proj.miss_block', [2, 2, 2])], { peft_type: 'MISS', r: 2, init_weights: 'bat', awb_module_shapes: { 'l.q_proj': [4, 4] } });
    expect(e.code).toBe('FAMILY_UNSUPPORTED');
    expect(e.message).toContain('bat');
  });

  it('RandLoRA without its bases → FAMILY_UNSUPPORTED naming base_model.randlora_A', async () => {
    const e = await failure([t('base_model.model.l.q_proj.randlora_lambda', [2, 2]), t('base_model.model.l.q_proj.randlora_gamma', [2, 4])], { peft_type: 'RANDLORA', r: 2 });
    expect(e.code).toBe('FAMILY_UNSUPPORTED');
    expect(e.message).toContain('base_model.randlora_A');
  });
});
