// executeMerge: runs a MergePlan module by module as an async generator of progress
// events. Peak memory is about one module's factors (plus one dense m×n for the
// element-wise methods); the AbortSignal is checked between modules; OUT/ is
// written atomically at the end, with the report and provenance metadata.
import { createHash } from 'node:crypto';
import { basename, isAbsolute, join } from 'node:path';
import { WorkbenchError, throwIfAborted } from '../errors.ts';
import type { Adapter, ExtraTensor, Layout, LoraModule } from '../adapter/types.ts';
import { loadAdapter as defaultLoadAdapter } from '../adapter/load-adapter.ts';
import type { Mat } from '../tensor/matrix.ts';
import { sha256Bytes, canonicalJson } from '../util/hash.ts';
import type { TensorToWrite } from '../safetensors/writer.ts';
import { TOOL_NAME, TOOL_VERSION } from '../version.ts';
import { gramSpace } from './kernels/gram-space.ts';
import { spanOf } from './kernels/input-span.ts';
import { sharedScratchF64 } from '../util/scratch.ts';
import { splitKernelsDescription } from './kernels/split-kernels.ts';
import { measureInSpan, type SpanMeasures } from './kernels/measure-in-span.ts';
import { releaseOutput } from './kernels/output-pool.ts';
import type { ModuleInput } from './method-types.ts';
import type { MergePlan } from './plan-merge.ts';
import { globToRegExp } from './recipe.ts';
import { deriveSeed } from './methods/shared.ts';
import { checkOutputTarget, openMergeOutput } from './merge-output-sink.ts';
import type { ExtraDecision, InputSummary, MergeEvent, MergeReport, ModuleReport } from './report-types.ts';

/** The compute the merge kernels use: f64 TypeScript; the span kernels' threads are added per run (mergeBackend). */
export const MERGE_BACKEND = 'typescript-f64 merge kernels';

/** The backend line of a merge's metadata and report: kernels, and the threads of the span kernels. */
export function mergeBackend(): string {
  return `${MERGE_BACKEND} (Gram and output products: ${splitKernelsDescription()})`;
}
export const REPORT_FILE_NAME = 'merge-report.json';

export interface ExecuteMergeOptions {
  /** Output folder; must be absent or empty unless overwrite is set. */
  readonly outDir: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: MergeEvent) => void;
  /** Resolves relative input paths (the recipe's folder). Default: process.cwd(). */
  readonly baseDir?: string;
  /** Pre-loaded adapters, one per recipe input (tests, the server); paths are then only labels. */
  readonly adapters?: readonly Adapter[];
  readonly loadAdapter?: (path: string) => Promise<Adapter>;
  readonly overwrite?: boolean;
}

