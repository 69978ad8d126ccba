// convertAdapter: any importable adapter → a PEFT or kohya LoRA (families in their exact LoRA form,
// optionally truncated to a rank or energy, DoRA folded into a plain LoRA given its base weight), or
// back to LoHa / LoKr where the module has that structure. OUT/ appears whole or not at all, with
// OUT/convert-report.json (tool version, input sha256s, backend, seed, per-module relative error).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkbenchError, throwIfAborted } from '../errors.ts';
import { writeFolderAtomic } from '../adapter/atomic-folder.ts';
import { writePeftAdapter } from '../adapter/export-peft.ts';
import { writeKohyaAdapter } from '../adapter/export-kohya.ts';
import type { ExportDType } from '../adapter/export-tensors.ts';
import type { Adapter, ExportModule, LoraModule, SourceFile } from '../adapter/types.ts';
import type { TensorSource } from '../safetensors/reader.ts';
import { TOOL_NAME, TOOL_VERSION } from '../version.ts';
import { baseWeightFor, doraModuleWithBase } from './dora-with-base.ts';
import { lohaExportTensors, writeFamilyFile, type FamilyExport } from './export-loha.ts';
import { lokrExportTensors } from './export-lokr.ts';
import { MODULE_SHAPES_KEY, nativeFactors } from './family-module.ts';
import { kroneckerToLora } from './kronecker-svd.ts';
import { truncateModule } from './truncate-module.ts';
import { DEFAULT_CONVERSION_SEED } from './truncate-operator.ts';

export const CONVERT_TARGETS = ['peft', 'kohya', 'loha', 'lokr'] as const;
export type ConvertTarget = (typeof CONVERT_TARGETS)[number];
export const CONVERT_REPORT_FILE = 'convert-report.json';
export const CONVERT_BACKEND = 'typescript-f64 (exact SVD of the factors; randomized SVD for DoRA with a base; LU with partial pivoting for LoLDU; main thread)';

export interface ConvertOptions {
  readonly to: ConvertTarget;
  readonly rank?: number;
  readonly energy?: number;
  /** A base model (DoRA → plain LoRA of its effective delta). */
  readonly base?: { readonly source: TensorSource; readonly file: SourceFile };
  /** Seed of the randomized SVD (DoRA with a base). Default 42. */
  readonly seed?: number;
  readonly dtype?: ExportDType;
  /** --to loha|lokr: write modules without that structure as the trivial member of the family. */
  readonly allowEmbed?: boolean;
  readonly overwrite?: boolean;
  readonly signal?: AbortSignal;
  /** Recorded in the report (e.g. the command line). */
  readonly command?: string;
}

export interface ConvertModuleRow {
  readonly name: string;
  /** Family of the input module ("lora" for plain LoRA, "dora" for DoRA). */
  readonly family: string;
  /** exact: ΔW unchanged (up to the output dtype); truncated: relativeError says by how much. */
  readonly conversion: 'exact' | 'truncated';
  /** native: written in the target family's own factors; embedded: as the family's trivial member. */
  readonly written?: 'native' | 'embedded';
  readonly rankIn: number;
  readonly rankOut: number;
  /** ‖ΔW − ΔW_out‖_F / ‖ΔW‖_F before the dtype cast (0 when exact). */
  readonly relativeError: number;
}

export interface ConvertReport {
  readonly tool: { readonly name: string; readonly version: string };
  readonly command?: string;
  readonly to: ConvertTarget;
  readonly input: { readonly name: string; readonly format: string; readonly files: readonly { readonly name: string; readonly sha256: string; readonly sizeBytes: number }[] };
  readonly base: { readonly name: string; readonly sha256: string; readonly sizeBytes: number } | null;
  readonly truncation: { readonly rank: number | null; readonly energy: number | null };
  readonly seed: number | null;
  readonly backend: string;
  readonly dtype: string;
  readonly outputFiles: readonly string[];
  readonly modules: readonly ConvertModuleRow[];
  readonly summary: { readonly moduleCount: number; readonly truncatedModules: number; readonly maxRelativeError: number; readonly meanRelativeError: number };
}

function familyOf(module: LoraModule): string {
  return module.family?.name ?? (module.hasDora ? 'dora' : 'lora');
}

