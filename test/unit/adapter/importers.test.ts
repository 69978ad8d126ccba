// Importer rules that the fixtures do not pin down by themselves: kohya alpha (A23), MLX
// orientation (hand example), GPT-2 Conv1D detection, configs that are missing or incomplete.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';
import { listImporters, registerImporter } from '../../../src/adapter/importer-registry.ts';
import { peftImporter } from '../../../src/adapter/import-peft.ts';
import { floatTensor, writeSafetensors } from '../../../src/safetensors/writer.ts';
import { matmul, toRows } from '../../../src/tensor/matrix.ts';
import { suiteTempDir } from '../../helpers/temp-dir.ts';
import { REPO_ROOT } from '../../helpers/paths.ts';

const TMP = suiteTempDir('awb-imp-');
let n = 0;
function folder(): string {
  const dir = join(TMP, `case-${n++}`);
  mkdirSync(dir);
  return dir;
}
const ones = (k: number): number[] => Array.from({ length: k }, (_, i) => (i % 3) - 1);

describe('kohya alpha (algorithms.md A23)', () => {
  it('lora_down 4×n with alpha 1 → scale 0.25; no alpha tensor → scale 1', async () => {
    const dir = folder();
    await writeSafetensors(join(dir, 'lora.safetensors'), [
      floatTensor('lora_unet_a_to_q.lora_down.weight', 'F32', [4, 6], ones(24)),
      floatTensor('lora_unet_a_to_q.lora_up.weight', 'F32', [5, 4], ones(20)),
      floatTensor('lora_unet_a_to_q.alpha', 'F32', [], [1]),
      floatTensor('lora_unet_b_to_k.lora_down.weight', 'F32', [4, 6], ones(24)),
      floatTensor('lora_unet_b_to_k.lora_up.weight', 'F32', [5, 4], ones(20)),
    ]);
    const adapter = await loadAdapter(join(dir, 'lora.safetensors'));
    expect(adapter.format).toBe('kohya');
    expect(adapter.modules.map((m) => [m.name, m.scale])).toEqual([
      ['lora_unet_a_to_q', 0.25],
      ['lora_unet_b_to_k', 1],
    ]);
    expect(adapter.warnings.join(' ')).toContain('no alpha tensor');
    await adapter.close();
  });
});

describe('MLX-LM orientation', () => {
  it('lora_a [in 3, r 2], lora_b [r 2, out 4], scale 2 → ΔW = 2·(lora_a·lora_b)ᵀ, 4×3', async () => {
    const dir = folder();
    await writeSafetensors(join(dir, 'adapters.safetensors'), [
      floatTensor('model.layers.0.mlp.up_proj.lora_a', 'F32', [3, 2], [1, 2, 3, 4, 5, 6]),
      floatTensor('model.layers.0.mlp.up_proj.lora_b', 'F32', [2, 4], [1, 0, 1, 0, 0, 1, 0, 1]),
    ]);
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ model: 'x/y', lora_parameters: { rank: 2, scale: 2.0 } }));
    const adapter = await loadAdapter(dir);
    const m = adapter.modules[0]!;
    expect([adapter.format, m.outFeatures, m.inFeatures, m.rank, m.scale, m.alpha, adapter.baseModel]).toEqual(['mlx', 4, 3, 2, 2, 4, 'x/y']);
    const { A, B } = await m.load();
    const delta = toRows(matmul(B, A)).map((row) => row.map((v) => v * m.scale));
    expect(delta).toEqual([
      [2, 6, 10],
      [4, 8, 12],
      [2, 6, 10],
      [4, 8, 12],
    ]);
    await adapter.close();
  });
});

