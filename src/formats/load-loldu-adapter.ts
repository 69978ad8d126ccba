// loadLolduAdapter: a LoLDU file (or its folder) plus the base model → a canonical Adapter whose modules are
// the exact LoRA form of each LoLDU delta (import-loldu.ts). loadAdapter cannot do this by itself: it has no
// base model, so on a LoLDU file it stops with FAMILY_UNSUPPORTED (details.family = "loldu").
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { WorkbenchError, fromFsError, throwIfAborted } from '../errors.ts';
import { CONFIG_FILE_NAME, WEIGHT_FILE_NAMES } from '../adapter/load-adapter.ts';
import { mostCommon, type ImportInput } from '../adapter/importer.ts';
import { compareModuleNames } from '../adapter/module-order.ts';
import type { Adapter, SourceFile } from '../adapter/types.ts';
import { MAX_CONFIG_BYTES } from '../limits.ts';
import { openSafetensors, type TensorSource } from '../safetensors/reader.ts';
import { sha256File } from '../util/hash.ts';
import { loadAdapter } from '../adapter/load-adapter.ts';
import { importLolduWithBase, LOLDU_FORMAT, lolduImporter } from './import-loldu.ts';

export interface LoadLolduOptions {
  readonly name?: string;
  readonly signal?: AbortSignal;
}

/** True when a loadAdapter failure is the LoLDU "needs its base model" refusal. */
export function isLolduNeedsBase(error: unknown): boolean {
  return error instanceof WorkbenchError && error.code === 'FAMILY_UNSUPPORTED' && error.details.family === 'loldu' && typeof error.details.key === 'string';
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

async function resolveWeights(path: string): Promise<{ weights: string; config: string | undefined; name: string }> {
  const info = await stat(path).catch((error: unknown) => {
    throw fromFsError(error, path, 'load adapter');
  });
  if (!info.isDirectory()) {
    const sibling = join(dirname(path), CONFIG_FILE_NAME);
    return { weights: path, config: (await isFile(sibling)) ? sibling : undefined, name: basename(path, extname(path)) };
  }
  const entries = (await readdir(path).catch((error: unknown) => {
    throw fromFsError(error, path, 'list adapter folder');
  })).sort();
  const safetensors = entries.filter((e) => e.endsWith('.safetensors'));
  const pick = WEIGHT_FILE_NAMES.find((w) => safetensors.includes(w)) ?? (safetensors.length === 1 ? safetensors[0] : undefined);
  if (pick === undefined) {
    throw new WorkbenchError('ADAPTER_NOT_FOUND', `${path}: no single adapter weights file (found ${safetensors.length} *.safetensors)`, { details: { path, files: safetensors } });
  }
  const config = join(path, CONFIG_FILE_NAME);
  return { weights: join(path, pick), config: entries.includes(CONFIG_FILE_NAME) ? config : undefined, name: basename(path) };
}

async function readConfig(path: string): Promise<Record<string, unknown>> {
  const size = (await stat(path)).size;
  if (size > MAX_CONFIG_BYTES) {
    throw new WorkbenchError('ADAPTER_CONFIG_INVALID', `${basename(path)}: ${size} bytes exceeds the ${MAX_CONFIG_BYTES}-byte limit for a config`, { details: { file: basename(path), sizeBytes: size } });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new WorkbenchError('ADAPTER_CONFIG_INVALID', `${basename(path)}: not valid JSON (${(error as Error).message})`, { details: { file: basename(path) } });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new WorkbenchError('ADAPTER_CONFIG_INVALID', `${basename(path)}: must be a JSON object`, { details: { file: basename(path) } });
  }
  return raw as Record<string, unknown>;
}

/** Loads a LoLDU adapter given its base model (a TensorSource: file, shard index or folder). */
export async function loadLolduAdapter(path: string, base: TensorSource, options: LoadLolduOptions = {}): Promise<Adapter> {
  const { weights, config: configPath, name } = await resolveWeights(path);
  const config = configPath ? await readConfig(configPath) : undefined;
  const source = await openSafetensors(weights);
  try {
    const names = [...source.tensors.keys()];
    const input: ImportInput = { source, label: basename(weights), weightsName: basename(weights), config, configName: configPath && basename(configPath), names };
    const result = await importLolduWithBase(input, base);
    if (result.modules.length === 0) {
      throw new WorkbenchError('ADAPTER_EMPTY', `${basename(weights)}: no LoLDU vector_z tensors`, { details: { file: basename(weights), tensorCount: names.length } });
    }
    throwIfAborted(options.signal, 'loading the adapter');
    const files: SourceFile[] = [];
    for (const p of configPath ? [weights, configPath] : [weights]) {
      files.push({ name: basename(p), path: p, sizeBytes: (await stat(p)).size, sha256: await sha256File(p) });
    }
    const modules = [...result.modules].sort((a, b) => compareModuleNames(a.name, b.name));
    return {
      format: LOLDU_FORMAT,
      name: options.name ?? name,
      files,
      baseModel: result.baseModel,
      config,
      modules,
      extras: result.extras,
      dtype: mostCommon(modules.map((m) => m.dtype)) ?? 'F32',
      warnings: result.warnings,
      metadata: source.metadata,
      close: () => source.close(),
    };
  } catch (error) {
    await source.close();
    throw error;
  }
}

/** The input as the LoLDU importer sees it, or undefined when it holds no vector_z (or cannot be read). */
async function lolduInput(path: string): Promise<{ input: ImportInput; close: () => Promise<void> } | undefined> {
  let resolved;
  try {
    resolved = await resolveWeights(path);
  } catch {
    return undefined;
  }
  const source = await openSafetensors(resolved.weights).catch(() => undefined);
  if (!source) return undefined;
  const config = resolved.config ? await readConfig(resolved.config).catch(() => undefined) : undefined;
  const where = (await stat(path)).isDirectory() ? `${basename(path)}/` : '';
  const label = `${where}${basename(resolved.weights)}`;
  const input: ImportInput = { source, label, weightsName: basename(resolved.weights), config, configName: resolved.config && basename(resolved.config), names: [...source.tensors.keys()] };
  if (lolduImporter.detect(input) > 0) return { input, close: () => source.close() };
  await source.close();
  return undefined;
}

/**
 * loadAdapter, except for a LoLDU file: with a base model, its exact LoRA form (loadLolduAdapter); without
 * one, the LoLDU importer's FAMILY_UNSUPPORTED refusal (it holds only z) instead of loadAdapter's
 * "no LoRA factors".
 */
export async function loadAdapterOrLoldu(path: string, base: TensorSource | undefined, options: LoadLolduOptions = {}): Promise<Adapter> {
  try {
    return await loadAdapter(path, { ...(options.signal ? { signal: options.signal } : {}) });
  } catch (error) {
    const lolduLike = isLolduNeedsBase(error) || (error instanceof WorkbenchError && (error.code === 'ADAPTER_NOT_FOUND' || error.code === 'ADAPTER_FORMAT_UNKNOWN'));
    if (!lolduLike) throw error;
    const probe = await lolduInput(path);
    if (!probe) throw error;
    if (base) {
      await probe.close();
      return loadLolduAdapter(path, base, options);
    }
    try {
      await lolduImporter.import(probe.input);
    } finally {
      await probe.close();
    }
    throw error;
  }
}
