import { describe, expect, it } from 'vitest';
import { defineComponent, h, markRaw } from 'vue';
import { mount } from '@vue/test-utils';
import DiagnosticsReportView from './DiagnosticsReportView.vue';
import { syntheticReport } from '../test-support/synthetic-report.ts';
import { intruderGrid, moduleIntrudersAt } from '../utils/report-view.ts';

// The chart component is replaced by one that records the option it was given, so the test sees
// exactly what ECharts would draw without a canvas (jsdom has none).
const ChartStub = defineComponent({
  name: 'EChart',
  props: { option: { type: Object, required: true }, label: String, height: String },
  emits: ['click'],
  setup(props, { emit }) {
    return () =>
      h('div', {
        'data-test': 'chart',
        'data-label': props.label,
        'data-points': JSON.stringify(((props.option as { series?: { data?: unknown[] }[] }).series ?? []).map((s) => s.data?.length ?? 0)),
        onClick: (e: MouseEvent) => emit('click', (e as MouseEvent & { detail2?: unknown }).detail2 ?? { data: [0, 0] }),
      });
  },
});
// The page holds the fetched report in a shallowRef (useResource), so it is never made deeply
// reactive; markRaw gives the component the same plain object here.
const mountReport = (report = syntheticReport()) =>
  mount(DiagnosticsReportView, { props: { report: markRaw(report) }, global: { stubs: { EChart: ChartStub } } });

describe('report page with 224 modules × 8 adapters', () => {
  it('renders everything in under 2 s, with one page of the module table', () => {
    const report = syntheticReport();
    expect(report.modules).toHaveLength(224 * 8);
    // Warm the component code on a small report first, so the timing is the cost of the size,
    // not of jsdom and the JIT starting cold (the browser e2e measures a cold page load).
    mountReport(syntheticReport({ adapters: 2, layers: 2, types: 2 })).unmount();
    const t0 = performance.now();
    const w = mountReport(report);
    const elapsed = performance.now() - t0;
    console.info(`report view 224×8: first render ${elapsed.toFixed(0)} ms`);
    expect(elapsed).toBeLessThan(2000);
    expect(w.findAll('[data-test="module-table"] [data-test="table-row"]')).toHaveLength(50);
    expect(w.get('[data-test="module-table"] [data-test="table-count"]').text()).toBe('1792 of 1792');
    // heatmap: 28 layers × 8 module types for the chosen adapter; sweep: 19 ε values
    const heat = w.get('[data-label="Intruder counts by layer and module type"]');
    expect(JSON.parse(heat.attributes('data-points')!)).toEqual([224]);
    const retention = w.get('[data-label="Retention per merge input"]');
    expect(JSON.parse(retention.attributes('data-points')!)).toEqual([8, 8]);
    const overlap = w.get('[data-label="Overlap between adapters"]');
    expect(JSON.parse(overlap.attributes('data-points')!)).toEqual([64]);
  });

  it('recomputes intruder counts when ε moves, from the stored cosine bounds', async () => {
    const report = syntheticReport({ adapters: 2, layers: 4, types: 2 });
    const w = mountReport(report);
    const expected = (eps: number) =>
      report.modules.filter((m) => m.adapterIndex === 0).reduce((s, m) => s + (moduleIntrudersAt(m, eps)?.intruders ?? 0), 0);
    expect(w.get('[data-test="intruder-total"]').text()).toContain(`${expected(0.5)} intruder(s)`);
    await w.get('[data-test="epsilon"]').setValue('0.2');
    expect(w.get('[data-test="intruder-total"]').text()).toContain(`${expected(0.2)} intruder(s)`);
    expect(expected(0.2)).toBeLessThan(expected(0.5));
  });

  it('opens a module’s similarity matrix and spectra from a heatmap cell', async () => {
    const report = syntheticReport({ adapters: 2, layers: 3, types: 2 });
    const w = mountReport(report);
    expect(w.find('[data-test="module-inspector"]').exists()).toBe(false);
    const heat = w.findAllComponents(ChartStub).find((c) => c.props('label') === 'Intruder counts by layer and module type');
    heat!.vm.$emit('click', { data: [1, 0, 0, 0] }); // layer 1, first module type
    await w.vm.$nextTick();
    const inspector = w.get('[data-test="module-inspector"]');
    expect(inspector.text()).toContain('model.layers.1.');
    expect(inspector.find('[data-label^="Similarity matrix of"]').exists()).toBe(true);
    expect(JSON.parse(inspector.get('[data-label^="Similarity matrix of"]').attributes('data-points')!)).toEqual([10 * 32]);
  });
});

describe('intruder grid', () => {
  it('counts a vector as an intruder only when its upper bound is below ε, undecided when ε splits the bounds', () => {
    const report = syntheticReport({ adapters: 1, layers: 1, types: 1, k: 3 });
    const entry = report.modules[0]!;
    const vectors = [
      { ...entry.intruders!.vectors[0]!, maxCosLower: 0.2, maxCosUpper: 0.3 },
      { ...entry.intruders!.vectors[1]!, maxCosLower: 0.45, maxCosUpper: 0.55 },
      { ...entry.intruders!.vectors[2]!, maxCosLower: 0.9, maxCosUpper: 0.9 },
    ];
    const fixed = { ...report, modules: [{ ...entry, intruders: { ...entry.intruders!, vectors } }] };
    expect(moduleIntrudersAt(fixed.modules[0]!, 0.5)).toEqual({ intruders: 1, undecided: 1 });
    expect(moduleIntrudersAt(fixed.modules[0]!, 0.6)).toEqual({ intruders: 2, undecided: 0 });
    expect(moduleIntrudersAt(fixed.modules[0]!, 0.1)).toEqual({ intruders: 0, undecided: 0 });
    const grid = intruderGrid(fixed, 0, 0.95);
    expect(grid.total).toBe(3);
    expect(grid.cells).toHaveLength(1);
  });
});
