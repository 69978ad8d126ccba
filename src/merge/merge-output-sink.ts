// openMergeOutput: where a merge writes OUT/, one module at a time. Each module's factors are
// encoded and written to the weights file as soon as they are added (only its name, rank and
// layout stay in memory), into a hidden sibling folder that becomes OUT/ on finish() in one
// rename. A failure, abort() or the AbortSignal removes the hidden folder: OUT/ is absent,
// untouched, or complete — never partial.
//
// Formats: PEFT (adapter_model.safetensors + adapter_config.json, built by the PEFT exporter's
// config builder) or kohya (lora.safetensors, `<kohya name>.lora_down/lora_up.weight` + `.alpha`).
// With `plan` (the modules to come and upper bounds on their ranks), the header space is reserved
// up front and tensor bytes go straight into the weights file (no copy at the end).
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkbenchError, fromFsError, throwIfAborted } from '../errors.ts';
import { DTYPE_BYTES, encodeFloats } from '../dtype.ts';
import { beginFolderAtomic, type AtomicFolder } from '../adapter/atomic-folder.ts';
import {
  checkExportDType,
  encodeInto,
  EncodeScratch,
  safetensorsHeaderBound,
  storedShapes,
  StreamingSafetensorsWriter,
  validateExportModule,
  type ExportDType,
  type PlannedTensor,
} from '../adapter/export-tensors.ts';
import { buildPeftConfig, peftFactorKeys, peftLayoutMetadata, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, type PeftModuleRecord } from '../adapter/export-peft.ts';
import { kohyaModuleName } from '../adapter/export-kohya.ts';
import { escapePatternKey } from '../adapter/pattern-key.ts';
import type { Layout } from '../adapter/types.ts';
import type { Mat } from '../tensor/matrix.ts';
import type { TensorToWrite } from '../safetensors/writer.ts';

export type MergeOutputFormat = 'peft' | 'kohya';

/** The weights file in OUT/ for each format. */
export const MERGE_WEIGHTS_FILE: Readonly<Record<MergeOutputFormat, string>> = { peft: PEFT_WEIGHTS_FILE, kohya: 'lora.safetensors' };

/** A module the merge will add, known before the first one: sizes the header reservation. */
export interface PlannedModule {
  readonly name: string;
  readonly layout: Layout;
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** Upper bound on the output rank. Default max(outFeatures, inFeatures) (only its digit count matters). */
  readonly maxRank?: number;
}

export interface MergeOutputOptions {
  readonly format: MergeOutputFormat;
  /** Factor dtype. */
  readonly dtype: ExportDType;
  /** Replace a non-empty OUT/. Without it, a non-empty OUT/ is MERGE_OUTPUT_EXISTS (an empty folder is replaced). */
  readonly overwrite: boolean;
  /** Fired: the next call fails with ABORTED and the temporary folder is removed. */
  readonly signal?: AbortSignal;
  /** The weights file's `__metadata__` (provenance). */
  readonly metadata: Readonly<Record<string, string>>;
  /**
   * The modules to come (and extras given to finish), for the header reservation. Absent: the
   * header is written at the end, followed by a copy of the data.
   */
  readonly plan?: { readonly modules: readonly PlannedModule[]; readonly extras?: readonly PlannedTensor[] };
  /**
   * Non-LoRA tensors (modules_to_save heads…) written now, before any module, so that their
   * bytes can be dropped at once. Extras wider than the factor dtype belong here: written first,
   * they stay aligned to their element size.
   */
  readonly extras?: readonly TensorToWrite[];
}

/** One merged module: ΔW = B·A with the scale already folded in (written with alpha = rank). */
export interface MergedModule {
  readonly name: string;
  readonly layout: Layout;
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** m×k */
  readonly B: Mat;
  /** k×n */
  readonly A: Mat;
}

export interface MergeOutputFinish {
  /** Non-LoRA tensors, written after the modules (widest dtype first). */
  readonly extras?: readonly TensorToWrite[];
  /** PEFT: a base config (the first input's) whose LoRA fields are replaced. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** PEFT: base_model_name_or_path (default: the base config's). */
  readonly baseModel?: string;
  /** Other files, written after the weights and config: name → text (e.g. merge-report.json). */
  readonly texts?: Readonly<Record<string, string>>;
}

