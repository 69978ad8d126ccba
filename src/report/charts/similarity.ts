// |cos| between the top fine-tuned (rows) and top base (columns) left singular vectors
// of one module — the paper's similarity-matrix plot. Columns with no value ≥ ε in a row
// are the "empty columns" of intruders.
import type { DiagnosticsReport } from '../schema.ts';
import type { ChartOption } from './types.ts';

export function similarityOption(report: DiagnosticsReport, moduleIndex: number): ChartOption {
  const entry = report.modules[moduleIndex];
  const matrix = entry?.intruders?.similarity ?? [];
  const data: [number, number, number][] = [];
  matrix.forEach((row, i) => row.forEach((v, j) => data.push([j, i, v])));
  const cols = matrix[0]?.length ?? 0;
  return {
    title: { text: `|cos| tuned vs base left singular vectors — ${entry?.module ?? 'no module'}`, left: 'center', textStyle: { fontSize: 13 } },
    tooltip: { position: 'top' },
    grid: { top: 50, left: 60, right: 30, bottom: 70 },
    xAxis: { type: 'category', name: 'base i', data: Array.from({ length: cols }, (_, j) => String(j)) },
    yAxis: { type: 'category', name: 'tuned j', inverse: true, data: matrix.map((_, i) => String(i)) },
    visualMap: { min: 0, max: 1, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, inRange: { color: ['#ffffff', '#313695'] } },
    series: [{ name: '|cos|', type: 'heatmap', data }],
  };
}

/** Intruder count of one module at any ε from the stored bounds: [certain, undecided]. */
export function intrudersAt(report: DiagnosticsReport, moduleIndex: number, epsilon: number): { intruders: number; undecided: number } {
  const vectors = report.modules[moduleIndex]?.intruders?.vectors ?? [];
  let intruders = 0;
  let undecided = 0;
  for (const v of vectors) {
    if (v.maxCosUpper < epsilon) intruders++;
    else if (v.maxCosLower < epsilon) undecided++;
  }
  return { intruders, undecided };
}