function checkOptions(adapter: Adapter, options: ConvertOptions): void {
  const truncating = options.rank !== undefined || options.energy !== undefined;
  if (options.rank !== undefined && (!Number.isInteger(options.rank) || options.rank < 1)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `--rank must be a positive integer, got ${options.rank}`, { details: { rank: options.rank } });
  }
  if (options.energy !== undefined && !(options.energy > 0 && options.energy <= 1)) {
    throw new WorkbenchError('INVALID_ARGUMENT', `--energy must satisfy 0 < e ≤ 1, got ${options.energy}`, { details: { energy: options.energy } });
  }
  if (options.to === 'loha' || options.to === 'lokr') {
    const bad = truncating ? '--rank/--energy' : options.base ? '--base' : options.dtype && options.dtype !== 'F32' ? `--dtype ${options.dtype}` : undefined;
    if (bad) {
      throw new WorkbenchError('INVALID_ARGUMENT', `--to ${options.to} writes each module exactly in its own factors (F32); ${bad} does not apply`, { details: { to: options.to } });
    }
    return;
  }
  const dora = adapter.modules.filter((m) => m.hasDora);
  const first = dora[0];
  if (first === undefined) return;
  if (options.base && !truncating) {
    throw new WorkbenchError('INVALID_ARGUMENT', `module "${first.name}" is DoRA: its effective delta diag(g)(W0 + sBA) − W0 is generally full rank, so --base needs --rank R or --energy E`, {
      details: { module: first.name },
    });
  }
  if (!options.base && truncating) {
    throw new WorkbenchError('FAMILY_UNSUPPORTED', `module "${first.name}" is DoRA: truncating it needs its base weight W0 (the magnitude rescales W0 + sBA); pass --base MODEL.safetensors`, {
      details: { module: first.name, doraModules: dora.length },
    });
  }
  if (!options.base && options.to === 'kohya') {
    throw new WorkbenchError('FAMILY_UNSUPPORTED', `module "${first.name}" is DoRA: kohya LoRA cannot carry its magnitude; pass --base MODEL.safetensors (with --rank/--energy) to fold it into a plain LoRA, or write --to peft`, {
      details: { module: first.name, doraModules: dora.length },
    });
  }
}

/** One module to its LoRA output form and its report row. */
async function convertModule(module: LoraModule, options: ConvertOptions): Promise<{ out: LoraModule; row: ConvertModuleRow }> {
  const family = familyOf(module);
  const base = { name: module.name, family, rankIn: module.rank };
  const exactRow = (m: LoraModule): ConvertModuleRow => ({ ...base, conversion: m.family?.conversion ?? 'exact', rankOut: m.rank, relativeError: m.family?.relativeError ?? 0 });
  const { rank, energy } = options;
  if (module.hasDora) {
    if (!options.base) return { out: module, row: exactRow(module) };
    const W0 = await baseWeightFor(options.base.source, module);
    const out = await doraModuleWithBase(module, W0, { rank, energy, seed: options.seed ?? DEFAULT_CONVERSION_SEED, signal: options.signal });
    return { out, row: { ...base, conversion: 'truncated', rankOut: out.rank, relativeError: out.family?.relativeError ?? 0 } };
  }
  if (rank === undefined && energy === undefined) return { out: module, row: exactRow(module) };
  if (energy === undefined && rank !== undefined && module.rank <= rank) return { out: module, row: exactRow(module) };
  const native = nativeFactors(module);
  const n = native ? await native() : undefined;
  if (n?.kind === 'lokr') {
    // Two small SVDs instead of the SVD of the rank-min(a,c)·min(b,d) LoRA form.
    const k = kroneckerToLora(n.W1, n.W2, { rank, energy });
    const factors = { A: k.A, B: k.B };
    const out: LoraModule = {
      ...module,
      rank: k.rank,
      alpha: n.scale * k.rank,
      scale: n.scale,
      family: { ...module.family!, params: { ...module.family!.params, originalRank: module.rank }, conversion: k.exact ? 'exact' : 'truncated', relativeError: k.relativeError },
      load: async () => factors,
    };
    return { out, row: { ...base, conversion: k.exact ? 'exact' : 'truncated', rankOut: k.rank, relativeError: k.relativeError } };
  }
  const t = await truncateModule(module, { rank, energy });
  return { out: t.module, row: { ...base, conversion: t.relativeError > 0 ? 'truncated' : 'exact', rankOut: t.module.rank, relativeError: t.relativeError } };
}

/** The family whose structure `--to loha|lokr` needs, checked for every module before anything is written. */
function checkFamilyTarget(adapter: Adapter, target: 'loha' | 'lokr', allowEmbed: boolean): ConvertModuleRow[] {
  const label = target === 'loha' ? 'LoHa' : 'LoKr';
  const structure = target === 'loha' ? 'ΔW = (W1a·W1b) ⊙ (W2a·W2b)' : 'ΔW = W1 ⊗ W2';
  const trivial = target === 'loha' ? '(B·A) ⊙ (1·1ᵀ)' : 'kron([[1]], B·A)';
  return adapter.modules.map((m) => {
    const family = familyOf(m);
    const native = family === target && nativeFactors(m) !== undefined;
    if (m.hasDora) {
      throw new WorkbenchError('FAMILY_UNSUPPORTED', `--to ${target}: module "${m.name}" carries a DoRA magnitude, which ${label} cannot hold`, { details: { module: m.name, family } });
    }
    if (!native && !allowEmbed) {
      throw new WorkbenchError(
        'FAMILY_STRUCTURE_MISSING',
        `--to ${target}: module "${m.name}" is ${family === 'lora' ? 'a plain LoRA' : `a ${family} module`} (rank ${m.rank}) with no ${label} factors (${structure}); ` +
          `the only exact ${label} form is the trivial ${trivial}, a LoRA under ${label} names — pass --allow-embed to write that, or convert --to peft`,
        { details: { module: m.name, family, rank: m.rank, target } },
      );
    }
    return { name: m.name, family, conversion: 'exact', written: native ? 'native' : 'embedded', rankIn: m.rank, rankOut: m.rank, relativeError: 0 };
  });
}

