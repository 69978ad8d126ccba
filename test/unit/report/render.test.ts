import { beforeAll, describe, expect, it } from 'vitest';
import { runAnalysis } from '../../../src/diagnostics/index.ts';
import {
  effectiveRankOption,
  intruderHeatmapOption,
  intrudersAt,
  overlapOption,
  renderHtml,
  renderJson,
  renderMarkdown,
  similarityOption,
  spectrumOption,
  unitProjectionOption,
  validateReport,
  type DiagnosticsReport,
} from '../../../src/report/index.ts';
import { TOOL_VERSION } from '../../../src/version.ts';

let report: DiagnosticsReport;
let adapterOnly: DiagnosticsReport;
beforeAll(async () => {
  report = await runAnalysis({ adapters: ['fixtures/real/tinygpt2-ih'], base: 'fixtures/real/base-tinygpt2', cacheDir: null, epsilons: [0.5, 0.7], now: () => new Date('2026-01-01T00:00:00Z') });
  adapterOnly = await runAnalysis({ adapters: ['fixtures/real/gemma3-logo', 'fixtures/real/gemma3-svg-main'], cacheDir: null, modules: ['layers.0.', 'layers.1.'] });
});

describe('report JSON', () => {
  it('round-trips through JSON and validates; a future schemaVersion is refused with REPORT_INVALID', () => {
    const parsed = JSON.parse(renderJson(report)) as Record<string, unknown>;
    expect(validateReport(parsed).schemaVersion).toBe(1);
    expect(parsed.createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect(() => validateReport({ ...parsed, schemaVersion: 2 })).toThrow(expect.objectContaining({ code: 'REPORT_INVALID' }));
    expect(() => validateReport({ ...parsed, modules: {} })).toThrow(/"modules" must be an array/);
  });
});

describe('Markdown summary', () => {
  it('states backend, tool version, seed, input hashes, ε, k and the route of every decision', () => {
    const md = renderMarkdown(report);
    expect(md).toContain(report.backend);
    expect(md).toContain(TOOL_VERSION);
    expect(md).toContain('seed 42');
    expect(md).toContain('k = 10');
    expect(md).toContain('ε = 0.5, 0.7');
    expect(md).toContain(report.inputs.adapters[0]!.sha256[0]!.sha256.slice(0, 12));
    const decided = report.modules.reduce((n, m) => n + (m.intruders?.vectors.length ?? 0), 0);
    const routeLines = md.split('\n').filter((l) => /^- (certified|full SVD)/.test(l));
    expect(routeLines.reduce((n, l) => n + Number(l.split(': ').at(-1)), 0)).toBe(decided);
    expect(md).toContain(`| tinygpt2-ih | 6 | ${report.intruders![0]!.counts[0]!.intruders} | ${report.intruders![0]!.counts[1]!.intruders} |`);
  });

  it('lists overlaps between adapters when there is no base', () => {
    const md = renderMarkdown(adapterOnly);
    expect(md).toContain('## Overlap between adapters');
    expect(md).toContain('gemma3-logo ↔ gemma3-svg-main');
    expect(md).not.toContain('## Intruder dimensions');
  });
});

describe('chart option builders (shared with the dashboard)', () => {
  it('the intruder heatmap sums to the total count at the first ε', () => {
    const option = intruderHeatmapOption(report, 0) as { series: { data: number[][] }[] };
    const sum = option.series[0]!.data.reduce((n, d) => n + d[2]!, 0);
    expect(sum).toBe(report.intruders![0]!.counts[0]!.intruders);
  });

  it('the spectrum is plotted on a log axis with the adapter, base and tuned series', () => {
    const option = spectrumOption(report, 0) as { yAxis: { type: string }; series: { name: string; data: unknown[] }[] };
    expect(option.yAxis.type).toBe('log');
    expect(option.series.map((s) => s.name)).toEqual(['ΔW (tinygpt2-ih)', 'W0 (base, top)', 'W0 + ΔW (top k)']);
    expect(option.series[0]!.data.length).toBe(report.modules[0]!.spectrum.singularValues.filter((s) => s > 0).length);
  });

  it('the similarity heatmap has one cell per (tuned, base) pair, and the slider count follows the bounds', () => {
    const m = report.modules[0]!.intruders!;
    const option = similarityOption(report, 0) as { series: { data: number[][] }[] };
    expect(option.series[0]!.data.length).toBe(m.similarity.length * (m.similarity[0]?.length ?? 0));
    expect(intrudersAt(report, 0, 0.5).intruders).toBe(m.counts[0]!.intruders);
    expect(intrudersAt(report, 0, 1.01).intruders).toBe(m.vectors.length);
  });

  it('the overlap heatmap is symmetric with 1 on the diagonal; options survive JSON', () => {
    const option = overlapOption(adapterOnly) as { series: { data: number[][] }[] };
    const cells = new Map(option.series[0]!.data.map((d) => [`${d[0]},${d[1]}`, d[2]]));
    expect(cells.get('0,0')).toBe(1);
    expect(cells.get('0,1')).toBe(cells.get('1,0'));
    for (const o of [option, effectiveRankOption(adapterOnly), unitProjectionOption(adapterOnly, 0)]) {
      expect(JSON.parse(JSON.stringify(o))).toEqual(o);
    }
  });
});

describe('HTML report', () => {
  it('is one self-contained file: echarts inlined, no external URL loaded, the data embedded safely', () => {
    const html = renderHtml(report);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('echarts');
    expect(html.length).toBeGreaterThan(500_000);
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    expect(html).toContain("default-src 'none'");
    // Module names with "</script>" cannot break out of the data block.
    const evil = { ...report, modules: report.modules.map((m, i) => (i === 0 ? { ...m, module: '</script><script>alert(1)</script>' } : m)) };
    const out = renderHtml(evil);
    const start = out.indexOf('<script type="application/json" id="awb-data">');
    const end = out.indexOf('</script>', start);
    expect(out.slice(start, end)).not.toContain('<script>alert');
  });
});
