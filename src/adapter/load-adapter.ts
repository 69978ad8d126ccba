// loadAdapter: a folder or a file in, the canonical Adapter out. Finds the weights and
// the config, asks the importers which format it is, checks the factors, and leaves the
// factor data on disk until a module's load() asks for it.
import { readdir, stat, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { WorkbenchError, fromFsError, throwIfAborted } from '../errors.ts';
import { MAX_CONFIG_BYTES } from '../limits.ts';
import { openSafetensors, type TensorSource } from '../safetensors/reader.ts';
import { sha256File } from '../util/hash.ts';
import { mostCommon, type ImportInput } from './importer.ts';
import { detectImporter, getImporter } from './importer-registry.ts';
import { countNonFinite } from './lazy-module.ts';
import { compareModuleNames } from './module-order.ts';
import type { Adapter, AdapterFormat, LoraModule, SourceFile } from './types.ts';

export interface LoadAdapterOptions {
  /** Load adapters with NaN/Inf factors, recording a warning instead of failing. Default false. */
  readonly allowNonFinite?: boolean;
  /** Read every factor once at load time to count non-finite values. Default true. */
  readonly scanNonFinite?: boolean;
  /** Compute the sha256 of every input file. Default true. */
  readonly hashFiles?: boolean;
  /** Skip detection and use this importer. */
  readonly format?: AdapterFormat;
  /** Display name; defaults to the folder (or file) name. */
  readonly name?: string;
  /** Prefix for file names in messages (loadAdapter uses the folder name). */
  readonly messagePrefix?: string;
  /** Checked between modules while scanning. */
  readonly signal?: AbortSignal;
}

/** One input file: its original name (upload file name or basename) and where it is on disk. */
export interface AdapterInputFile {
  readonly name: string;
  readonly path: string;
}

export const CONFIG_FILE_NAME = 'adapter_config.json';

/** Weight file names in order of preference when a folder holds several. */
export const WEIGHT_FILE_NAMES = ['adapter_model.safetensors', 'adapters.safetensors', 'pytorch_lora_weights.safetensors'] as const;

const STANDARD_WEIGHT_NAMES = new Set<string>([...WEIGHT_FILE_NAMES, 'model.safetensors']);

export async function loadAdapter(path: string, options: LoadAdapterOptions = {}): Promise<Adapter> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw fromFsError(error, path, 'load adapter');
  }
  if (info.isDirectory()) {
    let entries: string[];
    try {
      entries = await readdir(path);
    } catch (error) {
      throw fromFsError(error, path, 'list adapter folder');
    }
    const files = entries.sort().map((name) => ({ name, path: join(path, name) }));
    return loadAdapterFromFiles(files, { messagePrefix: basename(path), ...options, name: options.name ?? basename(path) }, path);
  }
  const fileName = basename(path);
  const files: AdapterInputFile[] = [{ name: fileName, path }];
  if (fileName === CONFIG_FILE_NAME) {
    return loadAdapter(dirname(path), options);
  }
  if (fileName.endsWith('.safetensors')) {
    const sibling = join(dirname(path), CONFIG_FILE_NAME);
    if (await exists(sibling)) {
      files.push({ name: CONFIG_FILE_NAME, path: sibling });
    }
  }
  const name = options.name ?? (STANDARD_WEIGHT_NAMES.has(fileName) ? basename(dirname(path)) : basename(fileName, extname(fileName)));
  return loadAdapterFromFiles(files, { ...options, name }, path);
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

interface ResolvedFiles {
  readonly weights: AdapterInputFile;
  readonly config: AdapterInputFile | undefined;
}

