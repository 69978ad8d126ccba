// The diagnostics operation: per-module spectra of every adapter, intruder dimensions
// against a base (when given), adapter-to-adapter overlap, MSU projections and merge
// retention, as an async generator of progress events ending with the report. The
// server runs it as a job; the CLI drains it. Abort with options.signal.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Adapter, LoraModule, ModuleFactors } from '../adapter/types.ts';
import { loadAdapter } from '../adapter/load-adapter.ts';
import { openTensorSource } from '../safetensors/sharded.ts';
import type { TensorSource } from '../safetensors/reader.ts';
import { WorkbenchError, fromFsError, throwIfAborted } from '../errors.ts';
import { REPORT_MAX_DETAILED_MODULES } from '../limits.ts';
import { DEFAULT_SEED } from '../util/rng.ts';
import type { Backend } from '../compute/backend.ts';
import { defaultBackend } from '../compute/default-backend.ts';
import { describeBackend } from '../compute/describe-backend.ts';
import { sha256Bytes } from '../util/hash.ts';
import { TOOL_NAME, TOOL_VERSION } from '../version.ts';
import type { MergeReport } from '../merge/report-types.ts';
import {
  REPORT_KIND,
  REPORT_SCHEMA_VERSION,
  type AdapterInput,
  type DiagnosticsReport,
  type IntruderTotals,
  type ModuleEntry,
  type PairOverlap,
  type Problem,
  type RetentionEntry,
  type UnitProjection,
} from '../report/schema.ts';
import { diskBasisCache, memoryBasisCache, type BasisCache } from './base-basis.ts';
import { checkBaseShape, findBaseTensor, indexBase, readBaseWeight, type BaseIndex } from './base-weights.ts';
import { factoredSvd, type FactoredSvd } from './factored-svd.ts';
import { scanModuleIntruders, type DecisionRoute, type EpsilonCount, type ModuleIntruderResult } from './intruder-scan.ts';
import { moduleSpectrum, SUGGESTED_ENERGY } from './module-spectrum.ts';
import { parseModulePath } from './module-path.ts';
import { moduleOverlap } from './adapter-overlap.ts';
import { projectUnits } from './unit-projection.ts';
import { factoredInner } from './factored-inner.ts';
import { splitHelperDescription } from '../compute/split-helper.ts';
import { drainExactPool } from '../compute/exact-dense-operator.ts';
import { exactKernelsModule } from '../compute/wasm-kernels.ts';

/**
 * The compute line every report states: the backend that holds W0 and runs the iterative
 * products, and where the certificates are computed.
 */
export function diagnosticsBackendLine(backend: Backend): string {
  const d = describeBackend(backend);
  const line = `${d.name} — ${d.device}, ${d.version}`;
  const threads = splitHelperDescription();
  const simd = exactKernelsModule() !== undefined;
  const f64 = simd ? 'f64 WebAssembly SIMD kernels (TypeScript where a shape does not suit them)' : 'f64 TypeScript';
  if (backend.epsilon <= 2 ** -50) return `${line}; tall-base range projections in ${f64} (${threads})`;
  if (simd && !d.isGpu) {
    // intruder-scan.ts: on CPU backends the iterations use the f64 kernels too, where they cover the shape.
    return `${line} for shapes the f64 WebAssembly SIMD kernels do not cover; otherwise iterations and certificates in those kernels, full SVD in f64 TypeScript (${threads})`;
  }
  return `${line}; certificates in ${f64}, full SVD in f64 TypeScript (${threads})`;
}
export const DEFAULT_K = 10;
export const DEFAULT_EPSILON = 0.5;
export const DEFAULT_SWEEP: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

export interface AnalyzeOptions {
  /** Adapter paths (folders/files) or adapters already loaded. */
  readonly adapters: readonly (string | Adapter)[];
  /** Base checkpoint: a .safetensors file, an index json, a folder, or an open source. */
  readonly base?: string | TensorSource;
  /** merge-report.json of a merge of these adapters: retention and LEGO clusters come from it. */
  readonly mergeReport?: string;
  /** A merged adapter: retention of each input is recomputed against it (factored). */
  readonly merged?: string | Adapter;
  readonly k?: number;
  /** Thresholds decided exactly (default [0.5]). */
  readonly epsilons?: readonly number[];
  readonly sweep?: readonly number[];
  readonly seed?: number;
  readonly route?: 'auto' | 'full';
  /** Folder for cached base spectra; null keeps them in memory only. Default: defaultCacheDir(). */
  readonly cacheDir?: string | null;
  /** Or a cache object (shared between runs in one process). */
  readonly cache?: BasisCache;
  /** Only modules whose name contains one of these strings. */
  readonly modules?: readonly string[];
  readonly signal?: AbortSignal;
  /** Compute backend for the products with W0 (default: defaultBackend(), wasm on CPU). */
  readonly backend?: Backend;
  /** Clock for createdAt (tests pin it). */
  readonly now?: () => Date;
}

