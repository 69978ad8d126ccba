// writePeftAdapter: a PEFT LoRA folder (adapter_config.json + adapter_model.safetensors)
// that PEFT loads, written module by module from a stream, atomically.
import { writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkbenchError, throwIfAborted } from '../errors.ts';
import { DTYPE_BYTES } from '../dtype.ts';
import { sha256File } from '../util/hash.ts';
import { writeFolderAtomic } from './atomic-folder.ts';
import { checkExportDType, encode, storedShapes, StreamingSafetensorsWriter, validateExportModule, type ExportWriteOptions } from './export-tensors.ts';
import { mostCommon } from './importer.ts';
import { escapePatternKey } from './pattern-key.ts';
import { LAYOUT_OVERRIDES_KEY, PEFT_PREFIX } from './import-peft.ts';
import { targetName } from './target-name.ts';
import { compareModuleNames } from './module-order.ts';
import type { Layout, SourceFile, WrittenAdapter } from './types.ts';

export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
export const PEFT_CONFIG_FILE = 'adapter_config.json';

export interface WritePeftOptions extends ExportWriteOptions, Pick<PeftConfigOptions, 'config' | 'baseModel' | 'taskType'> {
  /** Fold each module's scale into B and write alpha = r (scale 1). Default false: alpha = scale·r. */
  readonly foldScale?: boolean;
}

/** What the config needs to know about one written module. */
export interface PeftModuleRecord {
  readonly name: string;
  readonly rank: number;
  readonly alpha: number;
  readonly fanInFanOut: boolean;
  readonly kind: Layout['kind'];
  readonly dora: boolean;
}

/** How the LoRA fields of adapter_config.json are chosen. */
export interface PeftConfigOptions {
  /** A config whose keys are kept (e.g. the source adapter's); LoRA fields are overwritten. */
  readonly config?: Readonly<Record<string, unknown>>;
  readonly baseModel?: string;
  readonly taskType?: string;
  /**
   * r: the most common rank (default; fewest pattern entries), or the largest (merges: every
   * module has alpha = rank, so lora_alpha = r and alpha_pattern = rank_pattern).
   */
  readonly rankRule?: 'most-common' | 'max';
  /**
   * target_modules: short names (default, e.g. "q_proj"; the source's layers_to_transform etc. are
   * kept), or the full module paths (exactly the modules written; layers_to_transform,
   * layers_pattern and exclude_modules are set to null, since they could only drop some).
   */
  readonly targetNames?: 'short' | 'full';
  /** false: no modules_to_save tensors are written, so modules_to_save is null. */
  readonly extrasCarried?: boolean;
}

/** Keys of a module's factors in a PEFT weights file. */
export function peftFactorKeys(name: string, layout: Layout): { A: string; B: string } {
  const base = `${PEFT_PREFIX}${name}`;
  if (layout.kind === 'embedding') return { A: `${base}.lora_embedding_A`, B: `${base}.lora_embedding_B` };
  return { A: `${base}.lora_A.weight`, B: `${base}.lora_B.weight` };
}

/**
 * `__metadata__` entries our loader needs beside PEFT's: PEFT's fan_in_fan_out is one flag for the
 * whole adapter, so linear modules beside Conv1D ones are recorded by name (PEFT itself decides
 * from the base layer type).
 */
export function peftLayoutMetadata(records: readonly Pick<PeftModuleRecord, 'name' | 'fanInFanOut' | 'kind'>[]): Record<string, string> {
  const anyFanIn = records.some((m) => m.fanInFanOut);
  const linear = records.filter((m) => anyFanIn && !m.fanInFanOut && m.kind === 'linear').map((m) => m.name);
  if (linear.length === 0) return {};
  return { [LAYOUT_OVERRIDES_KEY]: JSON.stringify(Object.fromEntries(linear.map((n) => [n, 'linear']))) };
}

/** Fields of a source config that describe its own LoRA layout and must not leak into the new one. */
const REPLACED_FIELDS: readonly string[] = ['peft_type', 'r', 'lora_alpha', 'target_modules', 'rank_pattern', 'alpha_pattern', 'use_rslora', 'fan_in_fan_out', 'use_dora'];