function resolveFiles(files: readonly AdapterInputFile[], where: string): ResolvedFiles {
  const config = files.find((f) => f.name === CONFIG_FILE_NAME);
  const safetensors = files.filter((f) => f.name.endsWith('.safetensors'));
  let weights: AdapterInputFile | undefined;
  for (const preferred of WEIGHT_FILE_NAMES) {
    weights ??= safetensors.find((f) => f.name === preferred);
  }
  if (!weights && safetensors.length === 1) {
    weights = safetensors[0];
  }
  if (!weights && safetensors.length > 1) {
    throw new WorkbenchError(
      'ADAPTER_FORMAT_UNKNOWN',
      `${where}: holds ${safetensors.length} safetensors files (${safetensors.map((f) => f.name).join(', ')}) and none has an adapter's name; pass the file itself`,
      { details: { path: where, files: safetensors.map((f) => f.name) } },
    );
  }
  if (!weights) {
    const pickle = files.find((f) => f.name.endsWith('.bin') || f.name.endsWith('.pt') || f.name.endsWith('.ckpt'));
    if (pickle) {
      throw new WorkbenchError(
        'ADAPTER_FORMAT_UNKNOWN',
        `${where}: "${pickle.name}" is a pickled PyTorch file, which is never loaded (it can run code); convert it to safetensors`,
        { details: { path: where, file: pickle.name } },
      );
    }
    throw new WorkbenchError('ADAPTER_NOT_FOUND', `${where}: no adapter weights (*.safetensors) found`, {
      details: { path: where, files: files.map((f) => f.name) },
    });
  }
  return { weights, config };
}

async function readConfig(file: AdapterInputFile, label: string): Promise<Record<string, unknown>> {
  let bytes: Buffer;
  try {
    const size = (await stat(file.path)).size;
    if (size > MAX_CONFIG_BYTES) {
      throw new WorkbenchError('ADAPTER_CONFIG_INVALID', `${label}: ${size} bytes exceeds the ${MAX_CONFIG_BYTES}-byte limit for a config`, {
        details: { file: label, sizeBytes: size, limit: MAX_CONFIG_BYTES },
      });
    }
    bytes = await readFile(file.path);
  } catch (error) {
    if (error instanceof WorkbenchError) throw error;
    throw fromFsError(error, file.path, 'read adapter config');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new WorkbenchError('ADAPTER_CONFIG_INVALID', `${label}: not valid JSON (${(error as Error).message})`, {
      details: { file: label },
    });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new WorkbenchError('ADAPTER_CONFIG_INVALID', `${label}: must be a JSON object`, { details: { file: label } });
  }
  return raw as Record<string, unknown>;
}

/** Loads an adapter from a list of files (a folder's entries, or the files of an upload). */
export async function loadAdapterFromFiles(
  files: readonly AdapterInputFile[],
  options: LoadAdapterOptions = {},
  where: string = options.messagePrefix ?? '(uploaded files)',
): Promise<Adapter> {
  const { weights, config: configFile } = resolveFiles(files, where);
  const configLabel = configFile && (options.messagePrefix ? `${options.messagePrefix}/${configFile.name}` : configFile.name);
  const config = configFile ? await readConfig(configFile, configLabel!) : undefined;
  const source = await openSafetensors(weights.path);
  try {
    return await buildAdapter(source, weights, configFile, configLabel, config, options);
  } catch (error) {
    await source.close();
    throw error;
  }
}

