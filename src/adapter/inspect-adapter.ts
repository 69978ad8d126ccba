// inspectAdapter: everything `awb inspect` and GET /api/adapters/:id show, as one JSON-able
// object (schema: docs/inspect-schema.md). Norms are computed in factored form, one
// module at a time.
import { throwIfAborted } from '../errors.ts';
import { TOOL_NAME, TOOL_VERSION } from '../version.ts';
import { factoredFrobeniusNorm } from './factored-norm.ts';
import { countNonFinite } from './lazy-module.ts';
import { targetName } from './target-name.ts';
import type { Adapter, AdapterFormat, LoraModule } from './types.ts';
import type { DType } from '../dtype.ts';

export const INSPECT_SCHEMA_VERSION = 1;
export const INSPECT_COMPUTE_LINE = 'ts (factored norms)';

export interface ValueCount<T> {
  readonly value: T;
  readonly count: number;
}

/** A module's own fields as LoraModule declares them, plus what inspection measures. */
export interface InspectModule
  extends Pick<LoraModule, 'name' | 'outFeatures' | 'inFeatures' | 'rank' | 'alpha' | 'scale' | 'layout' | 'dtype' | 'hasDora' | 'family'> {
  readonly target: string;
  /** ‖scale·B·A‖_F; null when norms were skipped or the factors hold NaN/Inf. */
  readonly deltaNorm: number | null;
  /** NaN/Inf values in the factors; null when norms were skipped. */
  readonly nonFinite: number | null;
  readonly keys: { readonly A: string; readonly B: string };
}

export interface InspectReport {
  readonly schemaVersion: typeof INSPECT_SCHEMA_VERSION;
  readonly tool: { readonly name: string; readonly version: string };
  readonly compute: string;
  readonly adapter: {
    readonly name: string;
    readonly format: AdapterFormat;
    readonly baseModel: string | null;
    readonly taskType: string | null;
    readonly dtype: DType;
    readonly files: readonly { readonly name: string; readonly sizeBytes: number; readonly sha256: string }[];
    readonly metadata: Readonly<Record<string, string>>;
  };
  readonly summary: {
    readonly moduleCount: number;
    /** Factor parameters: Σ r·(m + n). */
    readonly parameterCount: number;
    readonly ranks: readonly ValueCount<number>[];
    readonly alphas: readonly ValueCount<number>[];
    readonly scales: readonly ValueCount<number>[];
    readonly layouts: readonly ValueCount<string>[];
    readonly doraModules: number;
    /** √Σ‖ΔW_i‖_F²; null when any module's norm is null. */
    readonly totalDeltaNorm: number | null;
    readonly nonFiniteValues: number | null;
  };
  readonly targets: readonly ValueCount<string>[];
  readonly extras: readonly { readonly key: string; readonly dtype: DType; readonly shape: readonly number[]; readonly role: string }[];
  readonly modules: readonly InspectModule[];
  readonly warnings: readonly string[];
}

export interface InspectOptions {
  /** Compute per-module ‖ΔW‖_F (reads every factor once). Default true. */
  readonly norms?: boolean;
  readonly signal?: AbortSignal;
}

function counts<T>(values: readonly T[]): ValueCount<T>[] {
  const map = new Map<T, number>();
  for (const v of values) map.set(v, (map.get(v) ?? 0) + 1);
  return [...map.entries()]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}

export async function inspectAdapter(adapter: Adapter, options: InspectOptions = {}): Promise<InspectReport> {
  const withNorms = options.norms ?? true;
  const modules: InspectModule[] = [];
  for (const m of adapter.modules) {
    throwIfAborted(options.signal, 'inspect');
    let deltaNorm: number | null = null;
    let nonFinite: number | null = null;
    if (withNorms) {
      const f = await m.load();
      nonFinite = countNonFinite(f.A.data) + countNonFinite(f.B.data);
      deltaNorm = nonFinite === 0 ? factoredFrobeniusNorm(f.A, f.B, m.scale) : null;
    }
    modules.push({
      name: m.name,
      target: targetName(m.name),
      outFeatures: m.outFeatures,
      inFeatures: m.inFeatures,
      rank: m.rank,
      alpha: m.alpha,
      scale: m.scale,
      layout: m.layout,
      dtype: m.dtype,
      hasDora: m.hasDora,
      deltaNorm,
      nonFinite,
      keys: { A: m.keys.A, B: m.keys.B },
      ...(m.family ? { family: m.family } : {}),
    });
  }
  const norms = modules.map((m) => m.deltaNorm);
  const totalDeltaNorm = withNorms && norms.every((n) => n !== null) ? Math.sqrt(norms.reduce((s, n) => s + n! * n!, 0)) : null;
  const taskType = adapter.config?.task_type;
  return {
    schemaVersion: INSPECT_SCHEMA_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    compute: INSPECT_COMPUTE_LINE,
    adapter: {
      name: adapter.name,
      format: adapter.format,
      baseModel: adapter.baseModel ?? null,
      taskType: typeof taskType === 'string' ? taskType : null,
      dtype: adapter.dtype,
      files: adapter.files.map((f) => ({ name: f.name, sizeBytes: f.sizeBytes, sha256: f.sha256 })),
      metadata: { ...(adapter.metadata ?? {}) },
    },
    summary: {
      moduleCount: modules.length,
      parameterCount: modules.reduce((s, m) => s + m.rank * (m.outFeatures + m.inFeatures), 0),
      ranks: counts(modules.map((m) => m.rank)),
      alphas: counts(modules.map((m) => m.alpha)),
      scales: counts(modules.map((m) => m.scale)),
      layouts: counts(modules.map((m) => m.layout.kind)),
      doraModules: modules.filter((m) => m.hasDora).length,
      totalDeltaNorm,
      nonFiniteValues: withNorms ? modules.reduce((s, m) => s + (m.nonFinite ?? 0), 0) : null,
    },
    targets: counts(modules.map((m) => m.target)),
    extras: adapter.extras.map((e) => ({ key: e.key, dtype: e.dtype, shape: [...e.shape], role: e.role })),
    modules,
    warnings: [...adapter.warnings],
  };
}

/** "rank 8 (all 24 modules)" / "rank 4 (12 modules), 8 (12 modules)". */
export function describeCounts(label: string, values: readonly ValueCount<number | string>[], total: number, format: (v: number | string) => string = String): string {
  if (values.length === 1) {
    return `${label} ${format(values[0]!.value)} (all ${total} modules)`;
  }
  return `${label} ${values.map((v) => `${format(v.value)} (${v.count} module${v.count === 1 ? '' : 's'})`).join(', ')}`;
}