export interface MergeOutputSummary {
  /** The largest rank written (PEFT's r). */
  readonly rank: number;
  /** Modules whose rank differs from `rank`, keyed as in PEFT's rank_pattern (escaped). */
  readonly rankPattern: Record<string, number>;
  readonly moduleCount: number;
}

export interface MergeOutputResult extends MergeOutputSummary {
  /** OUT/ (resolved). */
  readonly path: string;
  /** File names in OUT/, sorted. */
  readonly files: readonly string[];
  readonly tensorCount: number;
  /** The adapter_config.json written (PEFT), or undefined. */
  readonly config: Readonly<Record<string, unknown>> | undefined;
  /** Size of the weights file. */
  readonly weightsBytes: number;
  /** Whether the header fit its reservation (no copy of the data). */
  readonly headerInPlace: boolean;
}

export interface MergeOutputSink {
  readonly format: MergeOutputFormat;
  /** The weights file's name in OUT/. */
  readonly weightsName: string;
  /** Encodes and writes one module's tensors now. B and A may be reused once this resolves. */
  addModule(module: MergedModule): Promise<void>;
  /** Ranks so far (for the report, before finish). */
  summary(): MergeOutputSummary;
  /** The sorted file names OUT/ will hold once finish writes these texts. */
  fileNames(textNames: readonly string[]): string[];
  /** Writes extras, the header, adapter_config.json (PEFT) and the texts; renames onto OUT/. */
  finish(options?: MergeOutputFinish): Promise<MergeOutputResult>;
  /** Removes everything temporary; OUT/ untouched. Idempotent; a no-op after finish. */
  abort(): Promise<void>;
}

/** Throws MERGE_OUTPUT_EXISTS unless OUT/ is absent or an empty folder (or overwrite is set). */
export async function checkOutputTarget(outDir: string, overwrite: boolean): Promise<void> {
  let info;
  try {
    info = await stat(outDir);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return;
    throw fromFsError(error, outDir, 'check output folder');
  }
  if (!info.isDirectory()) {
    throw new WorkbenchError('MERGE_OUTPUT_EXISTS', `output ${outDir} exists and is not a folder`, { details: { path: outDir } });
  }
  if (overwrite) return;
  const entries = await readdir(outDir);
  if (entries.length > 0) {
    throw new WorkbenchError('MERGE_OUTPUT_EXISTS', `output folder ${outDir} is not empty (${entries.length} entries); choose another or pass overwrite`, {
      details: { path: outDir, entries: entries.slice(0, 10) },
    });
  }
}

interface ModuleRecord extends PeftModuleRecord {
  readonly layout: Layout;
}

/** Tensor keys and stored shapes of one module in a format. */
function moduleTensors(format: MergeOutputFormat, name: string, layout: Layout, m: number, n: number, rank: number): { A: string; B: string; alpha?: string; shapeA: number[]; shapeB: number[] } {
  const { shapeA, shapeB } = storedShapes({ name, layout, scale: 1, A: { rows: rank, cols: n, data: new Float64Array(0) }, B: { rows: m, cols: rank, data: new Float64Array(0) } });
  if (format === 'peft') return { ...peftFactorKeys(name, layout), shapeA, shapeB };
  const k = kohyaModuleName(name);
  return { A: `${k}.lora_down.weight`, B: `${k}.lora_up.weight`, alpha: `${k}.alpha`, shapeA, shapeB };
}

/** Header entries the plan can produce, each shape at its upper bound. */
function plannedTensors(options: MergeOutputOptions): PlannedTensor[] {
  const out: PlannedTensor[] = [];
  for (const t of options.extras ?? []) out.push({ name: t.name, dtype: t.dtype, shape: t.shape });
  for (const t of options.plan?.extras ?? []) out.push(t);
  for (const m of options.plan?.modules ?? []) {
    const r = Math.max(1, m.maxRank ?? Math.max(m.outFeatures, m.inFeatures));
    const t = moduleTensors(options.format, m.name, m.layout, m.outFeatures, m.inFeatures, r);
    out.push({ name: t.A, dtype: options.dtype, shape: t.shapeA }, { name: t.B, dtype: options.dtype, shape: t.shapeB });
    if (t.alpha) out.push({ name: t.alpha, dtype: options.dtype, shape: [] });
  }
  return out;
}

