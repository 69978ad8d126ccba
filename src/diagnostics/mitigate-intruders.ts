// Intruder mitigation (algorithms.md §2.3, §2.4, §6.1): scale the intruder components of
// W0 + ΔW by λ, i.e. ΔW_mit = ΔW + (λ − 1)·Σ_{j∈I} σ_j u_j v_jᵀ, computed in canonical
// (m × n) orientation (so Conv1D/embedding layers are right, unlike PEFT's stored-layout
// code). ΔW_mit = [s·B, (λ−1)·U_I·Σ_I]·[A; V_Iᵀ] has rank ≤ r + |I|; by default the new
// adapter keeps that exact rank ("exact"); "same" truncates to r as PEFT does and reports
// the energy dropped. λ keeps a fraction of each intruder (λ = 1: no-op, λ = 0: removed),
// following PEFT's code and the paper, not PEFT's docstring.
import type { Adapter, ExportModule, LoraModule } from '../adapter/types.ts';
import { loadAdapter } from '../adapter/load-adapter.ts';
import { writePeftAdapter } from '../adapter/export-peft.ts';
import { openTensorSource } from '../safetensors/sharded.ts';
import type { TensorSource } from '../safetensors/reader.ts';
import { WorkbenchError, throwIfAborted } from '../errors.ts';
import type { Mat } from '../tensor/matrix.ts';
import { zeros } from '../tensor/matrix.ts';
import { DEFAULT_SEED } from '../util/rng.ts';
import { TOOL_VERSION } from '../version.ts';
import { memoryBasisCache, type BasisCache } from './base-basis.ts';
import { checkBaseShape, findBaseTensor, indexBase, readBaseWeight } from './base-weights.ts';
import { factoredSvd } from './factored-svd.ts';
import { scanModuleIntruders } from './intruder-scan.ts';

export interface MitigateOptions {
  readonly adapter: string | Adapter;
  readonly base: string | TensorSource;
  readonly outDir: string;
  readonly k?: number;
  readonly epsilon?: number;
  /** Fraction of each intruder component kept (default 0.75, PEFT's default). */
  readonly lambda?: number;
  readonly outRank?: 'exact' | 'same';
  readonly seed?: number;
  readonly cache?: BasisCache;
  readonly overwrite?: boolean;
  readonly signal?: AbortSignal;
}

export interface MitigatedModule {
  readonly module: string;
  /** Indices (among the top k) of the intruders that were scaled. */
  readonly intruders: number[];
  readonly rankIn: number;
  /** Numerical rank of ΔW_mit (r + |I| in general). */
  readonly exactRank: number;
  readonly rankOut: number;
  /** Σ σ² of the components dropped by "same" truncation (0 for "exact"). */
  readonly droppedEnergy: number;
  readonly note?: string;
}

export interface MitigationResult {
  readonly path: string;
  readonly lambda: number;
  readonly epsilon: number;
  readonly k: number;
  readonly modules: MitigatedModule[];
}

/** New factors for one module: B' = U√Σ, A' = √ΣVᵀ of ΔW_mit (exact), optionally truncated. */
export function mitigatedFactors(
  B: Mat,
  A: Mat,
  scale: number,
  intruders: { u: Float64Array; sigma: number; v: Float64Array }[],
  lambda: number,
  outRank: 'exact' | 'same',
): { B: Mat; A: Mat; exactRank: number; droppedEnergy: number } {
  const m = B.rows;
  const n = A.cols;
  const r = B.cols;
  const R = r + intruders.length;
  const Bx = zeros(m, R);
  const Ax = zeros(R, n);
  for (let i = 0; i < m; i++) for (let t = 0; t < r; t++) Bx.data[i * R + t] = scale * B.data[i * r + t]!;
  Ax.data.set(A.data, 0);
  intruders.forEach((it, q) => {
    const col = r + q;
    for (let i = 0; i < m; i++) Bx.data[i * R + col] = (lambda - 1) * it.sigma * it.u[i]!;
    Ax.data.set(it.v, col * n);
  });
  const svd = factoredSvd(Bx, Ax, 1);
  const exactRank = svd.s.length;
  const keep = outRank === 'same' ? Math.min(r, exactRank) : exactRank;
  let dropped = 0;
  for (let j = keep; j < exactRank; j++) dropped += svd.s[j]! ** 2;
  const Bn = zeros(m, keep);
  const An = zeros(keep, n);
  for (let j = 0; j < keep; j++) {
    const root = Math.sqrt(svd.s[j]!);
    for (let i = 0; i < m; i++) Bn.data[i * keep + j] = svd.u[j]![i]! * root;
    for (let c = 0; c < n; c++) An.data[j * n + c] = svd.v[j]![c]! * root;
  }
  return { B: Bn, A: An, exactRank, droppedEnergy: dropped };
}

