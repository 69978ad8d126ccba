// Derived views of a merge report (src/merge/report-types.ts): retention per input, and for a
// LEGO merge, which units of which input formed each cluster of a module.
import type { MergeReport, ModuleReport } from '../../../src/merge/report-types.ts';
import { aggregateRetention, type ClusterComposition, type RetentionView } from './report-view.ts';

export function isMergeReport(value: unknown): value is MergeReport {
  return typeof value === 'object' && value !== null && (value as { schema?: unknown }).schema === 'awb.merge-report/1';
}

export function mergeRetention(report: MergeReport): RetentionView[] {
  return aggregateRetention(report.modules.flatMap((m) => m.retention));
}

/**
 * LEGO `details.assignment` maps unit ids "adapterIndex:adapterName:module:rankIndex" to a cluster;
 * this counts the units of each input per cluster. Empty when the module has no assignment.
 */
export function legoComposition(module: ModuleReport, inputCount: number): ClusterComposition[] {
  const assignment = module.details['assignment'];
  if (typeof assignment !== 'object' || assignment === null) return [];
  const byCluster = new Map<number, number[]>();
  for (const [id, cluster] of Object.entries(assignment as Record<string, unknown>)) {
    if (typeof cluster !== 'number' || cluster < 0) continue;
    const adapterIndex = Number(id.slice(0, id.indexOf(':')));
    if (!Number.isInteger(adapterIndex) || adapterIndex < 0 || adapterIndex >= inputCount) continue;
    const row = byCluster.get(cluster) ?? new Array<number>(inputCount).fill(0);
    row[adapterIndex] = (row[adapterIndex] ?? 0) + 1;
    byCluster.set(cluster, row);
  }
  return [...byCluster.entries()]
    .sort(([a], [b]) => a - b)
    .map(([cluster, perAdapter]) => ({ cluster, perAdapter, size: perAdapter.reduce((s, x) => s + x, 0) }));
}