export async function writePeftAdapter(outDir: string, options: WritePeftOptions): Promise<WrittenAdapter> {
  const dtype = checkExportDType(options.dtype ?? 'F32');
  // Alignment: every tensor should start on a multiple of its element size. Extras at least as wide
  // as the factors go first (widest first), then the factors (all one dtype), then narrower extras.
  const extras = [...(options.extras ?? [])].sort(
    (a, b) => DTYPE_BYTES[b.dtype] - DTYPE_BYTES[a.dtype] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  const wideExtras = extras.filter((e) => DTYPE_BYTES[e.dtype] >= DTYPE_BYTES[dtype]);
  const narrowExtras = extras.filter((e) => DTYPE_BYTES[e.dtype] < DTYPE_BYTES[dtype]);
  return writeFolderAtomic(outDir, options.overwrite ?? false, async (dir) => {
    const weightsPath = join(dir, PEFT_WEIGHTS_FILE);
    const writer = await StreamingSafetensorsWriter.create(weightsPath, { reserveHeaderBytes: options.reserveHeaderBytes });
    const records: PeftModuleRecord[] = [];
    try {
      for (const extra of wideExtras) {
        await writer.add(extra.key, extra.dtype, extra.shape, await extra.readBytes());
      }
      for await (const module of options.modules) {
        throwIfAborted(options.signal, 'export');
        validateExportModule(module, options.allowNonFinite ?? false);
        const rank = module.A.rows;
        const fold = options.foldScale ?? false;
        const { shapeA, shapeB } = storedShapes(module);
        const base = `${PEFT_PREFIX}${module.name}`;
        const keys = peftFactorKeys(module.name, module.layout);
        await writer.add(keys.A, dtype, shapeA, encode(dtype, module.A.data));
        await writer.add(keys.B, dtype, shapeB, encode(dtype, module.B.data, fold ? module.scale : 1));
        if (module.doraMagnitude) {
          // PEFT's shapes: (out,) for linear and embedding layers, (1, out, 1, …) for conv layers.
          const m = module.doraMagnitude.length;
          const shape = module.layout.kind === 'conv' ? [1, m, ...module.layout.kernel.map(() => 1)] : [m];
          await writer.add(`${base}.lora_magnitude_vector`, dtype, shape, encode(dtype, module.doraMagnitude));
        }
        records.push({
          name: module.name,
          rank,
          alpha: fold ? rank : module.scale * rank,
          fanInFanOut: module.layout.kind === 'linear_fan_in_fan_out',
          kind: module.layout.kind,
          dora: module.doraMagnitude !== undefined,
        });
      }
      for (const extra of narrowExtras) {
        await writer.add(extra.key, extra.dtype, extra.shape, await extra.readBytes());
      }
      if (records.length === 0) {
        throw new WorkbenchError('ADAPTER_EMPTY', `export to ${outDir}: no modules to write`, { details: { path: outDir } });
      }
      await writer.finish({ format: 'pt', ...(options.metadata ?? {}), ...peftLayoutMetadata(records) });
    } catch (error) {
      await writer.abort();
      throw error;
    }
    const config = buildPeftConfig(records, options);
    const configPath = join(dir, PEFT_CONFIG_FILE);
    await writeFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
    const files: SourceFile[] = [];
    for (const [name, path] of [
      [PEFT_WEIGHTS_FILE, weightsPath],
      [PEFT_CONFIG_FILE, configPath],
    ] as const) {
      files.push({ name, path: join(outDir, name), sizeBytes: (await stat(path)).size, sha256: await sha256File(path) });
    }
    return { path: outDir, files, moduleCount: records.length, tensorCount: writer.tensorCount, config };
  });
}

/** adapter_config.json for these modules, on top of `options.config` with its LoRA fields replaced. */
export function buildPeftConfig(records: readonly PeftModuleRecord[], options: PeftConfigOptions = {}): Record<string, unknown> {
  if (records.length === 0) throw new WorkbenchError('INTERNAL', 'buildPeftConfig: no modules');
  const source: Record<string, unknown> = { ...(options.config ?? {}) };
  for (const field of REPLACED_FIELDS) delete source[field];
  const full = options.targetNames === 'full';
  let r: number;
  let alpha: number;
  if (options.rankRule === 'max') {
    r = Math.max(...records.map((m) => m.rank));
    alpha = mostCommon(records.filter((m) => m.rank === r).map((m) => m.alpha))!;
  } else {
    r = mostCommon(records.map((m) => m.rank))!;
    alpha = mostCommon(records.map((m) => m.alpha))!;
  }
  const sorted = [...records].sort((a, b) => compareModuleNames(a.name, b.name));
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const m of sorted) {
    if (m.rank !== r) rankPattern[escapePatternKey(m.name)] = m.rank;
    if (m.alpha !== alpha) alphaPattern[escapePatternKey(m.name)] = m.alpha;
  }
  // Full paths name exactly the modules written. Short names: dotted module paths list their
  // short name; undotted ones (kohya) can only name themselves.
  const targets = full
    ? records.map((m) => m.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    : [...new Set(sorted.map((m) => (m.name.includes('.') ? targetName(m.name) : m.name)))].sort();
  const config: Record<string, unknown> = {
    ...source,
    peft_type: 'LORA',
    base_model_name_or_path: options.baseModel ?? source.base_model_name_or_path ?? null,
    task_type: options.taskType ?? source.task_type ?? null,
    r,
    lora_alpha: alpha,
    target_modules: targets,
    rank_pattern: rankPattern,
    alpha_pattern: alphaPattern,
    use_rslora: false,
    use_dora: records.some((m) => m.dora),
    fan_in_fan_out: records.some((m) => m.fanInFanOut),
    bias: source.bias ?? 'none',
    modules_to_save: options.extrasCarried === false ? null : (source.modules_to_save ?? null),
    inference_mode: true,
  };
  if (full) {
    config.layers_to_transform = null;
    config.layers_pattern = null;
    config.exclude_modules = null;
  }
  return config;
}