/** Base model names compare by their last path segment, lower-cased, letters and digits only. */
export function normalizeBaseModel(name: string): string {
  const last = name.replace(/\/+$/, '').split('/').pop() ?? name;
  return last.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function layoutName(layout: Layout): string {
  return layout.kind === 'conv' ? `conv(${layout.kernel.join('x')})` : layout.kind;
}

/** sha256 of A's, B's and the scale's f64 bytes, streamed (no concatenated copy). */
function moduleHash(B: Mat, A: Mat, scale: number): string {
  const scaleBytes = new Float64Array([scale]);
  return createHash('sha256')
    .update(new Uint8Array(A.data.buffer, A.data.byteOffset, A.data.byteLength))
    .update(new Uint8Array(B.data.buffer, B.data.byteOffset, B.data.byteLength))
    .update(new Uint8Array(scaleBytes.buffer))
    .digest('hex');
}

interface ModulePlanEntry {
  readonly name: string;
  readonly holders: readonly { readonly input: number; readonly module: LoraModule }[];
}

function selectModules(plan: MergePlan, adapters: readonly Adapter[]): ModulePlanEntry[] {
  const { include, exclude, policy } = plan.recipe.modules;
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  const keep = (name: string): boolean => (inc.length === 0 || inc.some((r) => r.test(name))) && !exc.some((r) => r.test(name));
  const byName = new Map<string, { input: number; module: LoraModule }[]>();
  adapters.forEach((adapter, input) => {
    for (const module of adapter.modules) {
      if (!keep(module.name)) continue;
      const list = byName.get(module.name) ?? [];
      list.push({ input, module });
      byName.set(module.name, list);
    }
  });
  const entries = [...byName.entries()]
    .filter(([, holders]) => policy === 'union' || holders.length === adapters.length)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, holders]) => ({ name, holders }));
  if (entries.length === 0) {
    const counts = adapters.map((a) => `${a.name}: ${a.modules.length}`).join(', ');
    throw new WorkbenchError(
      'MERGE_EMPTY',
      `no module left to merge (policy ${policy}, include [${include.join(', ')}], exclude [${exclude.join(', ')}]; modules per input: ${counts})`,
      { details: { policy, include, exclude, modulesPerInput: adapters.map((a) => ({ input: a.name, modules: a.modules.length })) } },
    );
  }
  for (const entry of entries) {
    const first = entry.holders[0]!;
    for (const h of entry.holders.slice(1)) {
      const a = first.module;
      const b = h.module;
      if (a.outFeatures !== b.outFeatures || a.inFeatures !== b.inFeatures || layoutName(a.layout) !== layoutName(b.layout)) {
        throw new WorkbenchError(
          'MERGE_SHAPE_MISMATCH',
          `module ${entry.name}: ${adapters[first.input]!.name} has ΔW ${a.outFeatures}×${a.inFeatures} (${layoutName(a.layout)}) but ${adapters[h.input]!.name} has ${b.outFeatures}×${b.inFeatures} (${layoutName(b.layout)})`,
          {
            details: {
              module: entry.name,
              shapes: entry.holders.map((x) => ({ input: adapters[x.input]!.name, out: x.module.outFeatures, in: x.module.inFeatures, layout: layoutName(x.module.layout) })),
            },
          },
        );
      }
    }
  }
  return entries;
}

function checkBases(plan: MergePlan, adapters: readonly Adapter[]): string[] {
  const named = adapters.map((a) => ({ name: a.name, base: a.baseModel })).filter((x): x is { name: string; base: string } => typeof x.base === 'string' && x.base.length > 0);
  const distinct = new Set(named.map((x) => normalizeBaseModel(x.base)));
  if (distinct.size <= 1) return [];
  const listing = named.map((x) => `${x.name}: ${x.base}`).join(', ');
  if (plan.recipe.allowBaseMismatch) return [`inputs declare different base models (${listing}); merged anyway (allowBaseMismatch)`];
  throw new WorkbenchError('MERGE_BASE_MISMATCH', `inputs declare different base models: ${listing}`, {
    details: { bases: named.map((x) => ({ input: x.name, baseModel: x.base })) },
  });
}

function weightsFor(plan: MergePlan, module: string): number[] {
  let weights = plan.recipe.inputs.map((i) => i.weight);
  for (const o of plan.recipe.overrides) if (globToRegExp(o.match).test(module)) weights = [...o.weights];
  return weights;
}

async function decideExtras(plan: MergePlan, adapters: readonly Adapter[]): Promise<{ decisions: ExtraDecision[]; tensors: TensorToWrite[]; warnings: string[] }> {
  const byKey = new Map<string, { input: number; extra: ExtraTensor }[]>();
  adapters.forEach((adapter, input) => {
    for (const extra of adapter.extras) {
      const list = byKey.get(extra.key) ?? [];
      list.push({ input, extra });
      byKey.set(extra.key, list);
    }
  });
  const decisions: ExtraDecision[] = [];
  const tensors: TensorToWrite[] = [];
  const warnings: string[] = [];
  for (const key of [...byKey.keys()].sort()) {
    const holders = byKey.get(key)!;
    const names = holders.map((h) => adapters[h.input]!.name);
    if (plan.recipe.extras === 'drop') {
      decisions.push({ key, action: 'dropped', from: null, inputs: names, reason: 'extras: drop' });
      continue;
    }
    const first = holders[0]!;
    const firstBytes = await first.extra.readBytes();
    const firstHash = sha256Bytes(firstBytes);
    let identical = true;
    for (const h of holders.slice(1)) {
      const same = h.extra.dtype === first.extra.dtype && h.extra.shape.join(',') === first.extra.shape.join(',') && sha256Bytes(await h.extra.readBytes()) === firstHash;
      if (!same) identical = false;
    }
    tensors.push({ name: key, dtype: first.extra.dtype, shape: first.extra.shape, bytes: firstBytes });
    if (identical) {
      decisions.push({ key, action: 'carried', from: adapters[first.input]!.name, inputs: names, reason: holders.length > 1 ? 'identical in every input that has it' : 'only one input has it' });
    } else {
      const msg = `extra tensor ${key} differs between ${names.join(', ')}; taken from the first (${adapters[first.input]!.name})`;
      warnings.push(msg);
      decisions.push({ key, action: 'carried-from-first', from: adapters[first.input]!.name, inputs: names, reason: 'conflicting values' });
    }
  }
  return { decisions, tensors, warnings };
}

