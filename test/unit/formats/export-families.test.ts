// Export back to LoHa / LoKr is exact: re-importing the written file gives the numpy golden ΔW, and a
// LoHa module's own factors come back unchanged.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';
import { lohaExportTensors, writeFamilyFile, type FamilyNaming } from '../../../src/formats/export-loha.ts';
import { lokrExportTensors } from '../../../src/formats/export-lokr.ts';
import { openSafetensors } from '../../../src/safetensors/reader.ts';
import { matmul } from '../../../src/tensor/matrix.ts';
import { suiteTempDir } from '../../helpers/temp-dir.ts';
import { REPO_ROOT } from '../../helpers/paths.ts';

const FIX = join(REPO_ROOT, 'fixtures', 'families');
const TMP = suiteTempDir('awb-family-export-');

type Golden = { modules: Record<string, { norm: number; delta: number[] }> };
const golden = (c: string): Golden => JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures', 'golden', 'families', `${c}.json`), 'utf8')) as Golden;

/** Loads `path` and checks every module against the golden, with module names mapped by `rename`. */
async function expectGolden(path: string, c: string, format: string, family: string, rename: (n: string) => string = (n) => n): Promise<void> {
  const g = golden(c);
  const adapter = await loadAdapter(path);
  try {
    expect(adapter.format).toBe(format);
    expect(adapter.modules.length).toBe(Object.keys(g.modules).length);
    for (const [name, want] of Object.entries(g.modules)) {
      const m = adapter.modules.find((x) => x.name === rename(name))!;
      expect(m.family?.name, name).toBe(family);
      const f = await m.load();
      const got = matmul(f.B, f.A);
      let diff = 0;
      for (let i = 0; i < want.delta.length; i++) diff += (m.scale * got.data[i]! - want.delta[i]!) ** 2;
      expect(Math.sqrt(diff) / want.norm, name).toBeLessThan(1e-6);
    }
  } finally {
    await adapter.close();
  }
}

async function exportAs(source: string, out: string, to: 'loha' | 'lokr', naming: FamilyNaming = 'lycoris'): Promise<string> {
  const adapter = await loadAdapter(source);
  try {
    const exported = to === 'loha' ? await lohaExportTensors(adapter.modules, naming) : await lokrExportTensors(adapter.modules);
    return await writeFamilyFile(join(TMP, out), exported);
  } finally {
    await adapter.close();
  }
}

describe('export to LoHa', () => {
  it('LyCORIS LoHa → LyCORIS LoHa: same ΔW, the LoHa factors unchanged; the plain LoRA module becomes a LoHa', async () => {
    const out = await exportAs(join(FIX, 'lycoris-loha.safetensors'), 'loha-rt.safetensors', 'loha');
    await expectGolden(out, 'lycoris-loha', 'lycoris', 'loha');
    const a = await openSafetensors(join(FIX, 'lycoris-loha.safetensors'));
    const b = await openSafetensors(out);
    try {
      for (const key of ['hada_w1_a', 'hada_w1_b', 'hada_w2_a', 'hada_w2_b', 'alpha']) {
        const k = `lora_unet_down_blocks_0_attn_to_q.${key}`;
        expect([...(await b.readFloat64(k))], k).toEqual([...(await a.readFloat64(k))]);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('PEFT LoHa → PEFT LoHa folder (rank_pattern / alpha_pattern per module): same ΔW', async () => {
    const out = await exportAs(join(FIX, 'peft-loha'), 'peft-loha-rt', 'loha', 'peft');
    await expectGolden(out, 'peft-loha', 'peft-loha', 'loha');
  });
});

describe('export to LoKr', () => {
  it('LyCORIS LoKr (incl. a conv module) → LyCORIS LoKr: same ΔW', async () => {
    const out = await exportAs(join(FIX, 'lycoris-lokr.safetensors'), 'lokr-rt.safetensors', 'lokr');
    await expectGolden(out, 'lycoris-lokr', 'lycoris', 'lokr');
  });

  it('LoHa and plain LoRA modules → LoKr kron([[1]], B·A): same ΔW', async () => {
    const out = await exportAs(join(FIX, 'lycoris-loha.safetensors'), 'loha-as-lokr.safetensors', 'lokr');
    await expectGolden(out, 'lycoris-loha', 'lycoris', 'lokr');
  });
});