async function buildAdapter(
  source: TensorSource & { readonly sizeBytes?: number },
  weights: AdapterInputFile,
  configFile: AdapterInputFile | undefined,
  configLabel: string | undefined,
  config: Record<string, unknown> | undefined,
  options: LoadAdapterOptions,
): Promise<Adapter> {
  const names = [...source.tensors.keys()];
  const label = options.messagePrefix ? `${options.messagePrefix}/${weights.name}` : weights.name;
  const input: ImportInput = { source, label, weightsName: weights.name, config, configName: configLabel, names };
  const importer = options.format ? getImporter(options.format) : detectImporter(input)?.importer;
  if (!importer) {
    if (options.format) {
      throw new WorkbenchError('INVALID_ARGUMENT', `no importer for format "${options.format}"`, { details: { format: options.format } });
    }
    if (names.length === 0) {
      throw new WorkbenchError('ADAPTER_EMPTY', `${label}: holds no tensors at all`, { details: { file: label, tensorCount: 0 } });
    }
    // Names of adapter-like tensors of formats we do not read (LyCORIS LoHa/LoKr, OFT, IA3…).
    const loraLike = names.filter((n) => /lora|alpha$|hada_w|lokr_w|oft_|ia3/i.test(n));
    if (loraLike.length === 0) {
      const sample = names.slice(0, 3).map((n) => `"${n}"`).join(', ');
      throw new WorkbenchError(
        'ADAPTER_NOT_FOUND',
        `${label}: holds ${names.length} tensors but no LoRA factors${names.length > 0 ? ` (e.g. ${sample}); it looks like a full model, not an adapter` : ''}`,
        { details: { file: label, tensorCount: names.length, sample: names.slice(0, 3) } },
      );
    }
    throw new WorkbenchError(
      'ADAPTER_FORMAT_UNKNOWN',
      `${label}: no importer recognises the tensor names (e.g. "${loraLike[0]}"); supported: PEFT, kohya, diffusers, MLX-LM`,
      { details: { file: label, sample: loraLike.slice(0, 3) } },
    );
  }
  const result = await importer.import(input);
  if (result.modules.length === 0) {
    throw new WorkbenchError('ADAPTER_EMPTY', `${label}: no LoRA modules (${names.length} tensors, none of them a factor pair)`, {
      details: { file: label, tensorCount: names.length },
    });
  }
  const modules = [...result.modules].sort((a, b) => compareModuleNames(a.name, b.name));
  for (let i = 1; i < modules.length; i++) {
    if (modules[i]!.name === modules[i - 1]!.name) {
      const name = modules[i]!.name;
      throw new WorkbenchError(
        'ADAPTER_DUPLICATE_MODULE',
        `${label}: two tensor sets map to module "${name}" ("${modules[i - 1]!.keys.A}" and "${modules[i]!.keys.A}")`,
        { details: { file: label, module: name } },
      );
    }
  }
  const warnings = [...result.warnings];
  if (options.scanNonFinite ?? true) {
    await scanNonFinite(modules, label, options.allowNonFinite ?? false, warnings, options.signal);
  }
  const inputFiles = configFile ? [weights, configFile] : [weights];
  const hash = options.hashFiles ?? true;
  const sourceFiles: SourceFile[] = [];
  for (const f of inputFiles) {
    let sizeBytes: number;
    try {
      sizeBytes = (await stat(f.path)).size;
    } catch (error) {
      throw fromFsError(error, f.path, 'stat');
    }
    sourceFiles.push({ name: f.name, path: f.path, sizeBytes, sha256: hash ? await sha256File(f.path) : '' });
  }
  const dtype = mostCommon(modules.map((m) => m.dtype)) ?? 'F32';
  const adapter: Adapter = {
    format: importer.format,
    name: options.name ?? basename(weights.name, '.safetensors'),
    files: sourceFiles,
    baseModel: result.baseModel,
    config,
    modules,
    extras: result.extras,
    dtype,
    warnings,
    metadata: source.metadata,
    close: () => source.close(),
  };
  return adapter;
}

async function scanNonFinite(
  modules: readonly LoraModule[],
  file: string,
  allow: boolean,
  warnings: string[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const bad: { module: string; count: number }[] = [];
  for (const module of modules) {
    throwIfAborted(signal, 'loading the adapter');
    const f = await module.load();
    const count = countNonFinite(f.A.data) + countNonFinite(f.B.data) + (f.doraMagnitude ? countNonFinite(f.doraMagnitude) : 0);
    if (count > 0) bad.push({ module: module.name, count });
  }
  if (bad.length === 0) return;
  const total = bad.reduce((n, b) => n + b.count, 0);
  const first = bad[0]!;
  const summary = `${total} non-finite value(s) (NaN/Inf) in ${bad.length} module(s), first "${first.module}" (${first.count})`;
  if (!allow) {
    throw new WorkbenchError('ADAPTER_NONFINITE', `${file}: ${summary}`, {
      details: { file, module: first.module, count: first.count, total, modules: bad.slice(0, 20) },
    });
  }
  warnings.push(summary);
}
