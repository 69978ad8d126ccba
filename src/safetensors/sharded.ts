// A sharded checkpoint (model.safetensors.index.json + shards) as ONE lazy TensorSource, and
// openTensorSource(), which accepts a .safetensors file, an index, or a folder holding either.
// Opening reads the index and each shard's header (then closes the shard); a shard is reopened
// on the first read of one of its tensors and kept open until close().
import { open, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { WorkbenchError, fromFsError, isWorkbenchError } from '../errors.ts';
import { MAX_HEADER_JSON_DEPTH, MAX_SHARD_COUNT, MAX_SHARD_INDEX_BYTES } from '../limits.ts';
import { BaseTensorSource, openSafetensors, type SafetensorsFile, type TensorSource } from './reader.ts';
import type { TensorInfo } from './header.ts';
import { parseStrictJson, StrictJsonError, type StrictJsonValue } from './strict-json.ts';

export const SINGLE_FILE_NAME = 'model.safetensors';
export const SHARD_INDEX_NAME = 'model.safetensors.index.json';

/** Top-level keys of an index are few (metadata, weight_map); this stops a key bomb early. */
const MAX_INDEX_TOP_LEVEL_KEYS = 64;

function indexError(indexPath: string, message: string, details: Record<string, unknown> = {}, cause?: unknown): WorkbenchError {
  return new WorkbenchError('ST_SHARD_INDEX_INVALID', `${indexPath}: ${message}`, { details: { file: indexPath, ...details }, cause });
}

/** A shard must be a plain file name beside the index: no folders, no `..`, no absolute paths. */
export function isSafeShardName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    !name.includes('/') &&
    !name.includes('\\') &&
    !name.includes('..') &&
    !name.includes('\0') &&
    !name.includes(':') &&
    !isAbsolute(name) &&
    name !== SHARD_INDEX_NAME
  );
}

interface ShardIndex {
  readonly metadata: Record<string, string>;
  /** Tensor name → shard file name, in index order. */
  readonly weightMap: ReadonlyMap<string, string>;
}

async function readIndex(indexPath: string): Promise<ShardIndex> {
  let bytes: Uint8Array;
  try {
    const handle = await open(indexPath, 'r');
    try {
      const { size } = await handle.stat();
      if (size > MAX_SHARD_INDEX_BYTES) {
        throw indexError(indexPath, `the index is ${size} bytes, above the ${MAX_SHARD_INDEX_BYTES}-byte limit`, { sizeBytes: size });
      }
      bytes = new Uint8Array(size);
      let done = 0;
      while (done < size) {
        const { bytesRead } = await handle.read(bytes, done, size - done, done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      bytes = bytes.subarray(0, done);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw isWorkbenchError(error) ? error : fromFsError(error, indexPath, 'open shard index');
  }
  let root: StrictJsonValue;
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    root = parseStrictJson(text, { maxDepth: MAX_HEADER_JSON_DEPTH, maxTopLevelEntries: MAX_INDEX_TOP_LEVEL_KEYS });
  } catch (error) {
    const why = error instanceof StrictJsonError ? error.message : 'it is not valid UTF-8';
    throw indexError(indexPath, `the index is not valid JSON: ${why}`, {}, error);
  }
  if (root.kind !== 'object') {
    throw indexError(indexPath, `the index is a JSON ${root.kind}, not an object`);
  }
  const weightMapValue = root.entries.get('weight_map');
  if (weightMapValue?.kind !== 'object') {
    throw indexError(indexPath, 'the index has no "weight_map" object');
  }
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of weightMapValue.entries) {
    if (shard.kind !== 'string') {
      throw indexError(indexPath, `weight_map["${tensor}"] is a JSON ${shard.kind}, not a file name`, { tensor });
    }
    if (!isSafeShardName(shard.value)) {
      throw indexError(indexPath, `weight_map["${tensor}"] names the shard ${JSON.stringify(shard.value)}, which is not a plain file name beside the index`, {
        tensor,
        shard: shard.value,
      });
    }
    weightMap.set(tensor, shard.value);
  }
  const metadata = Object.create(null) as Record<string, string>;
  const metadataValue = root.entries.get('metadata');
  if (metadataValue?.kind === 'object') {
    for (const [key, value] of metadataValue.entries) {
      if (value.kind === 'string') metadata[key] = value.value;
      else if (value.kind === 'number') metadata[key] = value.text;
    }
  }
  return { metadata, weightMap };
}

export class ShardedCheckpoint extends BaseTensorSource {
  private readonly openShards = new Map<string, Promise<SafetensorsFile>>();
  private closed = false;

  private constructor(
    readonly label: string,
    readonly folder: string,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
    readonly warnings: readonly string[],
    /** Tensor name → shard file name. */
    private readonly shardOf: ReadonlyMap<string, string>,
    /** Shard file name → size when the headers were read (a changed shard is refused). */
    private readonly shardSizes: ReadonlyMap<string, number>,
  ) {
    super();
  }

  /** The distinct shard file names, sorted. */
  get shards(): string[] {
    return [...this.shardSizes.keys()];
  }

  static async open(indexPath: string): Promise<ShardedCheckpoint> {
    const index = await readIndex(indexPath);
    const folder = dirname(indexPath);
    const shardNames = [...new Set(index.weightMap.values())].sort();
    if (shardNames.length > MAX_SHARD_COUNT) {
      throw indexError(indexPath, `the index names ${shardNames.length} shards, above the limit of ${MAX_SHARD_COUNT}`, {
        count: shardNames.length,
        limit: MAX_SHARD_COUNT,
      });
    }
    const tensors = new Map<string, TensorInfo>();
    const shardSizes = new Map<string, number>();
    const warnings: string[] = [];
    const metadata = Object.create(null) as Record<string, string>;
    const wanted = new Map<string, string[]>();
    for (const [tensor, shard] of index.weightMap) {
      const list = wanted.get(shard) ?? [];
      list.push(tensor);
      wanted.set(shard, list);
    }
    for (const shard of shardNames) {
      const file = await openShard(indexPath, join(folder, shard));
      try {
        shardSizes.set(shard, file.sizeBytes);
        if (shard === shardNames[0]) Object.assign(metadata, file.metadata);
        warnings.push(...file.warnings.map((w) => `${shard}: ${w}`));
        for (const tensor of wanted.get(shard) ?? []) {
          const info = file.tensors.get(tensor);
          if (!info) {
            throw indexError(indexPath, `the index places tensor "${tensor}" in ${shard}, which does not hold it`, { tensor, shard });
          }
          tensors.set(tensor, info);
        }
      } finally {
        await file.close();
      }
    }
    Object.assign(metadata, index.metadata);
    // Keep the index order for iteration, like a single file's header order.
    const ordered = new Map([...index.weightMap.keys()].map((name) => [name, tensors.get(name)!]));
    return new ShardedCheckpoint(indexPath, folder, ordered, metadata, warnings, index.weightMap, shardSizes);
  }

  private shardFile(name: string): Promise<SafetensorsFile> {
    if (this.closed) {
      throw new WorkbenchError('IO_ERROR', `${this.label}: checkpoint is closed`, { details: { file: this.label } });
    }
    const shard = this.shardOf.get(name)!;
    let pending = this.openShards.get(shard);
    if (!pending) {
      pending = openShard(this.label, join(this.folder, shard)).then(async (file) => {
        if (file.sizeBytes !== this.shardSizes.get(shard)) {
          await file.close();
          throw new WorkbenchError('IO_ERROR', `${file.path}: the shard changed size since the checkpoint was opened`, {
            details: { file: file.path },
            permanent: false,
          });
        }
        return file;
      });
      pending.catch(() => this.openShards.delete(shard));
      this.openShards.set(shard, pending);
    }
    return pending;
  }

  async readBytes(name: string): Promise<Uint8Array> {
    this.info(name);
    return (await this.shardFile(name)).readBytes(name);
  }

  override async readFloat32(name: string): Promise<Float32Array> {
    this.info(name);
    return (await this.shardFile(name)).readFloat32(name);
  }

  override async readFloat64(name: string, into?: Float64Array): Promise<Float64Array> {
    this.info(name);
    return (await this.shardFile(name)).readFloat64(name, into);
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.openShards.values()];
    this.openShards.clear();
    for (const result of await Promise.allSettled(pending)) {
      if (result.status === 'fulfilled') await result.value.close();
    }
  }
}

