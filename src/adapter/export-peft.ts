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
import type { SourceFile, WrittenAdapter } from './types.ts';

export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
export const PEFT_CONFIG_FILE = 'adapter_config.json';

export interface WritePeftOptions extends ExportWriteOptions {
  /** A config whose keys are kept (e.g. the source adapter's); LoRA fields are overwritten. */
  readonly config?: Readonly<Record<string, unknown>>;
  readonly baseModel?: string;
  readonly taskType?: string;
  /** Fold each module's scale into B and write alpha = r (scale 1). Default false: alpha = scale·r. */
  readonly foldScale?: boolean;
}

interface ModuleRecord {
  readonly name: string;
  readonly rank: number;
  readonly alpha: number;
  readonly fanInFanOut: boolean;
  readonly kind: string;
  readonly dora: boolean;
}

/** Fields of a source config that describe its own LoRA layout and must not leak into the new one. */
const REPLACED_FIELDS = ['peft_type', 'r', 'lora_alpha', 'target_modules', 'rank_pattern', 'alpha_pattern', 'use_rslora', 'fan_in_fan_out', 'use_dora'];

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
    const writer = await StreamingSafetensorsWriter.create(weightsPath);
    const records: ModuleRecord[] = [];
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
        const embedding = module.layout.kind === 'embedding';
        const keyA = embedding ? `${base}.lora_embedding_A` : `${base}.lora_A.weight`;
        const keyB = embedding ? `${base}.lora_embedding_B` : `${base}.lora_B.weight`;
        await writer.add(keyA, dtype, shapeA, encode(dtype, module.A.data));
        await writer.add(keyB, dtype, shapeB, encode(dtype, module.B.data, fold ? module.scale : 1));
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
      // PEFT's fan_in_fan_out is one flag for the whole adapter; linear modules beside Conv1D ones are
      // recorded here so that our loader restores their layout (PEFT itself decides from the base layer type).
      const anyFanIn = records.some((m) => m.fanInFanOut);
      const linear = records.filter((m) => anyFanIn && !m.fanInFanOut && m.kind === 'linear').map((m) => m.name);
      const overrides: Record<string, string> = {};
      if (linear.length > 0) overrides[LAYOUT_OVERRIDES_KEY] = JSON.stringify(Object.fromEntries(linear.map((n) => [n, 'linear'])));
      await writer.finish({ format: 'pt', ...(options.metadata ?? {}), ...overrides });
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

function buildPeftConfig(records: readonly ModuleRecord[], options: WritePeftOptions): Record<string, unknown> {
  const source = { ...(options.config ?? {}) };
  for (const field of REPLACED_FIELDS) delete source[field];
  const r = mostCommon(records.map((m) => m.rank))!;
  const alpha = mostCommon(records.map((m) => m.alpha))!;
  const sorted = [...records].sort((a, b) => compareModuleNames(a.name, b.name));
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const m of sorted) {
    if (m.rank !== r) rankPattern[escapePatternKey(m.name)] = m.rank;
    if (m.alpha !== alpha) alphaPattern[escapePatternKey(m.name)] = m.alpha;
  }
  // Dotted module paths list their short name; undotted ones (kohya) can only name themselves.
  const targets = [...new Set(sorted.map((m) => (m.name.includes('.') ? targetName(m.name) : m.name)))].sort();
  return {
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
    modules_to_save: source.modules_to_save ?? null,
    inference_mode: true,
  };
}
