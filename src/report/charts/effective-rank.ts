// Effective rank (entropy), stable rank and stored rank of every module's ΔW.
import type { DiagnosticsReport } from '../schema.ts';
import type { ChartOption } from './types.ts';

export function effectiveRankOption(report: DiagnosticsReport): ChartOption {
  const labels = report.modules.map((m) => (report.inputs.adapters.length > 1 ? `${m.adapter}:${m.module}` : m.module));
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    title: { text: 'Effective rank of ΔW per module', left: 'center', textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    legend: { top: 24 },
    grid: { top: 60, left: 50, right: 20, bottom: 120 },
    dataZoom: labels.length > 40 ? [{ type: 'slider', bottom: 0 }] : [],
    xAxis: { type: 'category', data: labels, axisLabel: { rotate: 60, fontSize: 9 } },
    yAxis: { type: 'value', name: 'rank' },
    series: [
      { name: 'stored rank', type: 'bar', data: report.modules.map((m) => m.rank) },
      { name: 'effective rank', type: 'bar', data: report.modules.map((m) => round(m.spectrum.effectiveRank)) },
      { name: 'stable rank', type: 'bar', data: report.modules.map((m) => round(m.spectrum.stableRank)) },
      { name: `rank for ${report.settings.suggestedEnergy * 100}% energy`, type: 'line', data: report.modules.map((m) => m.spectrum.suggestedRank) },
    ],
  };
}
