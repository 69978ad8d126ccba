// LoHa with Tucker cores (hada_t1/hada_t2) and LoKr with a Tucker W2 (lokr_t2), in LyCORIS and PEFT naming,
// load as exact LoRA modules with the conv layout: ΔW = scale·B·A is compared with the dense ΔW that
// fixtures/families/generate_tucker.py computes independently by the LyCORIS einsum.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';
import { lohaExportTensors, writeFamilyFile } from '../../../src/formats/export-loha.ts';
import { lokrExportTensors } from '../../../src/formats/export-lokr.ts';
import type { Adapter } from '../../../src/adapter/types.ts';
import { matmul } from '../../../src/tensor/matrix.ts';
import { REPO_ROOT } from '../../helpers/paths.ts';
import { suiteTempDir } from '../../helpers/temp-dir.ts';

const FIX = join(REPO_ROOT, 'fixtures', 'families');
const TMP = suiteTempDir('awb-tucker-');

interface GoldenModule {
  family: string;
  kernel: number[];
  rank: number;
  numericalRank: number;
  rows: number;
  cols: number;
  norm: number;
  delta: number[];
}
const golden = (c: string): Record<string, GoldenModule> =>
  (JSON.parse(readFileSync(join(REPO_ROOT, 'fixtures', 'golden', 'families', `${c}.json`), 'utf8')) as { modules: Record<string, GoldenModule> }).modules;

/** ‖scale·B·A − ΔW_numpy‖_F / ‖ΔW_numpy‖_F per module. */
async function errors(adapter: Adapter, want: Record<string, GoldenModule>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of adapter.modules) {
    const g = want[m.name]!;
    const f = await m.load();
    const d = matmul(f.B, f.A);
    let diff = 0;
    for (let i = 0; i < g.delta.length; i++) diff += (m.scale * d.data[i]! - g.delta[i]!) ** 2;
    out[m.name] = Math.sqrt(diff) / g.norm;
  }
  return out;
}

const TOL = 1e-9;

describe('Tucker LoHa / LoKr import to exact LoRA form', () => {
  const cases = [
    { c: 'lycoris-tucker', path: 'lycoris-tucker.safetensors', format: 'lycoris' },
    { c: 'peft-loha-tucker', path: 'peft-loha-tucker', format: 'peft-loha' },
    { c: 'peft-lokr-tucker', path: 'peft-lokr-tucker', format: 'peft-lokr' },
  ];
  for (const { c, path, format } of cases) {
    it(`${c}: conv layout, rank r² (LoHa) or min(a,c)·r (LoKr), ΔW within ${TOL} of numpy's einsum`, async () => {
      const want = golden(c);
      const adapter = await loadAdapter(join(FIX, path));
      try {
        expect(adapter.format).toBe(format);
        expect(adapter.modules.map((m) => m.name).sort()).toEqual(Object.keys(want).sort());
        for (const m of adapter.modules) {
          const g = want[m.name]!;
          expect(m.family?.name).toBe(g.family);
          expect(m.family?.conversion).toBe('exact');
          expect(m.family?.params.tucker).toBe(true);
          expect(m.layout).toEqual({ kind: 'conv', kernel: g.kernel });
          expect([m.outFeatures, m.inFeatures, m.rank]).toEqual([g.rows, g.cols, g.rank]);
          expect(m.rank).toBeGreaterThanOrEqual(g.numericalRank);
          const f = await m.load();
          expect([f.B.rows, f.B.cols, f.A.rows, f.A.cols]).toEqual([g.rows, m.rank, m.rank, g.cols]);
        }
        const e = await errors(adapter, want);
        for (const [name, err] of Object.entries(e)) expect(err, name).toBeLessThan(TOL);
      } finally {
        await adapter.close();
      }
    });
  }

  it('a Tucker LoHa exported back to LoHa and a Tucker LoKr exported to LoKr reload with the same ΔW', async () => {
    const want = golden('lycoris-tucker');
    const adapter = await loadAdapter(join(FIX, 'lycoris-tucker.safetensors'));
    try {
      const loha = adapter.modules.filter((m) => m.family?.name === 'loha');
      const lokr = adapter.modules.filter((m) => m.family?.name === 'lokr');
      expect(loha.length).toBe(2);
      expect(lokr.length).toBe(2);
      const pLoha = await writeFamilyFile(join(TMP, 'loha.safetensors'), await lohaExportTensors(loha, 'lycoris'));
      const pLokr = await writeFamilyFile(join(TMP, 'lokr.safetensors'), await lokrExportTensors(lokr));
      for (const p of [pLoha, pLokr]) {
        const back = await loadAdapter(p);
        try {
          const e = await errors(back, want);
          expect(Object.keys(e).length).toBe(2);
          for (const [name, err] of Object.entries(e)) expect(err, name).toBeLessThan(1e-6); // written as F32
        } finally {
          await back.close();
        }
      }
    } finally {
      await adapter.close();
    }
  });
});
