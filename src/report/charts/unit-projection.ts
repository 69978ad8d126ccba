// 2-D PCA of the rank-one units (MSUs) of one module, coloured by source adapter or by
// LEGO cluster (when the report carries a merge assignment).
import type { DiagnosticsReport } from '../schema.ts';
import { PALETTE, type ChartOption } from './types.ts';

export function unitProjectionOption(report: DiagnosticsReport, projectionIndex: number, colourBy: 'adapter' | 'cluster' = 'adapter'): ChartOption {
  const projection = report.projections[projectionIndex];
  const points = projection?.points ?? [];
  const groups = new Map<string, [number, number, number, string][]>();
  for (const p of points) {
    const key = colourBy === 'cluster' ? (p.cluster === null ? 'unassigned' : `cluster ${p.cluster}`) : (report.inputs.adapters[p.adapterIndex]?.name ?? `adapter ${p.adapterIndex}`);
    const list = groups.get(key) ?? [];
    list.push([p.x, p.y, p.norm, `${report.inputs.adapters[p.adapterIndex]?.name ?? p.adapterIndex}#${p.rankIndex}`]);
    groups.set(key, list);
  }
  const maxNorm = Math.max(1e-300, ...points.map((p) => p.norm));
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  return {
    title: { text: `MSU map — ${projection?.module ?? 'no module'} (PCA ${pct(projection?.explained[0] ?? 0)} / ${pct(projection?.explained[1] ?? 0)})`, left: 'center', textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'item' },
    legend: { top: 24 },
    color: PALETTE,
    grid: { top: 60, left: 60, right: 20, bottom: 40 },
    xAxis: { type: 'value', name: 'PC1', scale: true },
    yAxis: { type: 'value', name: 'PC2', scale: true },
    // Plain data (no callbacks) so that the option survives JSON: the size encodes the unit norm.
    series: [...groups].map(([name, data]) => ({
      name,
      type: 'scatter',
      data: data.map(([x, y, norm, label]) => ({ name: label, value: [x, y, norm], symbolSize: Math.round(6 + 14 * Math.sqrt(norm / maxNorm)) })),
    })),
  };
}