export async function mitigateIntruders(options: MitigateOptions): Promise<MitigationResult> {
  const k = options.k ?? 10;
  const epsilon = options.epsilon ?? 0.5;
  const lambda = options.lambda ?? 0.75;
  const outRank = options.outRank ?? 'exact';
  const seed = options.seed ?? DEFAULT_SEED;
  if (!(lambda >= 0 && lambda <= 1)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `λ must lie in [0, 1] (fraction of each intruder kept), got ${lambda}`, { details: { lambda } });
  }
  const adapter = typeof options.adapter === 'string' ? await loadAdapter(options.adapter) : options.adapter;
  const base = typeof options.base === 'string' ? await openTensorSource(options.base) : options.base;
  const cache = options.cache ?? memoryBasisCache();
  const index = indexBase(base);
  const report: MitigatedModule[] = [];
  try {
    const modules: ExportModule[] = [];
    for (const module of adapter.modules) {
      throwIfAborted(options.signal, 'intruder mitigation');
      modules.push(await mitigateModule(module));
    }
    const written = await writePeftAdapter(options.outDir, {
      modules,
      extras: adapter.extras,
      config: adapter.config,
      baseModel: adapter.baseModel,
      overwrite: options.overwrite ?? false,
      metadata: {
        awb_operation: 'intruder-mitigation',
        awb_version: TOOL_VERSION,
        awb_params: JSON.stringify({ k, epsilon, lambda, outRank, seed }),
        awb_inputs: JSON.stringify(adapter.files.map((f) => ({ file: f.name, sha256: f.sha256 }))),
      },
      signal: options.signal,
    });
    return { path: written.path, lambda, epsilon, k, modules: report };
  } finally {
    if (typeof options.base === 'string') await base.close();
    if (typeof options.adapter === 'string') await adapter.close();
  }

  async function mitigateModule(module: LoraModule): Promise<ExportModule> {
    const factors = await module.load();
    const unchanged = (note?: string): ExportModule => {
      report.push({ module: module.name, intruders: [], rankIn: module.rank, exactRank: module.rank, rankOut: module.rank, droppedEnergy: 0, note });
      return { name: module.name, A: factors.A, B: factors.B, scale: module.scale, layout: module.layout, doraMagnitude: factors.doraMagnitude };
    };
    if (factors.doraMagnitude) return unchanged('DoRA module: the magnitude vector would no longer match; copied unchanged');
    const tensor = findBaseTensor(index, module.name);
    if (tensor === undefined) return unchanged('no base weight: copied unchanged');
    const check = checkBaseShape(module, base.info(tensor).shape);
    if (!check.ok) return unchanged(`base shape [${check.seen.join(', ')}] ≠ ${check.expected}: copied unchanged`);
    const weight = await readBaseWeight(base, tensor, module, check.transposed);
    const scan = await scanModuleIntruders(weight.W0, factors.B, factors.A, module.scale, {
      k,
      epsilons: [epsilon],
      sweep: [],
      seed,
      cache,
      baseKey: `${weight.sha256}-${check.transposed ? 'T' : 'N'}`,
      signal: options.signal,
    });
    const intruders = scan.vectors.filter((v) => v.maxCosUpper < epsilon).map((v) => v.index);
    if (intruders.length === 0 || lambda === 1) return unchanged();
    const next = mitigatedFactors(
      factors.B,
      factors.A,
      module.scale,
      intruders.map((j) => ({ u: scan.triplets.u[j]!, sigma: scan.triplets.s[j]!, v: scan.triplets.v[j]! })),
      lambda,
      outRank,
    );
    report.push({ module: module.name, intruders, rankIn: module.rank, exactRank: next.exactRank, rankOut: next.A.rows, droppedEnergy: next.droppedEnergy });
    return { name: module.name, A: next.A, B: next.B, scale: 1, layout: module.layout };
  }
}
