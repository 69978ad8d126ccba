// Every published adapter in fixtures/real (and every sample in fixtures/adapters) loads with the
// format, module names, ranks, scales, orientation and ‖ΔW‖_F that an independent numpy reading of
// the same files gives (fixtures/golden/adapters/make-golden.py → *.json).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';
import { inspectAdapter } from '../../../src/adapter/inspect-adapter.ts';
import { isWorkbenchError } from '../../../src/errors.ts';
import { compareModuleNames } from '../../../src/adapter/module-order.ts';
import { REPO_ROOT } from '../../helpers/paths.ts';

const GOLDEN_DIR = join(REPO_ROOT, 'fixtures', 'golden', 'adapters');

interface GoldenModule {
  rank: number;
  alpha: number;
  scale: number;
  outFeatures: number;
  inFeatures: number;
  layout: string;
  deltaNorm: number | null;
  corner: number[][] | null;
  nonFinite: number;
}
interface Golden {
  source: string;
  format: string;
  dtype: string;
  moduleCount: number;
  nonFinite: number;
  extras: string[];
  baseModel: string | null;
  modules: Record<string, GoldenModule>;
}

const goldens = readdirSync(GOLDEN_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(GOLDEN_DIR, f), 'utf8')) as Golden);

/** Relative tolerance for quantities both sides compute in f64 from the same stored values. */
const F64_REL = 1e-9;

function expectClose(actual: number, expected: number, rel: number, what: string): void {
  const tol = rel * Math.max(1, Math.abs(expected));
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tol);
}

describe('real and sample adapters match an independent numpy reading', () => {
  it('has a golden file for every real adapter except the full model', () => {
    const real = readdirSync(join(REPO_ROOT, 'fixtures', 'real'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name !== 'base-tinygpt2')
      .map((d) => `fixtures/real/${d.name}`);
    expect(goldens.map((g) => g.source).filter((s) => s.startsWith('fixtures/real/')).sort()).toEqual(real.sort());
  });

  for (const golden of goldens) {
    it(`${golden.source}: format ${golden.format}, ${golden.moduleCount} modules, ranks, scales, layout, norms`, async () => {
      const adapter = await loadAdapter(join(REPO_ROOT, golden.source), { allowNonFinite: golden.nonFinite > 0 });
      try {
        expect(adapter.format).toBe(golden.format);
        expect(adapter.dtype).toBe(golden.dtype);
        expect(adapter.modules.map((m) => m.name)).toEqual(Object.keys(golden.modules).sort(compareModuleNames));
        expect(adapter.extras.map((e) => e.key).sort()).toEqual(golden.extras);
        if (golden.baseModel) expect(adapter.baseModel).toBe(golden.baseModel);
        const report = await inspectAdapter(adapter);
        expect(report.summary.nonFiniteValues).toBe(golden.nonFinite);
        for (const [i, module] of adapter.modules.entries()) {
          const g = golden.modules[module.name]!;
          expect(module.rank).toBe(g.rank);
          expect([module.outFeatures, module.inFeatures]).toEqual([g.outFeatures, g.inFeatures]);
          expect(module.layout.kind).toBe(g.layout);
          expectClose(module.alpha, g.alpha, 1e-12, `${module.name} alpha`);
          expectClose(module.scale, g.scale, 1e-12, `${module.name} scale`);
          const row = report.modules[i]!;
          expect(row.nonFinite).toBe(g.nonFinite);
          if (g.deltaNorm === null) {
            expect(row.deltaNorm).toBeNull();
            continue;
          }
          expectClose(row.deltaNorm!, g.deltaNorm, F64_REL, `${module.name} ‖ΔW‖`);
          const { A, B } = await module.load();
          const r = module.rank;
          g.corner!.forEach((cornerRow, p) =>
            cornerRow.forEach((expected, q) => {
              let sum = 0;
              for (let k = 0; k < r; k++) sum += B.data[p * r + k]! * A.data[k * A.cols + q]!;
              expectClose(module.scale * sum, expected, F64_REL, `${module.name} ΔW[${p},${q}]`);
            }),
          );
        }
      } finally {
        await adapter.close();
      }
    });
  }

  it('refuses the all-NaN gemma2b-sql adapter unless allowNonFinite is set, naming a module and a count', async () => {
    const error = await loadAdapter(join(REPO_ROOT, 'fixtures/real/gemma2b-sql')).catch((e: unknown) => e);
    expect(isWorkbenchError(error) && error.code).toBe('ADAPTER_NONFINITE');
    expect((error as Error).message).toMatch(/model\.layers\.0\.self_attn\.q_proj.*65536/);
    const loaded = await loadAdapter(join(REPO_ROOT, 'fixtures/real/gemma2b-sql'), { allowNonFinite: true });
    expect(loaded.warnings.join('\n')).toMatch(/1843200 non-finite/);
    await loaded.close();
  });

  it('refuses the full tiny GPT-2 checkpoint with ADAPTER_NOT_FOUND', async () => {
    const error = await loadAdapter(join(REPO_ROOT, 'fixtures/real/base-tinygpt2')).catch((e: unknown) => e);
    expect(isWorkbenchError(error) && error.code).toBe('ADAPTER_NOT_FOUND');
    expect((error as Error).message).toMatch(/model\.safetensors.*28 tensors.*full model/);
  });

  it('detects GPT-2 Conv1D layers stored transposed and records why (distilbert does not)', async () => {
    const gpt2 = await loadAdapter(join(REPO_ROOT, 'fixtures/real/gpt2-tigrinya'));
    expect(new Set(gpt2.modules.map((m) => m.layout.kind))).toEqual(new Set(['linear_fan_in_fan_out']));
    await gpt2.close();
    const bert = await loadAdapter(join(REPO_ROOT, 'fixtures/real/distilbert-emotion'));
    expect(bert.extras.map((e) => e.role)).toEqual(['modules_to_save', 'modules_to_save', 'modules_to_save', 'modules_to_save']);
    await bert.close();
  });
});
