// Derived views of a diagnostics report (src/report/schema.ts) for the report page: intruder counts
// at any ε recomputed from the stored cosine bounds, retention per input, LEGO cluster composition,
// adapter overlap matrices, and module table rows. Pure functions, so they are tested directly.
import type { DiagnosticsReport, ModuleEntry, UnitProjection } from '../../../src/report/schema.ts';

export interface EpsilonCountView {
  /** Vectors certainly below ε (upper bound of max|cos| < ε). */
  readonly intruders: number;
  /** Vectors whose bounds straddle ε (not decided at this ε by the stored bounds). */
  readonly undecided: number;
}

/** Intruders of one module at threshold ε, from the stored max|cos| bounds of its top-k vectors. */
export function moduleIntrudersAt(entry: ModuleEntry, epsilon: number): EpsilonCountView | null {
  const vectors = entry.intruders?.vectors;
  if (!vectors) return null;
  let intruders = 0;
  let undecided = 0;
  for (const v of vectors) {
    if (v.maxCosUpper < epsilon) intruders += 1;
    else if (v.maxCosLower < epsilon) undecided += 1;
  }
  return { intruders, undecided };
}

export interface HeatCell {
  readonly layer: number | null;
  readonly moduleType: string;
  readonly intruders: number;
  readonly undecided: number;
  /** Index into report.modules of each module in the cell. */
  readonly modules: readonly number[];
}

export interface IntruderGrid {
  readonly layers: readonly (number | null)[];
  readonly types: readonly string[];
  readonly cells: readonly HeatCell[];
  readonly total: number;
  readonly undecided: number;
}

/** Layer × module-type grid of intruder counts for one adapter at ε. */
export function intruderGrid(report: DiagnosticsReport, adapterIndex: number, epsilon: number): IntruderGrid {
  const byKey = new Map<string, { layer: number | null; moduleType: string; intruders: number; undecided: number; modules: number[] }>();
  let total = 0;
  let undecided = 0;
  report.modules.forEach((entry, index) => {
    if (entry.adapterIndex !== adapterIndex) return;
    const count = moduleIntrudersAt(entry, epsilon);
    if (!count) return;
    const key = `${entry.layer ?? 'none'}|${entry.moduleType}`;
    const cell = byKey.get(key) ?? { layer: entry.layer, moduleType: entry.moduleType, intruders: 0, undecided: 0, modules: [] };
    cell.intruders += count.intruders;
    cell.undecided += count.undecided;
    cell.modules.push(index);
    byKey.set(key, cell);
    total += count.intruders;
    undecided += count.undecided;
  });
  const cells = [...byKey.values()];
  const layers = [...new Set(cells.map((c) => c.layer))].sort((a, b) => (a ?? -1) - (b ?? -1));
  const types = [...new Set(cells.map((c) => c.moduleType))].sort();
  return { layers, types, cells, total, undecided };
}

/** Intruder totals over all modules of an adapter on a grid of ε values (the sweep curve). */
export function intruderCurve(report: DiagnosticsReport, adapterIndex: number, epsilons: readonly number[]): { epsilon: number; intruders: number; undecided: number }[] {
  const entries = report.modules.filter((m) => m.adapterIndex === adapterIndex && m.intruders);
  return epsilons.map((epsilon) => {
    let intruders = 0;
    let undecided = 0;
    for (const e of entries) {
      const c = moduleIntrudersAt(e, epsilon);
      if (c) {
        intruders += c.intruders;
        undecided += c.undecided;
      }
    }
    return { epsilon, intruders, undecided };
  });
}

export interface RetentionView {
  readonly input: string;
  readonly modules: number;
  readonly meanProjection: number;
  readonly minProjection: number;
  readonly meanRelativeError: number | null;
}

/** Mean and worst retention per merge input over the report's modules. */
export function retentionByInput(report: DiagnosticsReport): RetentionView[] {
  return aggregateRetention(report.retention.flatMap((entry) => entry.inputs));
}