export type AnalyzeEvent =
  | { readonly type: 'start'; readonly adapters: readonly string[]; readonly totalModules: number; readonly withBase: boolean }
  | {
      readonly type: 'module';
      readonly index: number;
      readonly total: number;
      readonly adapter: string;
      readonly module: string;
      readonly phase: 'spectrum' | 'intruders' | 'done';
    }
  | { readonly type: 'phase'; readonly phase: 'overlap' | 'projection' | 'retention' }
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'done'; readonly report: DiagnosticsReport };

/** `.awb-cache/` under the OS cache folder ($XDG_CACHE_HOME, ~/Library/Caches, %LOCALAPPDATA%, ~/.cache). */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const base =
    env.XDG_CACHE_HOME ??
    (process.platform === 'darwin' ? join(homedir(), 'Library', 'Caches') : process.platform === 'win32' ? env.LOCALAPPDATA : undefined) ??
    join(homedir(), '.cache');
  return join(base, '.awb-cache');
}

interface LoadedModule {
  readonly module: LoraModule;
  readonly factors: ModuleFactors;
  readonly svd: FactoredSvd;
}

function checkOptions(options: AnalyzeOptions): void {
  const bad = (why: string, details: Record<string, unknown>): never => {
    throw new WorkbenchError('INVALID_ARGUMENT', why, { details });
  };
  if (options.adapters.length === 0) bad('analyze needs at least one adapter', {});
  const k = options.k ?? DEFAULT_K;
  if (!Number.isInteger(k) || k < 1 || k > 10_000) bad(`k must be an integer in [1, 10000], got ${k}`, { k });
  for (const eps of [...(options.epsilons ?? []), ...(options.sweep ?? [])]) {
    if (!(eps > 0 && eps <= 1)) bad(`ε must lie in (0, 1], got ${eps}`, { epsilon: eps });
  }
}

