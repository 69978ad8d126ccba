// ECharts option builders for the dashboard, pure functions of report/adapter data.
// The HTML report's builders (src/report/charts/) draw the per-module spectra, similarity matrices
// and unit projections; these add what the static report lacks: the ε-dependent heatmap and sweep,
// retention, cluster composition, and the adapter page's charts.
import type { EChartsOption } from 'echarts';
import type { ClusterComposition, IntruderGrid } from '../utils/report-view.ts';

const PALETTE = ['#2f5bd3', '#d9480f', '#2b8a3e', '#ae3ec9', '#e67700', '#0b7285', '#c2255c', '#5c940d', '#495057', '#1864ab'];
export const colorFor = (i: number): string => PALETTE[i % PALETTE.length]!;
const layerLabel = (l: number | null): string => (l === null ? '—' : String(l));

/** Layer (x) × module type (y) heatmap of intruder counts; each datum is [x, y, count, undecided]. */
export function intruderHeatmapOption(grid: IntruderGrid, epsilon: number): EChartsOption {
  const xIndex = new Map(grid.layers.map((l, i) => [l, i]));
  const yIndex = new Map(grid.types.map((t, i) => [t, i]));
  const data = grid.cells.map((c) => [xIndex.get(c.layer) ?? 0, yIndex.get(c.moduleType) ?? 0, c.intruders, c.undecided]);
  const max = Math.max(1, ...grid.cells.map((c) => c.intruders));
  return {
    animation: false,
    tooltip: {
      formatter: (p: unknown) => {
        const d = (p as { data: number[] }).data;
        return `layer ${layerLabel(grid.layers[d[0]!] ?? null)} · ${grid.types[d[1]!]}<br/>intruders at ε=${epsilon}: <b>${d[2]}</b>${d[3] ? ` (+${d[3]} undecided)` : ''}<br/>click for the module`;
      },
    },
    grid: { left: 90, right: 20, top: 10, bottom: 96 },
    xAxis: { type: 'category', name: 'layer', nameLocation: 'middle', nameGap: 24, data: grid.layers.map(layerLabel), splitArea: { show: true } },
    yAxis: { type: 'category', data: [...grid.types], splitArea: { show: true } },
    visualMap: {
      min: 0,
      max,
      dimension: 2,
      calculable: true,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      itemHeight: 120,
      inRange: { color: ['#f1f3f5', '#ffa94d', '#c92a2a'] },
    },
    series: [{ type: 'heatmap', data, label: { show: grid.layers.length <= 32, fontSize: 10 }, emphasis: { itemStyle: { borderColor: '#000', borderWidth: 1 } } }],
  };
}

export interface NamedSeries {
  readonly name: string;
  readonly values: readonly number[];
}

/** Singular values, log scale, one line per series. */
export function spectraOption(series: readonly NamedSeries[], options: { markRank?: number; title?: string } = {}): EChartsOption {
  const length = Math.max(0, ...series.map((s) => s.values.length));
  return {
    animation: false,
    ...(options.title ? { title: { text: options.title, textStyle: { fontSize: 13 } } } : {}),
    tooltip: { trigger: 'axis' },
    legend: { top: options.title ? 24 : 0 },
    grid: { left: 60, right: 20, top: options.title ? 56 : 32, bottom: 40 },
    xAxis: { type: 'category', name: 'index', nameLocation: 'middle', nameGap: 26, data: Array.from({ length }, (_, i) => String(i + 1)) },
    yAxis: {
      type: 'log',
      name: 'σ',
      min: (v: { min: number }) => (v.min > 0 ? 10 ** Math.floor(Math.log10(v.min)) : 1e-8),
      axisLabel: { formatter: (x: number) => Number(x.toPrecision(2)).toExponential(0) },
    },
    series: series.map((s, i) => ({
      name: s.name,
      type: 'line' as const,
      showSymbol: s.values.length <= 64,
      data: s.values.map((v) => (v > 0 ? v : null)),
      color: colorFor(i),
      ...(i === 0 && options.markRank
        ? { markLine: { symbol: 'none', label: { formatter: `suggested r=${options.markRank}` }, data: [{ xAxis: String(options.markRank) }] } }
        : {}),
    })),
  };
}