function peftConfigFor(adapter: Adapter): Record<string, unknown> | undefined {
  if (!adapter.config) return undefined;
  if (adapter.format === 'peft') {
    const { [MODULE_SHAPES_KEY]: _shapes, ...rest } = adapter.config;
    return rest;
  }
  // A family's config (LOHA, VERA…) holds fields of its own; only the model it adapts carries over.
  const keep: Record<string, unknown> = {};
  for (const k of ['base_model_name_or_path', 'task_type', 'bias', 'modules_to_save']) if (adapter.config[k] !== undefined) keep[k] = adapter.config[k];
  return keep;
}

export async function convertAdapter(adapter: Adapter, outDir: string, options: ConvertOptions): Promise<ConvertReport> {
  checkOptions(adapter, options);
  const familyRows = options.to === 'loha' || options.to === 'lokr' ? checkFamilyTarget(adapter, options.to, options.allowEmbed ?? false) : undefined;
  const dtype = options.dtype ?? 'F32';
  const rows: ConvertModuleRow[] = familyRows ?? [];
  const usesSeed = options.base !== undefined && adapter.modules.some((m) => m.hasDora);
  const seed = usesSeed ? (options.seed ?? DEFAULT_CONVERSION_SEED) : null;
  const metadata: Record<string, string> = {
    awb_tool_version: TOOL_VERSION,
    awb_convert_to: options.to,
    awb_source_sha256: adapter.files.map((f) => f.sha256).join(','),
    awb_backend: CONVERT_BACKEND,
  };
  async function* exportModules(): AsyncGenerator<ExportModule> {
    for (const module of adapter.modules) {
      throwIfAborted(options.signal, 'convert');
      const { out, row } = await convertModule(module, options);
      rows.push(row);
      const f = await out.load();
      yield { name: out.name, A: f.A, B: f.B, scale: out.scale, layout: out.layout, ...(f.doraMagnitude ? { doraMagnitude: f.doraMagnitude } : {}) };
    }
  }
  const outputFiles: string[] = [];
  return writeFolderAtomic(outDir, options.overwrite ?? false, async (dir) => {
    if (options.to === 'peft') {
      // writePeftAdapter makes its own atomic folder; the (empty) temp folder is its target.
      const written = await writePeftAdapter(dir, {
        modules: exportModules(),
        extras: adapter.extras,
        config: peftConfigFor(adapter),
        ...(adapter.baseModel ? { baseModel: adapter.baseModel } : {}),
        metadata,
        dtype,
        overwrite: true,
        signal: options.signal,
      });
      outputFiles.push(...written.files.map((f) => f.name));
    } else if (options.to === 'kohya') {
      const file = `${adapter.name}.safetensors`;
      await writeKohyaAdapter(join(dir, file), { modules: exportModules(), extras: adapter.extras, metadata, dtype, overwrite: true, signal: options.signal });
      outputFiles.push(file);
    } else {
      const naming = options.to === 'loha' && adapter.format.startsWith('peft') ? 'peft' : 'lycoris';
      const exported: FamilyExport = options.to === 'loha' ? await lohaExportTensors(adapter.modules, naming) : await lokrExportTensors(adapter.modules);
      throwIfAborted(options.signal, 'convert');
      const config = exported.config && { ...exported.config, ...(adapter.baseModel ? { base_model_name_or_path: adapter.baseModel } : {}) };
      if (naming === 'peft') {
        await writeFamilyFile(dir, { tensors: exported.tensors, config }, metadata);
        outputFiles.push('adapter_model.safetensors', 'adapter_config.json');
      } else {
        const file = `${adapter.name}.safetensors`;
        await writeFamilyFile(join(dir, file), exported, metadata);
        outputFiles.push(file);
      }
    }
    throwIfAborted(options.signal, 'convert');
    const errors = rows.map((r) => r.relativeError);
    const report: ConvertReport = {
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
      ...(options.command ? { command: options.command } : {}),
      to: options.to,
      input: { name: adapter.name, format: adapter.format, files: adapter.files.map((f) => ({ name: f.name, sha256: f.sha256, sizeBytes: f.sizeBytes })) },
      base: options.base ? { name: options.base.file.name, sha256: options.base.file.sha256, sizeBytes: options.base.file.sizeBytes } : null,
      truncation: { rank: options.rank ?? null, energy: options.energy ?? null },
      seed,
      backend: CONVERT_BACKEND,
      dtype: options.to === 'loha' || options.to === 'lokr' ? 'F32' : dtype,
      outputFiles: [...outputFiles, CONVERT_REPORT_FILE],
      modules: rows,
      summary: {
        moduleCount: rows.length,
        truncatedModules: rows.filter((r) => r.conversion === 'truncated').length,
        maxRelativeError: errors.reduce((a, b) => Math.max(a, b), 0),
        meanRelativeError: errors.length === 0 ? 0 : errors.reduce((a, b) => a + b, 0) / errors.length,
      },
    };
    await writeFile(join(dir, CONVERT_REPORT_FILE), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  });
}