export async function* analyze(options: AnalyzeOptions): AsyncGenerator<AnalyzeEvent, DiagnosticsReport> {
  checkOptions(options);
  const started = Date.now();
  const seed = options.seed ?? DEFAULT_SEED;
  const k = options.k ?? DEFAULT_K;
  const epsilons = [...(options.epsilons ?? [DEFAULT_EPSILON])];
  const sweep = [...(options.sweep ?? DEFAULT_SWEEP)];
  const route = options.route ?? 'auto';
  const backend = options.backend ?? (await defaultBackend());
  const cacheDir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  const cache = options.cache ?? (cacheDir === null ? memoryBasisCache() : diskBasisCache(cacheDir));
  const signal = options.signal;
  const warnings: string[] = [];
  const problems: Problem[] = [];

  const owned: Adapter[] = [];
  const adapters: Adapter[] = [];
  for (const entry of options.adapters) {
    throwIfAborted(signal, 'analysis');
    if (typeof entry === 'string') {
      const loaded = await loadAdapter(entry);
      owned.push(loaded);
      adapters.push(loaded);
    } else {
      adapters.push(entry);
    }
  }
  let base: TensorSource | undefined;
  let baseIndex: BaseIndex | undefined;
  let ownsBase = false;
  try {
    if (options.base !== undefined) {
      base = typeof options.base === 'string' ? await openTensorSource(options.base) : options.base;
      ownsBase = typeof options.base === 'string';
      baseIndex = indexBase(base);
    }
    const wanted = (name: string): boolean => !options.modules || options.modules.length === 0 || options.modules.some((s) => name.includes(s));
    const plan = adapters.map((a) => a.modules.filter((m) => wanted(m.name)));
    const totalModules = plan.reduce((acc, list) => acc + list.length, 0);
    yield { type: 'start', adapters: adapters.map((a) => a.name), totalModules, withBase: base !== undefined };
    for (const adapter of adapters) {
      for (const w of adapter.warnings) warnings.push(`${adapter.name}: ${w}`);
    }

    const modules: ModuleEntry[] = [];
    const loaded: Map<string, LoadedModule>[] = adapters.map(() => new Map());
    let index = 0;
    let baseTensorsAnalysed = 0;
    for (let a = 0; a < adapters.length; a++) {
      const adapter = adapters[a]!;
      for (const module of plan[a]!) {
        throwIfAborted(signal, 'analysis');
        index++;
        yield { type: 'module', index, total: totalModules, adapter: adapter.name, module: module.name, phase: 'spectrum' };
        const factors = await module.load();
        const svd = factoredSvd(factors.B, factors.A, module.scale);
        loaded[a]!.set(module.name, { module, factors, svd });
        const spectrum = moduleSpectrum(factors.B, factors.A, module.scale, svd);
        const path = parseModulePath(module.name);
        let intruders: ModuleEntry['intruders'] = null;
        if (baseIndex && base) {
          const tensor = findBaseTensor(baseIndex, module.name);
          if (tensor === undefined) {
            problems.push({
              code: 'BASE_MODULE_MISSING',
              adapter: adapter.name,
              module: module.name,
              message: `no base weight for module "${module.name}" in ${base.label} (tried "${module.name}.weight" with and without model./base_model.model. prefixes and underscore names)`,
            });
          } else {
            const shape = base.info(tensor).shape;
            const check = checkBaseShape(module, shape);
            if (!check.ok) {
              problems.push({
                code: 'BASE_SHAPE_MISMATCH',
                adapter: adapter.name,
                module: module.name,
                message: `base weight "${tensor}" has shape [${check.seen.join(', ')}], expected ${check.expected} for a ${module.outFeatures}×${module.inFeatures} ${module.layout.kind} module`,
              });
            } else {
              yield { type: 'module', index, total: totalModules, adapter: adapter.name, module: module.name, phase: 'intruders' };
              const weight = await readBaseWeight(base, tensor, module, check.transposed);
              baseTensorsAnalysed++;
              const scan: ModuleIntruderResult = await scanModuleIntruders(weight.W0, factors.B, factors.A, module.scale, {
                k,
                epsilons,
                sweep,
                seed,
                route,
                cache,
                baseKey: `${weight.sha256}-${check.transposed ? 'T' : 'N'}`,
                signal,
                backend,
              });
              intruders = {
                baseTensor: tensor,
                baseTensorSha256: weight.sha256,
                transposed: check.transposed,
                tunedSigma: scan.tunedSigma,
                baseSigma: scan.baseSigma,
                vectors: scan.vectors,
                counts: scan.counts,
                sweep: scan.sweep,
                similarity: modules.length < REPORT_MAX_DETAILED_MODULES ? scan.similarity : [],
                base: scan.base,
                quadratureSteps: scan.quadratureSteps,
              };
            }
          }
        }
        modules.push({
          adapter: adapter.name,
          adapterIndex: a,
          module: module.name,
          layer: path.layer,
          moduleType: path.moduleType,
          shape: [module.outFeatures, module.inFeatures],
          rank: module.rank,
          scale: module.scale,
          layout: module.layout.kind,
          spectrum,
          intruders,
        });
        yield { type: 'module', index, total: totalModules, adapter: adapter.name, module: module.name, phase: 'done' };
      }
    }
    for (const p of problems) {
      yield { type: 'warning', message: `[${p.code}] ${p.adapter}: ${p.message}` };
    }

    const intruders = base ? intruderTotals(adapters, modules, epsilons, sweep) : null;

    yield { type: 'phase', phase: 'overlap' };
    const overlaps: PairOverlap[] = [];
    for (let i = 0; i < adapters.length; i++) {
      for (let j = i + 1; j < adapters.length; j++) {
        throwIfAborted(signal, 'analysis');
        overlaps.push(pairOverlap(i, j, loaded[i]!, loaded[j]!, seed));
      }
    }

    yield { type: 'phase', phase: 'retention' };
    let mergeReport: MergeReport | undefined;
    let mergeReportInput: DiagnosticsReport['inputs']['mergeReport'] = null;
    if (options.mergeReport !== undefined) {
      let bytes: Buffer;
      try {
        bytes = await readFile(options.mergeReport);
      } catch (error) {
        throw fromFsError(error, options.mergeReport, 'read merge report');
      }
      try {
        mergeReport = JSON.parse(bytes.toString('utf8')) as MergeReport;
      } catch (error) {
        throw new WorkbenchError('REPORT_INVALID', `${options.mergeReport}: not valid JSON`, { cause: error });
      }
      if (!Array.isArray(mergeReport.modules)) {
        throw new WorkbenchError('REPORT_INVALID', `${options.mergeReport}: no "modules" list; is this a merge-report.json?`);
      }
      mergeReportInput = { path: options.mergeReport, sha256: sha256Bytes(bytes) };
    }
    const retention = await retentionEntries(adapters, loaded, mergeReport, options.merged, owned, signal);

    yield { type: 'phase', phase: 'projection' };
    const projections = unitProjections(adapters, loaded, mergeReport);

    const report: DiagnosticsReport = {
      schemaVersion: REPORT_SCHEMA_VERSION,
      kind: REPORT_KIND,
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
      createdAt: (options.now?.() ?? new Date()).toISOString(),
      backend: diagnosticsBackendLine(backend),
      seed,
      settings: { k, epsilons, sweep, route, suggestedEnergy: SUGGESTED_ENERGY, cacheDir: options.cache ? null : cacheDir },
      inputs: {
        adapters: adapters.map((ad, i): AdapterInput => ({
          index: i,
          name: ad.name,
          path: ad.files[0]?.path ?? ad.name,
          format: ad.format,
          baseModel: ad.baseModel ?? null,
          moduleCount: ad.modules.length,
          sha256: ad.files.map((f) => ({ file: f.name, sha256: f.sha256 })),
        })),
        base: base ? { path: typeof options.base === 'string' ? options.base : base.label, tensorsAnalysed: baseTensorsAnalysed } : null,
        mergeReport: mergeReportInput,
      },
      modules,
      intruders,
      overlaps,
      projections,
      retention,
      problems,
      warnings,
      timings: { seconds: (Date.now() - started) / 1000 },
    };
    yield { type: 'done', report };
    return report;
  } finally {
    drainExactPool();
    if (ownsBase) await base?.close();
    for (const a of owned) await a.close();
  }
}

