// Intruder count against ε (the paper's threshold sweep), one line per adapter;
// undecided counts (only possible on the sweep) are drawn as a band above.
import type { DiagnosticsReport } from '../schema.ts';
import type { ChartOption } from './types.ts';

export function intruderSweepOption(report: DiagnosticsReport): ChartOption {
  const series = (report.intruders ?? []).flatMap((t) => [
    { name: t.adapter, type: 'line', data: t.sweep.map((c) => [c.epsilon, c.intruders]) },
    ...(t.sweep.some((c) => c.undecided > 0)
      ? [{ name: `${t.adapter} (+undecided)`, type: 'line', lineStyle: { type: 'dashed' }, data: t.sweep.map((c) => [c.epsilon, c.intruders + c.undecided]) }]
      : []),
  ]);
  return {
    title: { text: `Intruder dimensions vs ε (k = ${report.settings.k})`, left: 'center', textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    legend: { top: 24 },
    grid: { top: 60, left: 50, right: 20, bottom: 40 },
    xAxis: { type: 'value', name: 'ε', min: 0, max: 1 },
    yAxis: { type: 'value', name: 'count', minInterval: 1 },
    series,
  };
}
