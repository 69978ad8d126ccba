// ECharts option builders shared by the HTML report and the Vue dashboard.
export type { ChartOption } from './types.ts';
export { PALETTE } from './types.ts';
export { spectrumOption } from './spectrum.ts';
export { intruderHeatmapOption } from './intruder-heatmap.ts';
export { similarityOption, intrudersAt } from './similarity.ts';
export { effectiveRankOption } from './effective-rank.ts';
export { overlapOption } from './overlap.ts';
export { unitProjectionOption } from './unit-projection.ts';
export { intruderSweepOption } from './intruder-sweep.ts';
