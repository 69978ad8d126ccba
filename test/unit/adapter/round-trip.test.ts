// Export after import gives the same ΔW for every module (products compared, never factors):
// F32 within 1e-6 relative; F16 within 2e-3 (unit roundoff 4.9e-4, two factors); BF16 within 1.6e-2
// (unit roundoff 3.9e-3, two factors).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adapterModules } from '../../../src/adapter/adapter-modules.ts';
import { kohyaModuleName, writeKohyaAdapter } from '../../../src/adapter/export-kohya.ts';
import { writePeftAdapter } from '../../../src/adapter/export-peft.ts';
import { factoredRelativeDistance } from '../../../src/adapter/factored-norm.ts';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';
import type { Adapter } from '../../../src/adapter/types.ts';
import type { ExportDType } from '../../../src/adapter/export-tensors.ts';
import { suiteTempDir } from '../../helpers/temp-dir.ts';
import { REPO_ROOT } from '../../helpers/paths.ts';

const TMP = suiteTempDir('awb-rt-');

const TOLERANCE: Record<ExportDType, number> = { F32: 1e-6, F16: 2e-3, BF16: 1.6e-2 };

async function expectSameDeltas(a: Adapter, b: Adapter, tol: number, rename: (n: string) => string = (n) => n): Promise<void> {
  expect(b.modules.length).toBe(a.modules.length);
  const byName = new Map(b.modules.map((m) => [m.name, m]));
  for (const m of a.modules) {
    const other = byName.get(rename(m.name));
    expect(other, `module ${m.name} missing after the round trip`).toBeDefined();
    expect(other!.layout).toEqual(m.layout);
    expect([other!.outFeatures, other!.inFeatures]).toEqual([m.outFeatures, m.inFeatures]);
    const f = await m.load();
    const g = await other!.load();
    const d = factoredRelativeDistance(f.A, f.B, m.scale, g.A, g.B, other!.scale);
    expect(d, `${m.name}: relative ΔW distance`).toBeLessThanOrEqual(tol);
    if (f.doraMagnitude) {
      expect(g.doraMagnitude).toBeDefined();
      f.doraMagnitude.forEach((v, i) => expect(Math.abs(g.doraMagnitude![i]! - v)).toBeLessThanOrEqual(tol * Math.abs(v)));
    }
  }
}

const CASES = [
  'fixtures/real/gpt2-anirudh',
  'fixtures/real/tinygpt2-ih',
  'fixtures/real/distilbert-imdb',
  'fixtures/real/opt125m-lab08',
  'fixtures/real/gemma3-logo',
  'fixtures/real/sd15-attnproc-catundchat',
  'fixtures/adapters/llama-c',
  'fixtures/adapters/peft-features',
  'fixtures/adapters/kohya-sample',
  'fixtures/adapters/mlx-sample',
  'fixtures/adapters/diffusers-sample',
];

describe('PEFT export round trip', () => {
  let n = 0;
  for (const source of CASES) {
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      if (dtype !== 'F32' && !source.includes('llama-c') && !source.includes('gpt2-anirudh')) continue;
      it(`${source} → PEFT ${dtype} → load: same ΔW within ${TOLERANCE[dtype]}`, async () => {
        const a = await loadAdapter(join(REPO_ROOT, source));
        const out = join(TMP, `peft-${n++}`);
        const written = await writePeftAdapter(out, { modules: adapterModules(a), extras: a.extras, config: a.config, baseModel: a.baseModel, dtype });
        const b = await loadAdapter(out);
        try {
          expect(b.format).toBe('peft');
          expect(b.dtype).toBe(dtype);
          expect(written.moduleCount).toBe(a.modules.length);
          await expectSameDeltas(a, b, TOLERANCE[dtype]);
          // Extras come back byte for byte.
          expect(b.extras.map((e) => e.key).sort()).toEqual(a.extras.map((e) => e.key).sort());
          for (const e of a.extras) {
            const back = b.extras.find((x) => x.key === e.key)!;
            expect(back.dtype).toBe(e.dtype);
            expect(Buffer.from(await back.readBytes()).equals(Buffer.from(await e.readBytes()))).toBe(true);
          }
        } finally {
          await a.close();
          await b.close();
        }
      });
    }
  }
});

describe('kohya export round trip', () => {
  for (const source of ['fixtures/adapters/llama-c', 'fixtures/adapters/kohya-sample', 'fixtures/adapters/mlx-sample']) {
    it(`${source} → kohya F32 → load: same ΔW within 1e-6`, async () => {
      const a = await loadAdapter(join(REPO_ROOT, source));
      const file = join(TMP, `${source.split('/').pop()}.safetensors`);
      const written = await writeKohyaAdapter(file, { modules: adapterModules(a) });
      const b = await loadAdapter(file);
      try {
        expect(b.format).toBe('kohya');
        expect(written.tensorCount).toBe(3 * a.modules.length);
        await expectSameDeltas(a, b, 1e-6, kohyaModuleName);
      } finally {
        await a.close();
        await b.close();
      }
    });
  }
});

it('refuses to write a DoRA module as kohya (the magnitude has nowhere to go)', async () => {
  const a = await loadAdapter(join(REPO_ROOT, 'fixtures/adapters/peft-features'));
  const error = await writeKohyaAdapter(join(TMP, 'dora.safetensors'), { modules: adapterModules(a) }).catch((e: unknown) => e);
  await a.close();
  expect((error as { code?: string }).code).toBe('INVALID_ARGUMENT');
  expect((error as Error).message).toMatch(/model\.layers\.0\.self_attn\.q_proj.*DoRA/);
});