/** True when every value is finite: x·0 is 0 for finite x and NaN for NaN or ±Inf (one tight pass). */
function allFinite(d: Float64Array): boolean {
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i]! * 0;
  return s === 0;
}

function assertInputFinite(input: string, module: string, B: Mat, A: Mat): void {
  if (allFinite(B.data) && allFinite(A.data)) return;
  for (const [factor, x] of [['B', B], ['A', A]] as const) {
    let bad = 0;
    for (let i = 0; i < x.data.length; i++) if (!Number.isFinite(x.data[i]!)) bad++;
    if (bad > 0) {
      throw new WorkbenchError('ADAPTER_NONFINITE', `input ${input}, module ${module}: factor ${factor} holds ${bad} NaN/Inf value(s)`, {
        details: { input, module, factor, count: bad },
      });
    }
  }
}

/** The report's norms for an output outside the inputs' span, from the joint Gram of output and inputs. */
function measureInGramSpace(result: { B: Mat; A: Mat }, inputs: readonly ModuleInput[], coefs0: readonly number[]): SpanMeasures {
  // Term 0 is the merge, terms 1..T the inputs.
  const space = gramSpace([{ B: result.B, A: result.A }, ...inputs.map((i) => ({ B: i.B, A: i.A }))]);
  const coefs = (mergedCoef: number, inputCoef: (t: number) => number) => [mergedCoef, ...coefs0.map((x, t) => x * inputCoef(t))];
  return {
    exactNorm: space.norm(coefs(0, () => 1)),
    error: space.norm(coefs(1, () => -1)),
    mergedNorm: space.norm(coefs(1, () => 0)),
    perInput: inputs.map((_, t) => ({
      own: space.norm(coefs(0, (u) => (u === t ? 1 : 0))),
      error: space.norm(coefs(1, (u) => (u === t ? -1 : 0))),
      cross: space.inner(coefs(1, () => 0), coefs(0, (u) => (u === t ? 1 : 0))),
    })),
  };
}

function assertFinite(module: string, what: string, x: Mat): void {
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i]!)) {
      throw new WorkbenchError('MERGE_NONFINITE', `module ${module}: merged ${what} has a non-finite value at flat index ${i}`, { details: { module, factor: what, index: i } });
    }
  }
}

