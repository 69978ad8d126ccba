// A live, approximate preview of a merge before it is submitted: which modules survive the
// patterns, the output rank per module, the output size, and what looks wrong.
import type { AdapterDetailDto } from '../api/types.ts';
import { selectModule } from './module-patterns.ts';

export interface EstimateInput {
  readonly adapters: readonly AdapterDetailDto[];
  readonly weights: readonly number[];
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** union: a module absent from some inputs is a zero delta there; intersection: it is dropped. */
  readonly policy: 'union' | 'intersection';
  /** output.rank of the recipe: a final truncation, when set. */
  readonly outputRank: number | null;
  /** Bytes per stored value of the output (4 for float32, 2 for float16/bfloat16). */
  readonly bytesPerValue: number;
}

export type WarningKind = 'base-mismatch' | 'module-missing' | 'shape-mismatch' | 'no-modules' | 'zero-weight' | 'rank-mismatch';

export interface EstimateWarning {
  readonly kind: WarningKind;
  readonly message: string;
}

export interface MergeEstimate {
  readonly moduleCount: number;
  /** Modules present in every input. */
  readonly sharedCount: number;
  readonly outputRankMin: number;
  readonly outputRankMax: number;
  readonly params: number;
  readonly sizeBytes: number;
  readonly warnings: readonly EstimateWarning[];
}

/** Output rank of one module for a method, from its params and the input ranks. */
export function estimateOutputRank(method: string, params: Readonly<Record<string, unknown>>, ranks: readonly number[], m: number, n: number): number {
  const sum = ranks.reduce((a, b) => a + b, 0);
  const max = Math.max(0, ...ranks);
  const given = ['k', 'rank', 'outputRank', 'output_rank'].map((key) => params[key]).find((v) => typeof v === 'number') as
    | number
    | undefined;
  let rank: number;
  if (given !== undefined) rank = given;
  else if (method === 'cat' || method === 'linear') rank = sum;
  else rank = max;
  return Math.max(0, Math.min(rank, m, n));
}

const MAX_LISTED = 3;

function listSome(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).join(', ');
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}

/** Same rule as the merge engine (src/merge/execute-merge.ts): last path segment, lower-case, letters and digits. */
export function normalizeBaseModel(name: string): string {
  const last = name.replace(/\/+$/, '').split('/').pop() ?? name;
  return last.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export function estimateMerge(input: EstimateInput): MergeEstimate {
  const warnings: EstimateWarning[] = [];
  const { adapters } = input;
  const declared = adapters.map((a) => a.baseModel).filter((b): b is string => typeof b === 'string' && b.length > 0);
  if (new Set(declared.map(normalizeBaseModel)).size > 1) {
    warnings.push({
      kind: 'base-mismatch',
      message: `The adapters declare different base models (${[...new Set(declared)].join(', ')}); the merge is refused unless "allow different bases" is ticked.`,
    });
  }
  input.weights.forEach((w, i) => {
    if (w === 0 && adapters[i]) {
      warnings.push({ kind: 'zero-weight', message: `${adapters[i].name} has weight 0 and contributes nothing.` });
    }
  });
  const byModule = new Map<string, { owners: number[]; ranks: number[]; shapes: Set<string>; m: number; n: number }>();
  adapters.forEach((adapter, index) => {
    for (const mod of adapter.modules) {
      if (!selectModule(mod.name, input.include, input.exclude)) continue;
      const entry = byModule.get(mod.name) ?? { owners: [], ranks: [], shapes: new Set<string>(), m: mod.outFeatures, n: mod.inFeatures };
      entry.owners.push(index);
      entry.ranks.push(mod.rank);
      entry.shapes.add(`${mod.outFeatures}×${mod.inFeatures}`);
      byModule.set(mod.name, entry);
    }
  });
  let params = 0;
  let rankMin = Number.POSITIVE_INFINITY;
  let rankMax = 0;
  let shared = 0;
  const missing: string[] = [];
  const shapeClash: string[] = [];
  const rankClash: string[] = [];
  let kept = 0;
  for (const [name, entry] of byModule) {
    if (entry.owners.length === adapters.length) shared += 1;
    else {
      missing.push(name);
      if (input.policy === 'intersection') continue;
    }
    kept += 1;
    if (entry.shapes.size > 1) shapeClash.push(`${name} (${[...entry.shapes].join(' vs ')})`);
    if (new Set(entry.ranks).size > 1) rankClash.push(name);
    let r = estimateOutputRank(input.method, input.params, entry.ranks, entry.m, entry.n);
    if (input.outputRank !== null) r = Math.min(r, input.outputRank);
    rankMin = Math.min(rankMin, r);
    rankMax = Math.max(rankMax, r);
    params += r * (entry.m + entry.n);
  }
  if (kept === 0) {
    warnings.push({
      kind: 'no-modules',
      message:
        adapters.length === 0
          ? 'Choose at least one adapter.'
          : byModule.size === 0
            ? 'No module is left after the include/exclude patterns.'
            : 'No module is present in every input, so the intersection is empty.',
    });
  }
  if (missing.length > 0 && adapters.length > 1) {
    const perAdapter = adapters
      .map((a, i) => ({ name: a.name, count: missing.filter((mod) => !byModule.get(mod)?.owners.includes(i)).length }))
      .filter((x) => x.count > 0)
      .map((x) => `${x.name} lacks ${x.count}`);
    warnings.push({
      kind: 'module-missing',
      message: `${missing.length} module(s) are missing in some inputs (${perAdapter.join('; ')}), e.g. ${listSome(missing)}; ${
        input.policy === 'union' ? 'they count as zero deltas there' : 'the intersection policy drops them'
      }.`,
    });
  }
  if (shapeClash.length > 0) {
    warnings.push({ kind: 'shape-mismatch', message: `Modules with different shapes across inputs: ${listSome(shapeClash)}.` });
  }
  if (rankClash.length > 0 && /^(ties|dare|magnitude|linear_peft_factorwise)/.test(input.method)) {
    warnings.push({
      kind: 'rank-mismatch',
      message: `Method ${input.method} may need equal ranks; ${rankClash.length} module(s) differ, e.g. ${listSome(rankClash)}.`,
    });
  }
  return {
    moduleCount: kept,
    sharedCount: shared,
    outputRankMin: kept === 0 ? 0 : rankMin,
    outputRankMax: rankMax,
    params,
    sizeBytes: params * input.bytesPerValue,
    warnings,
  };
}