/** Metadata written with the weights: the caller's, plus PEFT layout overrides when needed. */
function plannedMetadata(options: MergeOutputOptions): Record<string, string> {
  if (options.format !== 'peft') return { ...options.metadata };
  const records = (options.plan?.modules ?? []).map((m) => ({ name: m.name, kind: m.layout.kind, fanInFanOut: m.layout.kind === 'linear_fan_in_fan_out' }));
  return { ...options.metadata, ...peftLayoutMetadata(records) };
}

const SAFE_FILE_NAME = /^[A-Za-z0-9._-]+$/;

async function writeTextFile(path: string, text: string): Promise<void> {
  try {
    const handle = await open(path, 'wx', 0o644);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw fromFsError(error, path, 'write');
  }
}

function byWidthThenName(a: TensorToWrite, b: TensorToWrite): number {
  return DTYPE_BYTES[b.dtype] - DTYPE_BYTES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

export async function openMergeOutput(outDir: string, options: MergeOutputOptions): Promise<MergeOutputSink> {
  const format = options.format;
  if (format !== 'peft' && format !== 'kohya') {
    throw new WorkbenchError('INVALID_ARGUMENT', `output format "${String(format)}" is not one of peft, kohya`, { details: { format } });
  }
  const dtype = checkExportDType(options.dtype);
  const signal = options.signal;
  throwIfAborted(signal, 'merge');
  const folder: AtomicFolder = await beginFolderAtomic(outDir, { overwrite: options.overwrite, checkTarget: checkOutputTarget });
  const weightsName = MERGE_WEIGHTS_FILE[format];
  const weightsPath = join(folder.dir, weightsName);
  let writer: StreamingSafetensorsWriter;
  try {
    const reserve = options.plan ? safetensorsHeaderBound(plannedTensors(options), plannedMetadata(options)) : 0;
    writer = await StreamingSafetensorsWriter.create(weightsPath, { reserveHeaderBytes: reserve });
  } catch (error) {
    await folder.rollback();
    throw error;
  }

  const records: ModuleRecord[] = [];
  const scratch = new EncodeScratch();
  const kohyaNames = new Set<string>();
  let state: 'open' | 'finished' | 'aborted' = 'open';
  // Operations run one after another; abort() waits for the one in flight.
  let queue: Promise<unknown> = Promise.resolve();

  const cleanup = async (): Promise<void> => {
    if (state !== 'open') return;
    state = 'aborted';
    signal?.removeEventListener('abort', onSignal);
    await writer.abort().catch(() => undefined);
    await folder.rollback();
  };
  const serial = <T>(op: () => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      if (state !== 'open') {
        throw new WorkbenchError(state === 'aborted' ? 'ABORTED' : 'INTERNAL', `merge output ${outDir} is ${state === 'aborted' ? 'aborted' : 'already finished'}`, {
          details: { path: outDir },
          permanent: state !== 'aborted',
        });
      }
      try {
        throwIfAborted(signal, 'merge');
        return await op();
      } catch (error) {
        await cleanup();
        if (error instanceof WorkbenchError || typeof (error as { code?: unknown } | null)?.code !== 'string') throw error;
        throw fromFsError(error, outDir, 'write merged adapter');
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };
  const abort = (): Promise<void> => {
    const run = queue.then(cleanup);
    queue = run.catch(() => undefined);
    return run;
  };
  function onSignal(): void {
    void abort();
  }
  signal?.addEventListener('abort', onSignal, { once: true });

  const writeExtras = async (extras: readonly TensorToWrite[]): Promise<void> => {
    for (const extra of [...extras].sort(byWidthThenName)) await writer.add(extra.name, extra.dtype, extra.shape, extra.bytes);
  };

  try {
    if (options.extras && options.extras.length > 0) await serial(() => writeExtras(options.extras!));
  } catch (error) {
    await cleanup();
    throw error;
  }

  const summary = (): MergeOutputSummary => {
    const rank = Math.max(0, ...records.map((r) => r.rank));
    const rankPattern: Record<string, number> = {};
    for (const r of records) if (r.rank !== rank) rankPattern[escapePatternKey(r.name)] = r.rank;
    return { rank, rankPattern, moduleCount: records.length };
  };

  const fileNames = (textNames: readonly string[]): string[] =>
    [...new Set([weightsName, ...(format === 'peft' ? [PEFT_CONFIG_FILE] : []), ...textNames])].sort();

  const addModule = (module: MergedModule): Promise<void> =>
    serial(async () => {
      const { name, layout, B, A } = module;
      if (B.rows !== module.outFeatures || A.cols !== module.inFeatures) {
        throw new WorkbenchError('ADAPTER_SHAPE_INVALID', `merge output: module "${name}": B is ${B.rows}×${B.cols}, A is ${A.rows}×${A.cols}, but ΔW is ${module.outFeatures}×${module.inFeatures}`, {
          details: { module: name, shapeA: [A.rows, A.cols], shapeB: [B.rows, B.cols], outFeatures: module.outFeatures, inFeatures: module.inFeatures },
        });
      }
      // Shapes only: the merge has already refused non-finite factors.
      validateExportModule({ name, layout, A, B, scale: 1 }, true);
      const rank = A.rows;
      const t = moduleTensors(format, name, layout, B.rows, A.cols, rank);
      if (format === 'kohya') {
        const kohyaName = t.A.slice(0, -'.lora_down.weight'.length);
        if (kohyaNames.has(kohyaName)) {
          throw new WorkbenchError('ADAPTER_DUPLICATE_MODULE', `merge output: modules map to the same kohya name "${kohyaName}"`, { details: { module: name, kohyaName } });
        }
        kohyaNames.add(kohyaName);
      }
      // One reused buffer: each tensor is on disk before the next is encoded into it.
      await writer.add(t.A, dtype, t.shapeA, encodeInto(dtype, A.data, scratch));
      await writer.add(t.B, dtype, t.shapeB, encodeInto(dtype, B.data, scratch));
      // kohya alpha in the factors' dtype (as kohya writes it); alpha = rank: scale 1.
      if (t.alpha) await writer.add(t.alpha, dtype, [], encodeFloats(dtype, [rank]));
      records.push({ name, rank, alpha: rank, kind: layout.kind, fanInFanOut: layout.kind === 'linear_fan_in_fan_out', dora: false, layout });
    });

  const finish = (done: MergeOutputFinish = {}): Promise<MergeOutputResult> =>
    serial(async () => {
      if (records.length === 0) {
        throw new WorkbenchError('MERGE_EMPTY', `merge output ${outDir}: no module was added; nothing to write`, { details: { path: outDir } });
      }
      const texts = Object.entries(done.texts ?? {});
      const reserved = new Set([weightsName, ...(format === 'peft' ? [PEFT_CONFIG_FILE] : [])]);
      for (const [name] of texts) {
        if (!SAFE_FILE_NAME.test(name) || name === '.' || name === '..' || reserved.has(name)) {
          throw new WorkbenchError('INVALID_ARGUMENT', `merge output: cannot write a text file named ${JSON.stringify(name)}`, { details: { name } });
        }
      }
      const extras = done.extras ?? [];
      await writeExtras(extras);
      const metadata = format === 'peft' ? { ...options.metadata, ...peftLayoutMetadata(records) } : { ...options.metadata };
      await writer.finish(metadata);
      let config: Record<string, unknown> | undefined;
      if (format === 'peft') {
        config = buildPeftConfig(records, {
          config: done.config,
          baseModel: done.baseModel,
          rankRule: 'max',
          targetNames: 'full',
          extrasCarried: extras.length + (options.extras?.length ?? 0) > 0,
        });
        await writeTextFile(join(folder.dir, PEFT_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
      }
      for (const [name, text] of texts) {
        throwIfAborted(signal, 'merge');
        await writeTextFile(join(folder.dir, name), text);
      }
      const weightsBytes = (await stat(weightsPath)).size;
      throwIfAborted(signal, 'merge');
      await folder.commit();
      state = 'finished';
      signal?.removeEventListener('abort', onSignal);
      return {
        ...summary(),
        path: folder.target,
        files: fileNames(texts.map(([name]) => name)),
        tensorCount: writer.tensorCount,
        config,
        weightsBytes,
        headerInPlace: writer.headerInPlace,
      };
    });

  return { format, weightsName, addModule, summary, fileNames, finish, abort };
}