/** Drains analyze() and returns the report; `onEvent` sees every progress event. */
export async function runAnalysis(options: AnalyzeOptions, onEvent?: (event: AnalyzeEvent) => void): Promise<DiagnosticsReport> {
  const generator = analyze(options);
  for (;;) {
    const step = await generator.next();
    if (step.done) return step.value;
    onEvent?.(step.value);
  }
}

function sumCounts(lists: readonly EpsilonCount[][], epsilons: readonly number[]): EpsilonCount[] {
  return epsilons.map((epsilon, e) => {
    const byRoute: Record<DecisionRoute, number> = { 'partial-basis': 0, 'quadrature-bound': 0, 'full-svd': 0 };
    let intruders = 0;
    let undecided = 0;
    for (const list of lists) {
      const c = list[e];
      if (!c) continue;
      intruders += c.intruders;
      undecided += c.undecided;
      for (const key of Object.keys(byRoute) as DecisionRoute[]) byRoute[key] += c.byRoute[key];
    }
    return { epsilon, intruders, undecided, byRoute };
  });
}

function intruderTotals(adapters: readonly Adapter[], modules: readonly ModuleEntry[], epsilons: readonly number[], sweep: readonly number[]): IntruderTotals[] {
  return adapters.map((adapter, a) => {
    const mine = modules.filter((m) => m.adapterIndex === a && m.intruders !== null);
    return {
      adapter: adapter.name,
      adapterIndex: a,
      modules: mine.length,
      counts: sumCounts(mine.map((m) => m.intruders!.counts), epsilons),
      sweep: sumCounts(mine.map((m) => m.intruders!.sweep), sweep),
      byLayer: mine.map((m) => ({ layer: m.layer, moduleType: m.moduleType, intruders: m.intruders!.counts[0]?.intruders ?? 0 })),
      fullSvdModules: mine.filter((m) => m.intruders!.base.fullSvd).length,
      cachedModules: mine.filter((m) => m.intruders!.base.fromCache).length,
    };
  });
}

