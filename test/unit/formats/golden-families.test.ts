// Every family fixture (fixtures/families/generate.py) is imported through loadAdapter, converted to LoRA
// form and compared with ΔW computed independently by numpy (fixtures/golden/families/*.json).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';
import { isWorkbenchError } from '../../../src/errors.ts';
import { kroneckerToLora } from '../../../src/formats/kronecker-svd.ts';
import { matmul } from '../../../src/tensor/matrix.ts';
import { REPO_ROOT } from '../../helpers/paths.ts';

const FIX = join(REPO_ROOT, 'fixtures', 'families');

interface Golden {
  modules: Record<string, { rows: number; cols: number; norm: number; delta: number[] }>;
  truncation?: { module: string; rank: number; relativeError: number; singularValues: number[] };
}
const golden = (c: string): Golden => JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures', 'golden', 'families', `${c}.json`), 'utf8')) as Golden;

/** ‖scale·B·A − golden‖_F / ‖golden‖_F for every module; the stored inputs are exact f32 values, so 1e-6 is loose. */
async function relativeErrors(path: string, c: string): Promise<{ format: string; errors: Record<string, number>; families: Record<string, string | undefined> }> {
  const adapter = await loadAdapter(path);
  try {
    const g = golden(c);
    expect(adapter.modules.map((m) => m.name).sort()).toEqual(Object.keys(g.modules).sort());
    const errors: Record<string, number> = {};
    const families: Record<string, string | undefined> = {};
    for (const m of adapter.modules) {
      const want = g.modules[m.name]!;
      expect([m.outFeatures, m.inFeatures]).toEqual([want.rows, want.cols]);
      const f = await m.load();
      expect([f.B.cols, f.A.rows]).toEqual([m.rank, m.rank]);
      const got = matmul(f.B, f.A);
      let diff = 0;
      for (let i = 0; i < want.delta.length; i++) diff += (m.scale * got.data[i]! - want.delta[i]!) ** 2;
      errors[m.name] = Math.sqrt(diff) / want.norm;
      families[m.name] = m.family?.name;
    }
    return { format: adapter.format, errors, families };
  } finally {
    await adapter.close();
  }
}

const cases: { c: string; path: string; format: string; family: string }[] = [
  { c: 'lycoris-loha', path: 'lycoris-loha.safetensors', format: 'lycoris', family: 'loha' },
  { c: 'lycoris-lokr', path: 'lycoris-lokr.safetensors', format: 'lycoris', family: 'lokr' },
  { c: 'peft-loha', path: 'peft-loha', format: 'peft-loha', family: 'loha' },
  { c: 'peft-lokr', path: 'peft-lokr', format: 'peft-lokr', family: 'lokr' },
  { c: 'peft-miss', path: 'peft-miss', format: 'peft-miss', family: 'miss' },
  { c: 'peft-vera', path: 'peft-vera', format: 'peft-vera', family: 'vera' },
  { c: 'peft-randlora', path: 'peft-randlora', format: 'peft-randlora', family: 'randlora' },
  { c: 'lora-xs', path: 'lora-xs', format: 'lora-xs', family: 'lora-xs' },
];

describe('family fixtures against numpy goldens', () => {
  for (const { c, path, format, family } of cases) {
    it(`${c}: detected as ${format}, every module's ΔW within 1e-6 relative`, async () => {
      const r = await relativeErrors(join(FIX, path), c);
      expect(r.format).toBe(format);
      for (const [name, e] of Object.entries(r.errors)) {
        expect(e, name).toBeLessThan(1e-6);
        if (name !== 'lora_unet_plain') expect(r.families[name], name).toBe(family);
      }
    });
  }

  it('the plain LoRA module inside a LyCORIS file stays a plain LoRA (no family tag)', async () => {
    const r = await relativeErrors(join(FIX, 'lycoris-loha.safetensors'), 'lycoris-loha');
    expect(r.families.lora_unet_plain).toBeUndefined();
  });

  it("LoKr truncated to rank 2 reports the same relative error as numpy's dense SVD", async () => {
    const g = golden('lycoris-lokr').truncation!;
    const adapter = await loadAdapter(join(FIX, 'lycoris-lokr.safetensors'));
    try {
      expect(adapter.modules.find((m) => m.name === g.module)?.family?.params).toMatchObject({ w1: [2, 3], w2: [4, 4], w2Rank: 2 });
    } finally {
      await adapter.close();
    }
    // W1 and W2 straight from the file; the error comes from the discarded σ1_i·σ2_j, never a dense ΔW.
    const { openSafetensors } = await import('../../../src/safetensors/reader.ts');
    const src = await openSafetensors(join(FIX, 'lycoris-lokr.safetensors'));
    try {
      const W1 = { rows: 2, cols: 3, data: await src.readFloat64('lora_unet_a.lokr_w1') };
      const W2 = matmul({ rows: 4, cols: 2, data: await src.readFloat64('lora_unet_a.lokr_w2_a') }, { rows: 2, cols: 4, data: await src.readFloat64('lora_unet_a.lokr_w2_b') });
      const t = kroneckerToLora(W1, W2, { rank: g.rank });
      expect(t.rank).toBe(2);
      expect(t.exact).toBe(false);
      expect(t.relativeError).toBeCloseTo(g.relativeError, 9);
      // the kept singular values are numpy's top two, divided by the scale 0.5
      expect(t.singularValues[0]! * 0.5).toBeCloseTo(g.singularValues[0]!, 9);
      expect(t.singularValues[1]! * 0.5).toBeCloseTo(g.singularValues[1]!, 9);
      const full = kroneckerToLora(W1, W2);
      expect(full.exact).toBe(true);
      expect(full.relativeError).toBeLessThan(1e-12);
    } finally {
      await src.close();
    }
  });

  it('VeRA without its saved bases → FAMILY_UNSUPPORTED naming the missing tensor and the RNG reason', async () => {
    const error = await loadAdapter(join(FIX, 'peft-vera-no-bases')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isWorkbenchError(error) ? error.code : String(error)).toBe('FAMILY_UNSUPPORTED');
    expect((error as Error).message).toContain('base_model.vera_A');
    expect((error as Error).message).toContain('save_projection');
  });
});

describe('truncating a converted module', () => {
  it('the LyCORIS LoKr module cut to rank 2 through truncateModule reports numpy’s best rank-2 error', async () => {
    const { truncateModule } = await import('../../../src/formats/truncate-module.ts');
    const g = golden('lycoris-lokr');
    const t = g.truncation!;
    const adapter = await loadAdapter(join(FIX, 'lycoris-lokr.safetensors'));
    try {
      const m = adapter.modules.find((x) => x.name === t.module)!;
      const cut = await truncateModule(m, { rank: t.rank });
      expect(cut.module.rank).toBe(2);
      expect(cut.module.family).toMatchObject({ name: 'lokr', conversion: 'truncated' });
      expect(cut.relativeError).toBeCloseTo(t.relativeError, 9);
      const f = await cut.module.load();
      const got = matmul(f.B, f.A);
      const want = g.modules[t.module]!;
      let diff = 0;
      for (let i = 0; i < want.delta.length; i++) diff += (got.data[i]! - want.delta[i]!) ** 2;
      expect(Math.sqrt(diff) / want.norm).toBeCloseTo(t.relativeError, 9);
    } finally {
      await adapter.close();
    }
  });
});
