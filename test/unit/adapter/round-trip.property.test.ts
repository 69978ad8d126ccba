// Property: any set of modules (ranks 1–6, layouts linear / fan_in_fan_out / embedding / conv, any
// non-zero scale) written as PEFT F32 and loaded back gives the same names, ranks, scales, layouts and
// ΔW (products compared, 1e-6 relative), whatever the order the modules were streamed in.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { writePeftAdapter } from '../../../src/adapter/export-peft.ts';
import { factoredRelativeDistance } from '../../../src/adapter/factored-norm.ts';
import { loadAdapter } from '../../../src/adapter/load-adapter.ts';
import { compareModuleNames } from '../../../src/adapter/module-order.ts';
import type { ExportModule, Layout } from '../../../src/adapter/types.ts';
import { suiteTempDir } from '../../helpers/temp-dir.ts';

const TMP = suiteTempDir('awb-prop-');

const value = fc.double({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true }).map((v) => Math.fround(v));

const moduleArb = fc
  .record({
    rank: fc.integer({ min: 1, max: 6 }),
    out: fc.integer({ min: 1, max: 9 }),
    inBase: fc.integer({ min: 1, max: 9 }),
    kind: fc.constantFrom<Layout['kind']>('linear', 'linear_fan_in_fan_out', 'embedding', 'conv'),
    scale: fc.oneof(fc.constantFrom(1, 2, 0.25, 4 / 3), fc.double({ min: 0.01, max: 50, noNaN: true })),
    seedValues: fc.array(value, { minLength: 1, maxLength: 8 }),
  })
  .map(({ rank, out, inBase, kind, scale, seedValues }) => {
    const kernel = kind === 'conv' ? [3, 1] : undefined;
    const n = inBase * (kernel ? 3 : 1);
    const pick = (i: number): number => seedValues[i % seedValues.length]! + i * 1e-3;
    const layout: Layout = kind === 'conv' ? { kind, kernel: kernel! } : { kind };
    return {
      A: { rows: rank, cols: n, data: Float64Array.from({ length: rank * n }, (_, i) => Math.fround(pick(i))) },
      B: { rows: out, cols: rank, data: Float64Array.from({ length: out * rank }, (_, i) => Math.fround(pick(i + 7))) },
      scale,
      layout,
    };
  });

describe('PEFT export → load (property)', () => {
  it('preserves names, ranks, scales, layouts and ΔW', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(moduleArb, { minLength: 1, maxLength: 5 }), async (specs) => {
        const modules: ExportModule[] = specs.map((s, i) => ({ name: `model.layers.${(i * 7) % 12}.block${i}.proj`, ...s }));
        const out = join(TMP, `p${run++}`);
        await writePeftAdapter(out, { modules: [...modules].reverse() });
        const back = await loadAdapter(out);
        try {
          const expected = [...modules].sort((a, b) => compareModuleNames(a.name, b.name));
          expect(back.modules.map((m) => m.name)).toEqual(expected.map((m) => m.name));
          for (const [i, m] of back.modules.entries()) {
            const e = expected[i]!;
            expect(m.rank).toBe(e.A.rows);
            expect(m.layout).toEqual(e.layout);
            expect(Math.abs(m.scale - e.scale) / e.scale).toBeLessThan(1e-12);
            const f = await m.load();
            const zero = e.B.data.every((v) => v === 0) || e.A.data.every((v) => v === 0);
            if (!zero) expect(factoredRelativeDistance(e.A, e.B, e.scale, f.A, f.B, m.scale)).toBeLessThan(1e-6);
          }
        } finally {
          await back.close();
          rmSync(out, { recursive: true, force: true });
        }
      }),
      { numRuns: 30, seed: 20261124 },
    );
  });
});