function pairOverlap(i: number, j: number, first: Map<string, LoadedModule>, second: Map<string, LoadedModule>, seed: number): PairOverlap {
  const out: PairOverlap['modules'] = [];
  for (const [name, x] of first) {
    const y = second.get(name);
    if (!y || x.module.outFeatures !== y.module.outFeatures || x.module.inFeatures !== y.module.inFeatures) continue;
    const o = moduleOverlap(
      { B: x.factors.B, A: x.factors.A, scale: x.module.scale, svd: x.svd },
      { B: y.factors.B, A: y.factors.A, scale: y.module.scale, svd: y.svd },
      seed,
    );
    out.push({ module: name, ...o, unitCosines: out.length < REPORT_MAX_DETAILED_MODULES ? o.unitCosines : [] });
  }
  const mean = (f: (m: PairOverlap['modules'][number]) => number): number => (out.length ? out.reduce((acc, m) => acc + f(m), 0) / out.length : 0);
  return {
    first: i,
    second: j,
    commonModules: out.length,
    meanColumnOverlap: mean((m) => m.column.overlap),
    meanRowOverlap: mean((m) => m.row.overlap),
    meanSignConflict: mean((m) => m.signConflict.rate),
    modules: out,
  };
}

function unitProjections(adapters: readonly Adapter[], loaded: readonly Map<string, LoadedModule>[], mergeReport: MergeReport | undefined): UnitProjection[] {
  // Modules shared by the most adapters first (the interesting comparisons), then by name.
  const holders = (name: string): number => loaded.filter((m) => m.has(name)).length;
  const names = [...new Set(loaded.flatMap((m) => [...m.keys()]))]
    .sort((a, b) => holders(b) - holders(a) || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, REPORT_MAX_DETAILED_MODULES);
  const out: UnitProjection[] = [];
  for (const name of names) {
    const inputs = loaded
      .map((map, a) => ({ a, entry: map.get(name) }))
      .filter((x): x is { a: number; entry: LoadedModule } => x.entry !== undefined);
    const dims = inputs[0]!.entry.module;
    const same = inputs.filter((x) => x.entry.module.outFeatures === dims.outFeatures && x.entry.module.inFeatures === dims.inFeatures);
    const { points, explained } = projectUnits(same.map((x) => ({ adapterIndex: x.a, B: x.entry.factors.B, A: x.entry.factors.A, scale: x.entry.module.scale })));
    const assignment = mergeReport?.modules.find((m) => m.module === name)?.details?.assignment as Record<string, number> | undefined;
    out.push({
      module: name,
      explained,
      points: points.map((p) => ({
        ...p,
        cluster: assignment?.[`${p.adapterIndex}:${adapters[p.adapterIndex]!.name}:${name}:${p.rankIndex}`] ?? null,
      })),
    });
  }
  return out;
}

async function retentionEntries(
  adapters: readonly Adapter[],
  loaded: readonly Map<string, LoadedModule>[],
  mergeReport: MergeReport | undefined,
  merged: string | Adapter | undefined,
  owned: Adapter[],
  signal: AbortSignal | undefined,
): Promise<RetentionEntry[]> {
  if (mergeReport) {
    return mergeReport.modules.map((m) => ({
      module: m.module,
      source: 'merge-report' as const,
      inputs: m.retention.map((r) => ({ input: r.input, projection: r.projection, relativeError: r.relativeError })),
    }));
  }
  if (merged === undefined) return [];
  const mergedAdapter = typeof merged === 'string' ? await loadAdapter(merged) : merged;
  if (typeof merged === 'string') owned.push(mergedAdapter);
  const out: RetentionEntry[] = [];
  for (const module of mergedAdapter.modules) {
    throwIfAborted(signal, 'retention');
    const mf = await module.load();
    const mm = { B: mf.B, A: mf.A, scale: module.scale };
    const mNorm2 = factoredInner(mm, mm);
    const inputs: RetentionEntry['inputs'] = [];
    loaded.forEach((map, a) => {
      const x = map.get(module.name);
      if (!x) return;
      const t = { B: x.factors.B, A: x.factors.A, scale: x.module.scale };
      const tNorm2 = factoredInner(t, t);
      const inner = factoredInner(mm, t);
      inputs.push({
        input: adapters[a]!.name,
        projection: tNorm2 > 0 ? inner / tNorm2 : 0,
        relativeError: tNorm2 > 0 ? Math.sqrt(Math.max(0, mNorm2 - 2 * inner + tNorm2) / tNorm2) : null,
      });
    });
    out.push({ module: module.name, source: 'recomputed', inputs });
  }
  return out;
}
