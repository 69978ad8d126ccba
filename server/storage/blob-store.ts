// Content-addressed object store under the data dir. An object is a folder of
// files (an adapter, a merged PEFT folder, a report) named by the sha256 of
// its manifest (sorted file names with their own sha256). Everything is
// written into a private staging folder under tmp/, fsynced, and renamed into
// objects/<hash> in one step, so a reader never sees a partial object.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, mkdtemp } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fsyncDir } from '../../src/util/atomic-write.ts';
import { sha256Bytes } from '../../src/util/hash.ts';

export const HASH_PATTERN = /^[0-9a-f]{64}$/;
/** File names inside an object: fixed, server-chosen names only. */
export const OBJECT_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Staging folders of dead processes, or older than this, are swept at start. */
export const STAGING_MAX_AGE_MS = 24 * 3600 * 1000;

/** Test hook: called before every write; throw (e.g. an ENOSPC error) to inject a fault. */
export interface BlobStoreHooks {
  beforeWrite?(path: string, bytes: number): void;
}

export interface ObjectFile {
  readonly name: string;
  readonly sha256: string;
  readonly sizeBytes: number;
}

/** A file being written into a staging folder, hashed as it goes. */
export class StagedFile {
  private readonly hash = createHash('sha256');
  private size = 0;
  private closed = false;

  private constructor(
    readonly path: string,
    readonly name: string,
    private readonly handle: FileHandle,
    private readonly hooks: BlobStoreHooks,
  ) {}

  static async create(dir: string, name: string, hooks: BlobStoreHooks): Promise<StagedFile> {
    if (!OBJECT_FILE_NAME.test(name)) throw new Error(`invalid object file name ${JSON.stringify(name)}`);
    const path = join(dir, name);
    const handle = await open(path, 'wx', 0o644);
    return new StagedFile(path, name, handle, hooks);
  }

  get bytesWritten(): number {
    return this.size;
  }

  /** Writes the first bytes of the file, for early validation. */
  async write(chunk: Uint8Array): Promise<void> {
    this.hooks.beforeWrite?.(this.path, chunk.byteLength);
    let written = 0;
    while (written < chunk.byteLength) {
      const { bytesWritten } = await this.handle.write(chunk, written, chunk.byteLength - written);
      written += bytesWritten;
    }
    this.hash.update(chunk);
    this.size += chunk.byteLength;
  }

  /** fsync and close; returns the file's entry. */
  async finish(): Promise<ObjectFile> {
    await this.handle.sync();
    await this.close();
    return { name: this.name, sha256: this.hash.digest('hex'), sizeBytes: this.size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

export function manifestHash(files: readonly Pick<ObjectFile, 'name' | 'sha256'>[]): string {
  const lines = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((f) => `${f.name}\0${f.sha256}\n`);
  return sha256Bytes(lines.join(''));
}

async function sha256OfFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}

const OWNER = sha256Bytes(hostname()).slice(0, 8);

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

export class BlobStore {
  readonly tmpDir: string;
  readonly objectsDir: string;

  constructor(
    readonly root: string,
    readonly hooks: BlobStoreHooks = {},
  ) {
    this.tmpDir = join(root, 'tmp');
    this.objectsDir = join(root, 'objects');
  }

  /** Creates the folders and sweeps staging leftovers of crashed processes. Returns how many were swept. */
  async init(): Promise<number> {
    await mkdir(this.tmpDir, { recursive: true });
    await mkdir(this.objectsDir, { recursive: true });
    return this.sweep();
  }

  async sweep(now: number = Date.now()): Promise<number> {
    let swept = 0;
    for (const entry of await readdir(this.tmpDir)) {
      const match = /^([0-9a-f]{8})\.(\d+)\./.exec(entry);
      const path = join(this.tmpDir, entry);
      let stale: boolean;
      if (match && match[1] === OWNER) {
        const pid = Number(match[2]);
        stale = pid !== process.pid && !processAlive(pid);
      } else {
        const info = await stat(path).catch(() => undefined);
        stale = info === undefined || now - info.mtimeMs > STAGING_MAX_AGE_MS;
      }
      if (stale) {
        await rm(path, { recursive: true, force: true });
        swept += 1;
      }
    }
    return swept;
  }

  /** A fresh private staging folder. */
  async stage(): Promise<string> {
    return mkdtemp(join(this.tmpDir, `${OWNER}.${process.pid}.${randomBytes(3).toString('hex')}`));
  }

  createFile(staging: string, name: string): Promise<StagedFile> {
    return StagedFile.create(staging, name, this.hooks);
  }

  async discard(staging: string): Promise<void> {
    await rm(staging, { recursive: true, force: true });
  }

  /**
   * Hashes, fsyncs and renames a staging folder into objects/<hash>. If the object already exists
   * the staging folder is dropped (content addressing makes them equal). Returns hash and files.
   */
  async commit(staging: string): Promise<{ hash: string; files: ObjectFile[]; existed: boolean }> {
    const files: ObjectFile[] = [];
    for (const name of (await readdir(staging)).sort()) {
      const path = join(staging, name);
      const info = await stat(path);
      if (!info.isFile()) throw new Error(`staging folder holds a non-file entry ${name}`);
      const { sha256, size } = await sha256OfFile(path);
      this.hooks.beforeWrite?.(path, 0);
      const handle = await open(path, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      files.push({ name, sha256, sizeBytes: size });
    }
    const hash = manifestHash(files);
    const target = this.pathOf(hash);
    if (await this.has(hash)) {
      await this.discard(staging);
      return { hash, files, existed: true };
    }
    await fsyncDir(staging);
    try {
      await rename(staging, target);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        await this.discard(staging);
        return { hash, files, existed: true };
      }
      throw error;
    }
    await fsyncDir(this.objectsDir);
    return { hash, files, existed: false };
  }

  pathOf(hash: string): string {
    if (!HASH_PATTERN.test(hash)) throw new Error(`not an object hash: ${hash}`);
    return join(this.objectsDir, hash);
  }

  async has(hash: string): Promise<boolean> {
    return stat(this.pathOf(hash)).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  async remove(hash: string): Promise<void> {
    // Rename first so a reader never sees a half-deleted object.
    const doomed = join(this.tmpDir, `${OWNER}.${process.pid}.del-${hash.slice(0, 12)}-${randomBytes(3).toString('hex')}`);
    try {
      await rename(this.pathOf(hash), doomed);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return;
      throw error;
    }
    await rm(doomed, { recursive: true, force: true });
  }

  /** Entries in tmp/ (for tests: proves nothing was left behind). */
  async tmpEntries(): Promise<string[]> {
    return readdir(this.tmpDir);
  }
}