/** Intruder total against ε with the current ε marked. */
export function sweepOption(curve: readonly { epsilon: number; intruders: number; undecided: number }[], epsilon: number): EChartsOption {
  return {
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { top: 0, right: 0 },
    grid: { left: 50, right: 20, top: 36, bottom: 40 },
    xAxis: { type: 'value', name: 'ε', min: 0, max: 1, nameLocation: 'middle', nameGap: 26 },
    yAxis: { type: 'value', name: 'intruders' },
    series: [
      {
        name: 'intruders',
        type: 'line',
        data: curve.map((c) => [c.epsilon, c.intruders]),
        color: colorFor(1),
        markLine: { symbol: 'none', label: { formatter: `ε=${epsilon}` }, data: [{ xAxis: epsilon }] },
      },
      { name: 'undecided', type: 'line', data: curve.map((c) => [c.epsilon, c.undecided]), color: colorFor(8), lineStyle: { type: 'dashed' } },
    ],
  };
}

/** Mean and worst projection retention per merge input. */
export function retentionOption(rows: readonly { input: string; meanProjection: number; minProjection: number }[]): EChartsOption {
  return {
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 50, right: 20, top: 30, bottom: 60 },
    xAxis: { type: 'category', data: rows.map((r) => r.input), axisLabel: { interval: 0, rotate: rows.length > 4 ? 20 : 0 } },
    yAxis: { type: 'value', name: 'retention' },
    series: [
      { name: 'mean', type: 'bar', data: rows.map((r) => Number(r.meanProjection.toFixed(4))), color: colorFor(0) },
      { name: 'worst module', type: 'bar', data: rows.map((r) => Number(r.minProjection.toFixed(4))), color: colorFor(1) },
    ],
  };
}

/** Stacked bars: units of each adapter per LEGO cluster. */
export function clusterCompositionOption(rows: readonly ClusterComposition[], adapterNames: readonly string[]): EChartsOption {
  return {
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 50, right: 20, top: 30, bottom: 40 },
    xAxis: { type: 'category', name: 'cluster', nameLocation: 'middle', nameGap: 26, data: rows.map((r) => String(r.cluster)) },
    yAxis: { type: 'value', name: 'units', minInterval: 1 },
    series: adapterNames.map((name, a) => ({ name, type: 'bar' as const, stack: 'units', data: rows.map((r) => r.perAdapter[a] ?? 0), color: colorFor(a) })),
  };
}

/** Adapters × adapters heatmap. */
export function overlapHeatmapOption(matrix: readonly (readonly (number | null)[])[], names: readonly string[], label: string): EChartsOption {
  const data: (number | string)[][] = [];
  matrix.forEach((row, i) => row.forEach((v, j) => data.push([j, i, v === null ? '-' : Number(v.toFixed(3))])));
  return {
    animation: false,
    tooltip: { formatter: (p: unknown) => { const d = (p as { data: (number | string)[] }).data; return `${names[d[1] as number]} × ${names[d[0] as number]}<br/>${label}: ${d[2]}`; } },
    grid: { left: 140, right: 20, top: 10, bottom: 110 },
    xAxis: { type: 'category', data: [...names], axisLabel: { rotate: 30, interval: 0 } },
    yAxis: { type: 'category', data: [...names], inverse: true },
    visualMap: { min: 0, max: 1, dimension: 2, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120, inRange: { color: ['#f8f9fa', '#74c0fc', '#1864ab'] } },
    series: [{ type: 'heatmap', data, label: { show: names.length <= 10, fontSize: 10 } }],
  };
}

/** Per module: stored rank, effective rank and the rank suggested for a resize. */
export function rankUtilizationOption(rows: readonly { module: string; rank: number; effectiveRank: number; suggestedRank: number }[]): EChartsOption {
  const short = (name: string): string => name.split('.').slice(-3).join('.');
  return {
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 50, right: 20, top: 30, bottom: rows.length > 12 ? 70 : 50 },
    ...(rows.length > 40 ? { dataZoom: [{ type: 'slider' as const, bottom: 0, startValue: 0, endValue: 39 }, { type: 'inside' as const }] } : {}),
    xAxis: { type: 'category', data: rows.map((r) => short(r.module)), axisLabel: { rotate: 45, fontSize: 10 } },
    yAxis: { type: 'value', name: 'rank', minInterval: 1 },
    series: [
      { name: 'stored rank', type: 'bar', data: rows.map((r) => r.rank), color: '#ced4da', barGap: '-100%' },
      { name: 'suggested (99% energy)', type: 'bar', data: rows.map((r) => r.suggestedRank), color: colorFor(0), barWidth: '40%' },
      { name: 'effective rank', type: 'line', data: rows.map((r) => Number(r.effectiveRank.toFixed(2))), color: colorFor(1), showSymbol: rows.length <= 64 },
    ],
  };
}
