// Intruder count by layer × module type (at the first ε), for one adapter.
import type { DiagnosticsReport } from '../schema.ts';
import type { ChartOption } from './types.ts';

export function intruderHeatmapOption(report: DiagnosticsReport, adapterIndex = 0): ChartOption {
  const totals = report.intruders?.find((t) => t.adapterIndex === adapterIndex);
  const cells = totals?.byLayer ?? [];
  const types = [...new Set(cells.map((c) => c.moduleType))].sort();
  const layers = [...new Set(cells.map((c) => (c.layer === null ? '—' : String(c.layer))))].sort((a, b) => Number(a) - Number(b));
  const sums = new Map<string, number>();
  for (const c of cells) {
    const key = `${types.indexOf(c.moduleType)}|${layers.indexOf(c.layer === null ? '—' : String(c.layer))}`;
    sums.set(key, (sums.get(key) ?? 0) + c.intruders);
  }
  const data = [...sums].map(([key, v]) => [...key.split('|').map(Number), v]);
  const max = Math.max(1, ...data.map((d) => d[2]!));
  const eps = report.settings.epsilons[0] ?? 0.5;
  return {
    title: { text: `Intruder dimensions (ε = ${eps}, k = ${report.settings.k})${totals ? ` — ${totals.adapter}` : ''}`, left: 'center', textStyle: { fontSize: 13 } },
    tooltip: { position: 'top' },
    grid: { top: 50, left: 80, right: 30, bottom: 80 },
    xAxis: { type: 'category', data: types, name: 'module type', axisLabel: { rotate: 30 } },
    yAxis: { type: 'category', data: layers, name: 'layer' },
    visualMap: { min: 0, max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
    series: [{ name: 'intruders', type: 'heatmap', data, label: { show: true } }],
  };
}