describe('PEFT configs', () => {
  async function gpt2Like(dir: string, config: Record<string, unknown> | undefined): Promise<void> {
    await writeSafetensors(join(dir, 'adapter_model.safetensors'), [
      floatTensor('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight', 'F32', [2, 4], ones(8)),
      floatTensor('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight', 'F32', [12, 2], ones(24)),
      floatTensor('base_model.model.transformer.h.0.mlp.c_fc.lora_A.weight', 'F32', [2, 4], ones(8)),
      floatTensor('base_model.model.transformer.h.0.mlp.c_fc.lora_B.weight', 'F32', [16, 2], ones(32)),
    ]);
    if (config) writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(config));
  }

  it('forces linear_fan_in_fan_out for GPT-2 Conv1D modules when the config forgot it, with a warning', async () => {
    const dir = folder();
    await gpt2Like(dir, { peft_type: 'LORA', r: 2, lora_alpha: 4, fan_in_fan_out: false, base_model_name_or_path: 'openai-community/gpt2', target_modules: ['c_attn', 'c_fc'] });
    const adapter = await loadAdapter(dir);
    expect(adapter.modules.map((m) => m.layout.kind)).toEqual(['linear_fan_in_fan_out', 'linear_fan_in_fan_out']);
    expect(adapter.warnings.join(' ')).toMatch(/fan_in_fan_out is false.*Conv1D/);
    await adapter.close();
  });

  it('keeps linear layout for the same names on a base that is not GPT-2-like', async () => {
    const dir = folder();
    await gpt2Like(dir, { peft_type: 'LORA', r: 2, lora_alpha: 4, base_model_name_or_path: 'Qwen/Qwen-1_8B', target_modules: ['c_attn', 'c_fc'] });
    const adapter = await loadAdapter(dir);
    expect(adapter.modules.map((m) => m.layout.kind)).toEqual(['linear', 'linear']);
    await adapter.close();
  });

  it('loads a bare PEFT safetensors with scale 1 and says so; a file path picks up a sibling config', async () => {
    const bare = folder();
    await gpt2Like(bare, undefined);
    const a = await loadAdapter(join(bare, 'adapter_model.safetensors'));
    expect([a.format, a.config, a.modules.map((m) => m.scale)]).toEqual(['peft', undefined, [1, 1]]);
    expect(a.warnings.join(' ')).toContain('no adapter_config.json');
    await a.close();
    const withConfig = folder();
    await gpt2Like(withConfig, { peft_type: 'LORA', r: 2, lora_alpha: 6 });
    const b = await loadAdapter(join(withConfig, 'adapter_model.safetensors'));
    expect(b.modules.map((m) => m.scale)).toEqual([3, 3]);
    expect(b.name).toBe(withConfig.split('/').pop());
    await b.close();
  });

  it("uses PEFT's default lora_alpha 8 when the config has none, with a warning", async () => {
    const dir = folder();
    await gpt2Like(dir, { peft_type: 'LORA', r: 2 });
    const adapter = await loadAdapter(dir);
    expect(adapter.modules.map((m) => m.scale)).toEqual([4, 4]);
    expect(adapter.warnings.join(' ')).toContain('lora_alpha missing');
    await adapter.close();
  });

  it('accepts the in-memory key style lora_A.<adapter>.weight for a single adapter name', async () => {
    const dir = folder();
    await writeSafetensors(join(dir, 'adapter_model.safetensors'), [
      floatTensor('base_model.model.x.q_proj.lora_A.my_task.weight', 'F32', [2, 4], ones(8)),
      floatTensor('base_model.model.x.q_proj.lora_B.my_task.weight', 'F32', [3, 2], ones(6)),
    ]);
    const adapter = await loadAdapter(dir);
    expect(adapter.modules.map((m) => m.name)).toEqual(['x.q_proj']);
    await adapter.close();
  });
});

describe('folder resolution and the registry', () => {
  it('prefers adapter_model.safetensors over other safetensors in a folder', async () => {
    const dir = folder();
    copyFileSync(join(REPO_ROOT, 'fixtures/adapters/llama-a/adapter_model.safetensors'), join(dir, 'adapter_model.safetensors'));
    copyFileSync(join(REPO_ROOT, 'fixtures/adapters/llama-a/adapter_config.json'), join(dir, 'adapter_config.json'));
    copyFileSync(join(REPO_ROOT, 'fixtures/adapters/kohya-sample/kohya_lora.safetensors'), join(dir, 'other.safetensors'));
    const adapter = await loadAdapter(dir);
    expect([adapter.format, adapter.modules.length]).toEqual(['peft', 8]);
    await adapter.close();
  });

  it('refuses to register a second importer for the same format', () => {
    expect(listImporters().map((i) => i.format)).toEqual([
      'lora-xs', 'lycoris', 'peft-loha', 'peft-lokr', 'peft-miss', 'peft-vera', 'peft-randlora', 'loldu',
      'peft', 'kohya', 'diffusers', 'mlx',
    ]);
    expect(() => registerImporter(peftImporter)).toThrow(/already registered/);
  });
});

describe('what is not a LoRA adapter', () => {
  it('an empty safetensors file → ADAPTER_EMPTY; a LyCORIS LoHa file → ADAPTER_FORMAT_UNKNOWN naming a tensor', async () => {
    const empty = folder();
    await writeSafetensors(join(empty, 'adapter_model.safetensors'), []);
    await expect(loadAdapter(empty)).rejects.toMatchObject({ code: 'ADAPTER_EMPTY' });
    const loha = folder();
    await writeSafetensors(join(loha, 'loha.safetensors'), [
      floatTensor('lora_unet_x.hada_w1_a', 'F32', [4, 2], ones(8)),
      floatTensor('lora_unet_x.hada_w1_b', 'F32', [2, 4], ones(8)),
    ]);
    await expect(loadAdapter(loha)).rejects.toMatchObject({ code: 'ADAPTER_FORMAT_UNKNOWN', message: expect.stringContaining('lora_unet_x.hada_w1_a') });
  });
});
