// Adapter × adapter mean subspace overlap (column side; 1 on the diagonal).
import type { DiagnosticsReport } from '../schema.ts';
import type { ChartOption } from './types.ts';

export function overlapOption(report: DiagnosticsReport, side: 'column' | 'row' = 'column'): ChartOption {
  const names = report.inputs.adapters.map((a) => a.name);
  const data: [number, number, number][] = names.map((_, i) => [i, i, 1]);
  for (const pair of report.overlaps) {
    const v = Math.round((side === 'column' ? pair.meanColumnOverlap : pair.meanRowOverlap) * 1e4) / 1e4;
    data.push([pair.first, pair.second, v], [pair.second, pair.first, v]);
  }
  return {
    title: { text: `Adapter overlap (${side} spaces, mean Σcos²/r over common modules)`, left: 'center', textStyle: { fontSize: 13 } },
    tooltip: { position: 'top' },
    grid: { top: 50, left: 120, right: 30, bottom: 90 },
    xAxis: { type: 'category', data: names, axisLabel: { rotate: 30 } },
    yAxis: { type: 'category', data: names, inverse: true },
    visualMap: { min: 0, max: 1, calculable: true, orient: 'horizontal', left: 'center', bottom: 0 },
    series: [{ name: 'overlap', type: 'heatmap', data, label: { show: true } }],
  };
}