async function openShard(indexPath: string, shardPath: string): Promise<SafetensorsFile> {
  try {
    return await openSafetensors(shardPath);
  } catch (error) {
    if (isWorkbenchError(error) && error.code === 'FILE_NOT_FOUND') {
      throw indexError(indexPath, `the index names the shard ${basename(shardPath)}, which does not exist`, { shard: basename(shardPath) }, error);
    }
    throw error;
  }
}

/** Opens `model.safetensors.index.json` (or the folder holding it) and its shards as one lazy source. */
export async function openShardedCheckpoint(dirOrIndexPath: string): Promise<ShardedCheckpoint> {
  const isFolder = await stat(dirOrIndexPath).then(
    (s) => s.isDirectory(),
    (error: unknown) => {
      throw fromFsError(error, dirOrIndexPath, 'open sharded checkpoint');
    },
  );
  return ShardedCheckpoint.open(isFolder ? join(dirOrIndexPath, SHARD_INDEX_NAME) : dirOrIndexPath);
}

/**
 * Opens whatever holds the tensors: a .safetensors file, a shard index (.json), or a folder
 * with model.safetensors (preferred, as transformers does) or model.safetensors.index.json.
 */
export async function openTensorSource(path: string): Promise<TensorSource> {
  const stats = await stat(path).catch((error: unknown) => {
    throw fromFsError(error, path, 'open tensors');
  });
  if (stats.isDirectory()) {
    for (const [name, opener] of [
      [SINGLE_FILE_NAME, openSafetensors],
      [SHARD_INDEX_NAME, ShardedCheckpoint.open],
    ] as const) {
      const candidate = join(path, name);
      if (await stat(candidate).then((s) => s.isFile(), () => false)) {
        return opener(candidate);
      }
    }
    throw new WorkbenchError('ST_SOURCE_NOT_FOUND', `${path}: the folder holds neither ${SINGLE_FILE_NAME} nor ${SHARD_INDEX_NAME}`, {
      details: { file: path },
    });
  }
  return path.endsWith('.json') ? ShardedCheckpoint.open(path) : openSafetensors(path);
}