/** Mean and worst projection per input over rows of (input, projection, relative error); errors that are null are left out of the mean. */
export function aggregateRetention(
  rows: Iterable<{ readonly input: string; readonly projection: number; readonly relativeError: number | null }>,
): RetentionView[] {
  const acc = new Map<string, { sum: number; min: number; n: number; errSum: number; errN: number }>();
  for (const r of rows) {
    const a = acc.get(r.input) ?? { sum: 0, min: Number.POSITIVE_INFINITY, n: 0, errSum: 0, errN: 0 };
    a.sum += r.projection;
    a.min = Math.min(a.min, r.projection);
    a.n += 1;
    if (r.relativeError !== null) {
      a.errSum += r.relativeError;
      a.errN += 1;
    }
    acc.set(r.input, a);
  }
  return [...acc.entries()].map(([input, a]) => ({
    input,
    modules: a.n,
    meanProjection: a.sum / a.n,
    minProjection: a.min,
    meanRelativeError: a.errN > 0 ? a.errSum / a.errN : null,
  }));
}

export interface ClusterComposition {
  readonly cluster: number;
  /** Units of each adapter (index into report.inputs.adapters) in this cluster. */
  readonly perAdapter: readonly number[];
  readonly size: number;
}

/** Which units of which adapter formed each LEGO cluster of one module. */
export function clusterComposition(projection: UnitProjection, adapterCount: number): ClusterComposition[] {
  const byCluster = new Map<number, number[]>();
  for (const p of projection.points) {
    if (p.cluster === null) continue;
    const row = byCluster.get(p.cluster) ?? new Array<number>(adapterCount).fill(0);
    row[p.adapterIndex] = (row[p.adapterIndex] ?? 0) + 1;
    byCluster.set(p.cluster, row);
  }
  return [...byCluster.entries()]
    .sort(([a], [b]) => a - b)
    .map(([cluster, perAdapter]) => ({ cluster, perAdapter, size: perAdapter.reduce((s, x) => s + x, 0) }));
}

export type OverlapMeasure = 'meanColumnOverlap' | 'meanRowOverlap' | 'meanSignConflict';

/** Symmetric adapters × adapters matrix of one overlap measure (diagonal: 1 for overlaps, 0 for conflict). */
export function overlapMatrix(report: DiagnosticsReport, measure: OverlapMeasure): (number | null)[][] {
  const n = report.inputs.adapters.length;
  const diag = measure === 'meanSignConflict' ? 0 : 1;
  const m: (number | null)[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? diag : null)));
  for (const pair of report.overlaps) {
    const v = pair[measure];
    if (m[pair.first] && m[pair.second]) {
      m[pair.first]![pair.second] = v;
      m[pair.second]![pair.first] = v;
    }
  }
  return m;
}

export interface ModuleRow {
  readonly index: number;
  readonly adapter: string;
  readonly module: string;
  readonly layer: number | null;
  readonly moduleType: string;
  readonly shape: string;
  readonly rank: number;
  readonly effectiveRank: number;
  readonly stableRank: number;
  readonly suggestedRank: number;
  readonly norm: number;
  readonly intruders: number | null;
  readonly undecided: number | null;
}

export function moduleRows(report: DiagnosticsReport, epsilon: number): ModuleRow[] {
  return report.modules.map((m, index) => {
    const c = moduleIntrudersAt(m, epsilon);
    return {
      index,
      adapter: m.adapter,
      module: m.module,
      layer: m.layer,
      moduleType: m.moduleType,
      shape: `${m.shape[0]}×${m.shape[1]}`,
      rank: m.rank,
      effectiveRank: m.spectrum.effectiveRank,
      stableRank: m.spectrum.stableRank,
      suggestedRank: m.spectrum.suggestedRank,
      norm: m.spectrum.frobeniusNorm,
      intruders: c?.intruders ?? null,
      undecided: c?.undecided ?? null,
    };
  });
}

/** Smallest r with Σ_{j<r} σ_j² ≥ level·Σσ² (same rule as src/diagnostics/module-spectrum.ts). */
export function rankForEnergy(sigma: readonly number[], level: number): number {
  const total = sigma.reduce((s, x) => s + x * x, 0);
  if (total === 0) return 0;
  let acc = 0;
  for (let i = 0; i < sigma.length; i++) {
    acc += sigma[i]! * sigma[i]!;
    if (acc >= level * total * (1 - 1e-12)) return i + 1;
  }
  return sigma.length;
}

/** exp of the entropy of σ/Σσ (Roy & Vetterli), as in src/diagnostics/module-spectrum.ts. */
export function effectiveRank(sigma: readonly number[]): number {
  const total = sigma.reduce((s, x) => s + Math.abs(x), 0);
  if (total === 0) return 0;
  let h = 0;
  for (const s of sigma) {
    const p = Math.abs(s) / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.exp(h);
}
