// Base models: a safetensors checkpoint (plus its config.json when present),
// uploaded or copied from the allow-listed bases root into the object store.
import { copyFile, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep, basename } from 'node:path';
import type { Db } from '../db/open-db.ts';
import type { BlobStore, ObjectFile } from '../storage/blob-store.ts';
import { manifestHash } from '../storage/blob-store.ts';
import type { BaseDto } from '../dto.ts';
import { HttpError, notFound } from '../errors.ts';
import { newId } from '../ids.ts';
import { openSafetensors } from '../../src/safetensors/reader.ts';

interface BaseRow {
  id: string;
  name: string;
  source: 'upload' | 'path';
  relative_path: string | null;
  content_hash: string;
  object_hash: string;
  tensor_count: number;
  size_bytes: number;
  created_at: string;
}

function toDto(row: BaseRow): BaseDto {
  return {
    id: row.id,
    name: row.name,
    source: row.source,
    relativePath: row.relative_path,
    tensorCount: row.tensor_count,
    sizeBytes: row.size_bytes,
    contentHash: row.content_hash,
    createdAt: row.created_at,
  };
}

export const BASE_WEIGHTS_NAME = 'model.safetensors';

export class BaseStore {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly root: string,
  ) {}

  list(): BaseDto[] {
    return (this.db.prepare('SELECT * FROM bases ORDER BY created_at DESC, id DESC').all() as BaseRow[]).map(toDto);
  }

  get(id: string): BaseDto {
    const row = this.db.prepare('SELECT * FROM bases WHERE id = ?').get(id) as BaseRow | undefined;
    if (!row) throw notFound('base', id);
    return toDto(row);
  }

  /** Path of the base's safetensors file in the object store. */
  weightsPath(id: string): string {
    const row = this.db.prepare('SELECT object_hash FROM bases WHERE id = ?').get(id) as { object_hash: string } | undefined;
    if (!row) throw notFound('base', id);
    return join(this.blobs.pathOf(row.object_hash), BASE_WEIGHTS_NAME);
  }

  /**
   * Resolves a client path under the bases root; refuses absolute paths, `..`, and symlinks that
   * lead outside the root.
   */
  async resolveUnderRoot(path: string): Promise<string> {
    if (path === '' || isAbsolute(path) || path.includes('\0') || path.split(/[\\/]/).includes('..')) {
      throw new HttpError('FORBIDDEN_PATH', 'base paths must be relative to the server bases root, without ".."', { path: path.slice(0, 200) });
    }
    const rootReal = await realpath(this.root);
    let target: string;
    try {
      target = await realpath(resolve(rootReal, path));
    } catch {
      throw new HttpError('NOT_FOUND', `no file or folder ${JSON.stringify(path)} under the bases root`, { kind: 'path', path });
    }
    if (target !== rootReal && !target.startsWith(rootReal + sep)) {
      throw new HttpError('FORBIDDEN_PATH', 'that path leads outside the bases root', { path });
    }
    return target;
  }

  /** Registers a base from a path under the root: a .safetensors file or a folder holding model.safetensors. */
  async registerPath(path: string, name?: string): Promise<{ base: BaseDto; duplicate: boolean }> {
    const target = await this.resolveUnderRoot(path);
    const rel = relative(await realpath(this.root), target).split(sep).join('/');
    return this.registerTrusted(target, name ?? basename(target), rel);
  }

  /** Registers a base from a server-chosen path (bundled samples); never called with client input. */
  async registerTrusted(target: string, name: string, relativePath: string | null): Promise<{ base: BaseDto; duplicate: boolean }> {
    let weights = target;
    let config: string | undefined;
    if ((await stat(target)).isDirectory()) {
      const entries = await readdir(target);
      const st = entries.filter((e) => e.endsWith('.safetensors'));
      const pick = st.includes(BASE_WEIGHTS_NAME) ? BASE_WEIGHTS_NAME : st.length === 1 ? st[0] : undefined;
      if (!pick) {
        throw new HttpError('VALIDATION_FAILED', `folder ${JSON.stringify(relativePath ?? name)} holds no single model.safetensors`, { path: relativePath ?? name, found: st.slice(0, 20) });
      }
      weights = join(target, pick);
      if (entries.includes('config.json')) config = join(target, 'config.json');
    } else if (!target.endsWith('.safetensors')) {
      throw new HttpError('VALIDATION_FAILED', 'a base must be a .safetensors file or a folder holding one', { path: relativePath ?? name });
    }
    const staging = await this.blobs.stage();
    try {
      await copyFile(weights, join(staging, BASE_WEIGHTS_NAME));
      if (config) await copyFile(config, join(staging, 'config.json'));
    } catch (error) {
      await this.blobs.discard(staging);
      throw error;
    }
    return this.register(staging, name, 'path', relativePath);
  }

  /** Validates and registers a staged base (consumed). */
  async register(staging: string, name: string, source: 'upload' | 'path', relativePath: string | null): Promise<{ base: BaseDto; duplicate: boolean }> {
    let consumed = false;
    try {
      const src = await openSafetensors(join(staging, BASE_WEIGHTS_NAME));
      const tensorCount = src.tensors.size;
      await src.close();
      // Hash before committing to find duplicates.
      const { hash, files, existed } = await this.blobs.commit(staging);
      consumed = true;
      const contentHash = manifestHash(files as ObjectFile[]);
      const found = this.db.prepare('SELECT * FROM bases WHERE content_hash = ?').get(contentHash) as BaseRow | undefined;
      if (found) return { base: toDto(found), duplicate: true };
      const row: BaseRow = {
        id: newId(),
        name,
        source,
        relative_path: relativePath,
        content_hash: contentHash,
        object_hash: hash,
        tensor_count: tensorCount,
        size_bytes: files.reduce((s, f) => s + f.sizeBytes, 0),
        created_at: new Date().toISOString(),
      };
      try {
        this.db
          .prepare(
            `INSERT INTO bases (id, name, source, relative_path, content_hash, object_hash, tensor_count, size_bytes, created_at)
             VALUES (@id, @name, @source, @relative_path, @content_hash, @object_hash, @tensor_count, @size_bytes, @created_at)`,
          )
          .run(row);
      } catch (error) {
        if (!existed) await this.blobs.remove(hash).catch(() => {});
        throw error;
      }
      return { base: toDto(row), duplicate: false };
    } finally {
      if (!consumed) await this.blobs.discard(staging).catch(() => {});
    }
  }
}
