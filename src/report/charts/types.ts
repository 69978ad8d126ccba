// ECharts option objects are plain JSON; these builders return them without importing
// echarts, so that the CLI, the HTML renderer and the Vue dashboard share one source.
export type ChartOption = Record<string, unknown>;

/** One palette for adapters/clusters across every chart. */
export const PALETTE = ['#5470c6', '#ee6666', '#91cc75', '#fac858', '#73c0de', '#3ba272', '#fc8452', '#9a60b4', '#ea7ccc', '#2f4554'];
