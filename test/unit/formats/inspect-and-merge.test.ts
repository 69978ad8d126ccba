// Converted families behave like any LoRA: `awb inspect --json` shows the family and its parameters, and a
// LoHa, a LoKr and a plain LoRA on the same base merge (cat) into a loadable PEFT LoRA whose ΔW is the sum.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.ts';
import type { InspectReport } from '../../../src/adapter/inspect-adapter.ts';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';
import { floatTensor, writeSafetensors } from '../../../src/safetensors/writer.ts';
import { matmul } from '../../../src/tensor/matrix.ts';
import { fakeCliIo } from '../../helpers/cli-io.ts';
import { REPO_ROOT } from '../../helpers/paths.ts';
import { suiteTempDir } from '../../helpers/temp-dir.ts';

const FIX = join(REPO_ROOT, 'fixtures', 'families');
const TMP = suiteTempDir('awb-families-');

type Golden = { modules: Record<string, { rows: number; cols: number; norm: number; delta: number[] }> };
const golden = (c: string): Golden => JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures', 'golden', 'families', `${c}.json`), 'utf8')) as Golden;

describe('awb inspect on converted families', () => {
  it('LyCORIS LoHa: format lycoris, family loha with r1, r2, alpha and scale; ‖ΔW‖_F equals numpy’s', async () => {
    const { io, out, err } = fakeCliIo();
    expect(await main(['inspect', 'fixtures/families/lycoris-loha.safetensors', '--json'], io), err()).toBe(0);
    const report = JSON.parse(out()) as InspectReport;
    expect(report.adapter.format).toBe('lycoris');
    const g = golden('lycoris-loha');
    const q = report.modules.find((m) => m.name === 'lora_unet_down_blocks_0_attn_to_q')!;
    expect(q.family).toEqual({ name: 'loha', params: { naming: 'lycoris', r1: 2, r2: 2, alpha: 1, scale: 0.5 }, conversion: 'exact', relativeError: 0 });
    expect(q.rank).toBe(4);
    for (const m of report.modules) expect(m.deltaNorm! / g.modules[m.name]!.norm).toBeCloseTo(1, 9);
    expect(report.modules.find((m) => m.name === 'lora_unet_plain')!.family).toBeUndefined();
  });

  it('PEFT LoKr: family lokr with the Kronecker factor shapes and the config scale α/r = 3', async () => {
    const { io, out } = fakeCliIo();
    expect(await main(['inspect', 'fixtures/families/peft-lokr', '--json'], io)).toBe(0);
    const report = JSON.parse(out()) as InspectReport;
    expect(report.adapter.format).toBe('peft-lokr');
    expect(report.modules[0]!.family).toMatchObject({ name: 'lokr', conversion: 'exact', params: { w1: [2, 2], w2: [4, 6], w2Rank: 2, alpha: 6, scale: 3 } });
  });
});

describe('mixed merge of a LoHa, a LoKr and a plain LoRA on the same base', () => {
  it('cat gives a loadable PEFT LoRA with ΔW = ΔW_loha + ΔW_lokr + ΔW_lora (1e-6 relative)', async () => {
    const plain = join(TMP, 'plain');
    mkdirSync(plain);
    const A = Array.from({ length: 3 * 12 }, (_, i) => Math.sin(i + 1));
    const B = Array.from({ length: 8 * 3 }, (_, i) => Math.cos(2 * i + 1));
    await writeSafetensors(join(plain, 'adapter_model.safetensors'), [
      floatTensor('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', 'F32', [3, 12], A),
      floatTensor('base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', 'F32', [8, 3], B),
    ]);
    writeFileSync(join(plain, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 3, lora_alpha: 6, target_modules: ['q_proj'], base_model_name_or_path: 'tiny/base' }));
    const out = join(TMP, 'merged');
    const { io, err } = fakeCliIo();
    const code = await main(['merge', '--method', 'cat', join(FIX, 'peft-loha'), join(FIX, 'peft-lokr'), plain, '-o', out, '--quiet'], io);
    expect(code, err()).toBe(0);
    const merged = await loadAdapter(out);
    try {
      expect(merged.format).toBe('peft');
      const loha = golden('peft-loha').modules;
      const lokr = golden('peft-lokr').modules;
      const q = 'model.layers.0.self_attn.q_proj';
      const k = 'model.layers.0.self_attn.k_proj';
      // plain LoRA ΔW from the stored f32 values
      const src = await loadAdapter(plain);
      const pf = await src.modules[0]!.load();
      const pd = matmul(pf.B, pf.A);
      await src.close();
      for (const m of merged.modules) {
        const f = await m.load();
        const got = matmul(f.B, f.A);
        const want = m.name === q ? loha[q]!.delta.map((v, i) => v + lokr[q]!.delta[i]! + 2 * pd.data[i]!) : loha[k]!.delta;
        let diff = 0;
        let norm = 0;
        for (let i = 0; i < want.length; i++) {
          diff += (m.scale * got.data[i]! - want[i]!) ** 2;
          norm += want[i]! ** 2;
        }
        expect(Math.sqrt(diff / norm), m.name).toBeLessThan(1e-6);
      }
      expect(merged.modules.map((m) => m.name).sort()).toEqual([k, q]);
    } finally {
      await merged.close();
    }
  });
});

describe('awb analyze on a converted family', () => {
  it('the LoKr module’s spectrum equals numpy’s singular values of the dense ΔW (non-zero ones)', async () => {
    const file = join(TMP, 'lokr-analysis.json');
    const { io, err } = fakeCliIo();
    expect(await main(['analyze', '--adapter', 'fixtures/families/lycoris-lokr.safetensors', '--json', file], io), err()).toBe(0);
    const report = JSON.parse(readFileSync(file, 'utf8')) as { modules: { module: string; spectrum: { singularValues: number[] } }[] };
    const want = (JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures', 'golden', 'families', 'lycoris-lokr.json'), 'utf8')) as { truncation: { singularValues: number[] } }).truncation.singularValues.filter((v) => v > 1e-9);
    const got = report.modules.find((m) => m.module === 'lora_unet_a')!.spectrum.singularValues.filter((v) => v > 1e-9);
    expect(got.length).toBe(want.length);
    got.forEach((v, i) => expect(v / want[i]!).toBeCloseTo(1, 9));
  });
});

