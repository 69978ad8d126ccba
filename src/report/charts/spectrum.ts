// Singular-value spectra of one module on a log scale: σ(ΔW) of the adapter, the top-k
// σ of W0 + ΔW and the known top σ of W0 (when a base was analysed), overlaid.
import type { DiagnosticsReport } from '../schema.ts';
import type { ChartOption } from './types.ts';

const positive = (values: readonly number[]): [number, number][] =>
  values.flatMap((v, i) => (v > 0 ? [[i + 1, v] as [number, number]] : []));

export function spectrumOption(report: DiagnosticsReport, moduleIndex: number): ChartOption {
  const entry = report.modules[moduleIndex];
  if (!entry) return { title: { text: 'no module' }, series: [] };
  const series: Record<string, unknown>[] = [
    { name: `ΔW (${entry.adapter})`, type: 'line', showSymbol: true, data: positive(entry.spectrum.singularValues) },
  ];
  if (entry.intruders) {
    series.push({ name: 'W0 (base, top)', type: 'line', showSymbol: false, data: positive(entry.intruders.baseSigma) });
    const intruderAt = report.settings.epsilons[0] ?? 0.5;
    series.push({
      name: 'W0 + ΔW (top k)',
      type: 'line',
      data: entry.intruders.tunedSigma.map((v, i) => {
        const vec = entry.intruders!.vectors[i];
        const intruder = vec !== undefined && vec.maxCosUpper < intruderAt;
        return { value: [i + 1, v], itemStyle: intruder ? { color: '#ee6666' } : undefined, symbolSize: intruder ? 10 : 4 };
      }),
    });
  }
  return {
    title: { text: `Singular values — ${entry.module}`, left: 'center', textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    legend: { top: 24 },
    grid: { top: 60, left: 60, right: 20, bottom: 40 },
    xAxis: { type: 'value', name: 'index', minInterval: 1, min: 1 },
    yAxis: { type: 'log', name: 'σ', logBase: 10 },
    series,
  };
}