export async function* executeMerge(plan: MergePlan, options: ExecuteMergeOptions): AsyncGenerator<MergeEvent, MergeReport> {
  const emit = (event: MergeEvent): MergeEvent => {
    options.onProgress?.(event);
    return event;
  };
  const signal = options.signal;
  const overwrite = options.overwrite ?? false;
  await checkOutputTarget(options.outDir, overwrite);
  const recipe = plan.recipe;
  // No up-front NaN/Inf scan: it would read every factor twice. Each input module is checked
  // in memory when the merge loads it (assertInputFinite), before any arithmetic.
  const load = options.loadAdapter ?? ((path: string) => defaultLoadAdapter(path, { scanNonFinite: false }));
  const baseDir = options.baseDir ?? process.cwd();
  if (options.adapters && options.adapters.length !== recipe.inputs.length) {
    throw new WorkbenchError('INVALID_ARGUMENT', `${options.adapters.length} adapters given for ${recipe.inputs.length} recipe inputs`);
  }
  const adapters: Adapter[] = [];
  try {
    for (const input of recipe.inputs) {
      throwIfAborted(signal, 'merge');
      adapters.push(options.adapters?.[adapters.length] ?? (await load(isAbsolute(input.path) ? input.path : join(baseDir, input.path))));
    }
    const names = recipe.inputs.map((input, i) => input.name ?? adapters[i]!.name ?? basename(input.path));
    const warnings: string[] = [...checkBases(plan, adapters)];
    adapters.forEach((a, i) => {
      for (const w of a.warnings) warnings.push(`${names[i]}: ${w}`);
      if (a.modules.some((m) => m.hasDora)) warnings.push(`${names[i]}: DoRA magnitudes are ignored; the merge uses the plain low-rank part`);
    });
    const modules = selectModules(plan, adapters);
    yield emit({ type: 'start', totalModules: modules.length, inputs: names, method: plan.method.name });

    const extras = await decideExtras(plan, adapters);
    warnings.push(...extras.warnings);
    const inputSummaries: InputSummary[] = adapters.map((a, i) => ({
      index: i,
      name: names[i]!,
      path: recipe.inputs[i]!.path,
      format: a.format,
      baseModel: a.baseModel ?? null,
      weight: recipe.inputs[i]!.weight,
      sha256: a.files.map((f) => ({ file: f.name, sha256: f.sha256 })),
      moduleCount: a.modules.length,
    }));
    const metadata: Record<string, string> = {
      format: 'pt',
      awb_tool: `${TOOL_NAME} ${TOOL_VERSION}`,
      awb_backend: mergeBackend(),
      awb_method: plan.method.name,
      awb_seed: String(recipe.seed),
      awb_plan_sha256: plan.sha256,
      awb_recipe: canonicalJson(recipe),
      awb_params: canonicalJson(plan.params),
      awb_inputs: canonicalJson(inputSummaries.map((x) => ({ name: x.name, sha256: x.sha256 }))),
    };
    // Each module is written as soon as it is merged (memory stays bounded by one module); OUT/
    // appears only on finish, and the finally below removes the hidden folder on any exit.
    const sink = await openMergeOutput(options.outDir, {
      format: recipe.output.format,
      dtype: recipe.output.dtype,
      overwrite,
      signal,
      metadata,
      extras: extras.tensors,
      plan: {
        modules: modules.map((e) => ({ name: e.name, layout: e.holders[0]!.module.layout, outFeatures: e.holders[0]!.module.outFeatures, inFeatures: e.holders[0]!.module.inFeatures })),
      },
    });
    try {
    const moduleReports: ModuleReport[] = [];
    const rankByModule = new Map<string, number>();
    const dtype = recipe.output.dtype;
    for (let index = 0; index < modules.length; index++) {
      throwIfAborted(signal, 'merge');
      const entry = modules[index]!;
      yield emit({ type: 'module', index, total: modules.length, module: entry.name, phase: 'load' });
      const weights = weightsFor(plan, entry.name);
      const ref = entry.holders[0]!.module;
      const inputs: ModuleInput[] = [];
      for (const h of entry.holders) {
        // Each input's factors land in that input's reused buffers (valid until its next module).
        const factors = await h.module.load({ allocate: (factor, length) => sharedScratchF64(`merge.input.${h.input}.${factor}`, length) });
        assertInputFinite(names[h.input]!, entry.name, factors.B, factors.A);
        let contentHash: string | undefined;
        inputs.push({
          index: h.input,
          name: names[h.input]!,
          // Only seeded order-free steps read it (methods/shared.ts canonicalOrder): hashed on demand.
          get contentHash() {
            contentHash ??= moduleHash(factors.B, factors.A, h.module.scale);
            return contentHash;
          },
          weight: weights[h.input]!,
          scale: h.module.scale,
          rank: factors.A.rows,
          B: factors.B,
          A: factors.A,
        });
      }
      throwIfAborted(signal, 'merge');
      yield emit({ type: 'module', index, total: modules.length, module: entry.name, phase: 'merge' });
      const result = await plan.method.run({
        module: entry.name,
        outFeatures: ref.outFeatures,
        inFeatures: ref.inFeatures,
        inputs,
        inputCount: adapters.length,
        params: plan.params,
        seed: deriveSeed(recipe.seed, entry.name),
      });
      assertFinite(entry.name, 'B', result.B);
      assertFinite(entry.name, 'A', result.A);
      for (const w of result.warnings ?? []) warnings.push(w);
      // Report: everything in factored form.
      const total = plan.method.normalizesWeights ? inputs.reduce((s, i) => s + i.weight, 0) : 1;
      const coefs0 = inputs.map((i) => (i.weight / total) * i.scale);
      const measures = result.coefficients
        ? // The output lies in the inputs' span: every norm in c-space (kernels/measure-in-span.ts).
          measureInSpan(spanOf(inputs), coefs0, result.coefficients)
        : measureInGramSpace(result, inputs, coefs0);
      const { exactNorm, error, mergedNorm: mergedNormValue } = measures;
      const retention = inputs.map((input, t) => {
        const { own, error: e, cross } = measures.perInput[t]!;
        return {
          input: input.name,
          index: input.index,
          weight: input.weight,
          relativeError: own > 0 ? e / own : 0,
          projection: own > 0 ? cross / (own * own) : 0,
        };
      });
      const rank = result.A.rows;
      if (rank === 0) {
        warnings.push(`module ${entry.name}: the merged delta is zero; the module is left out of the output`);
      } else {
        rankByModule.set(entry.name, rank);
        await sink.addModule({ name: entry.name, layout: ref.layout, outFeatures: ref.outFeatures, inFeatures: ref.inFeatures, B: result.B, A: result.A });
      }
      // Encoded and measured: the output buffers go back to the pool for the next module.
      releaseOutput(result.B.data, result.A.data);
      moduleReports.push({
        module: entry.name,
        outFeatures: ref.outFeatures,
        inFeatures: ref.inFeatures,
        layout: layoutName(ref.layout),
        inputs: inputs.map((i) => i.name),
        outputRank: rank,
        relativeErrorVsExact: exactNorm > 0 ? error / exactNorm : error,
        exactNorm,
        mergedNorm: mergedNormValue,
        retention,
        details: result.details ?? {},
      });
      yield emit({ type: 'module', index, total: modules.length, module: entry.name, phase: 'done' });
    }
    if (rankByModule.size === 0) {
      throw new WorkbenchError('MERGE_EMPTY', 'every merged module came out zero; nothing to write', { details: { modules: modules.length } });
    }
    throwIfAborted(signal, 'merge');
    const { rank: r, rankPattern } = sink.summary();
    const errors = moduleReports.map((m) => m.relativeErrorVsExact);
    const report: MergeReport = {
      schema: 'awb.merge-report/1',
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
      backend: mergeBackend(),
      method: plan.method.name,
      params: plan.params,
      seed: recipe.seed,
      planSha256: plan.sha256,
      recipe,
      inputs: inputSummaries,
      output: {
        format: recipe.output.format,
        dtype,
        rank: r,
        rankPattern,
        moduleCount: rankByModule.size,
        files: sink.fileNames([REPORT_FILE_NAME]),
      },
      summary: {
        meanRelativeErrorVsExact: errors.reduce((s, v) => s + v, 0) / Math.max(1, errors.length),
        maxRelativeErrorVsExact: Math.max(0, ...errors),
      },
      modules: moduleReports,
      extras: extras.decisions,
      warnings,
    };
    yield emit({ type: 'write', path: options.outDir });
    await sink.finish({
      config: adapters[0]!.config,
      baseModel: adapters.find((a) => a.baseModel)?.baseModel,
      texts: { [REPORT_FILE_NAME]: `${JSON.stringify(report, null, 2)}\n` },
    });
    yield emit({ type: 'done', outDir: options.outDir, report });
    return report;
    } finally {
      await sink.abort();
    }
  } finally {
    if (!options.adapters) await Promise.all(adapters.map((a) => a.close().catch(() => undefined)));
  }
}

/** Drains executeMerge and returns the report. */
export async function runMerge(plan: MergePlan, options: ExecuteMergeOptions): Promise<MergeReport> {
  const gen = executeMerge(plan, options);
  for (;;) {
    const step = await gen.next();
    if (step.done) return step.value;
  }
}
