// inspectAdapter on hand-checkable factors, and the one-line summaries the CLI prints.
import { describe, expect, it } from 'vitest';
import { describeCounts, inspectAdapter } from '../../../src/adapter/inspect-adapter.ts';
import { inMemoryAdapter } from '../../../src/adapter/in-memory-adapter.ts';
import { fromRows } from '../../../src/tensor/matrix.ts';

describe('inspectAdapter', () => {
  it('reports ‖0.5·[[1],[2]]·[[3,4]]‖_F = 0.5·√5·5, ranks, parameters and targets', async () => {
    const adapter = inMemoryAdapter({
      name: 'hand',
      baseModel: 'x/y',
      modules: [
        { name: 'model.layers.0.q_proj', A: fromRows([[3, 4]]), B: fromRows([[1], [2]]), scale: 0.5, layout: { kind: 'linear' } },
        { name: 'model.layers.1.q_proj', A: fromRows([[1, 0], [0, 1]]), B: fromRows([[1, 0], [0, 1]]), scale: 2, layout: { kind: 'linear' } },
      ],
    });
    const report = await inspectAdapter(adapter);
    expect(report.modules.map((m) => m.deltaNorm)).toEqual([expect.closeTo(0.5 * Math.sqrt(5) * 5, 12), expect.closeTo(2 * Math.SQRT2, 12)]);
    expect(report.summary.totalDeltaNorm).toBeCloseTo(Math.sqrt(31.25 + 8), 12);
    expect(report.summary.parameterCount).toBe(1 * (2 + 2) + 2 * (2 + 2));
    expect(report.summary.ranks).toEqual([
      { value: 1, count: 1 },
      { value: 2, count: 1 },
    ]);
    expect(report.targets).toEqual([{ value: 'q_proj', count: 2 }]);
    expect(report.adapter).toMatchObject({ name: 'hand', format: 'memory', baseModel: 'x/y', files: [] });
    expect(report.compute).toBe('ts (factored norms)');
  });

  it('skips the factors when norms are off', async () => {
    let loads = 0;
    const base = inMemoryAdapter({ name: 'n', modules: [{ name: 'a', A: fromRows([[1]]), B: fromRows([[1]]), scale: 1, layout: { kind: 'linear' } }] });
    const counting = { ...base, modules: base.modules.map((m) => ({ ...m, load: () => (loads++, m.load()) })) };
    const report = await inspectAdapter(counting, { norms: false });
    expect([loads, report.modules[0]!.deltaNorm, report.summary.nonFiniteValues]).toEqual([0, null, null]);
  });
});

describe('describeCounts', () => {
  it('says "all N modules" for one value and lists counts otherwise', () => {
    expect(describeCounts('rank', [{ value: 8, count: 24 }], 24)).toBe('rank 8 (all 24 modules)');
    expect(
      describeCounts('rank', [
        { value: 8, count: 6 },
        { value: 4, count: 1 },
      ], 7),
    ).toBe('rank 8 (6 modules), 4 (1 module)');
  });
});
