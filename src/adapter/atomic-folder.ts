// A folder that appears whole or not at all: files are written into a hidden sibling
// folder, which is renamed into place at the end. Never a half-written OUT/.
//
// Two forms: `writeFolderAtomic(target, overwrite, fill)` (pull: the callback fills the folder)
// and `beginFolderAtomic(target, options)` (push: the caller writes into `dir` over many calls,
// then `commit()` or `rollback()`).
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { WorkbenchError, fromFsError } from '../errors.ts';
import { TEMP_PREFIX, fsyncDir } from '../util/atomic-write.ts';

async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export interface BeginFolderOptions {
  /** Replace an existing target. */
  readonly overwrite: boolean;
  /**
   * Refuses a target that must not be replaced; runs before the temporary folder is made and
   * again just before the rename. Default: any existing path without overwrite is
   * ADAPTER_OUTPUT_EXISTS.
   */
  readonly checkTarget?: (target: string, overwrite: boolean) => Promise<void>;
}

/** A temporary folder that becomes `target` on commit, or disappears on rollback. */
export interface AtomicFolder {
  /** The temporary folder to write into (a hidden sibling of the target). */
  readonly dir: string;
  /** The resolved target path. */
  readonly target: string;
  /** fsyncs the temporary folder and renames it onto the target (an old target is replaced whole). */
  commit(): Promise<void>;
  /** Removes the temporary folder; the target is untouched. Safe to call more than once, and after commit (no-op). */
  rollback(): Promise<void>;
}

async function refuseExisting(target: string, overwrite: boolean): Promise<void> {
  if (!overwrite && (await pathExists(target))) {
    throw new WorkbenchError('ADAPTER_OUTPUT_EXISTS', `${target} already exists; choose another folder or allow overwriting`, {
      details: { path: target },
    });
  }
}

export async function beginFolderAtomic(target: string, options: BeginFolderOptions): Promise<AtomicFolder> {
  const dest = resolve(target);
  const parent = dirname(dest);
  const check = options.checkTarget ?? refuseExisting;
  await check(target, options.overwrite);
  try {
    await mkdir(parent, { recursive: true });
  } catch (error) {
    throw fromFsError(error, parent, 'create folder');
  }
  const temp = join(parent, `${TEMP_PREFIX}${basename(dest)}.${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(temp);
  } catch (error) {
    throw fromFsError(error, temp, 'create folder');
  }
  let state: 'open' | 'committed' | 'rolled-back' = 'open';
  const rollback = async (): Promise<void> => {
    if (state !== 'open') return;
    state = 'rolled-back';
    await rm(temp, { recursive: true, force: true });
  };
  const commit = async (): Promise<void> => {
    if (state !== 'open') {
      throw new WorkbenchError('INTERNAL', `atomic folder for ${target} is already ${state}`, { details: { path: target } });
    }
    try {
      await fsyncDir(temp);
      await check(target, options.overwrite);
      if (await pathExists(dest)) {
        // Move the old target aside first; put it back if the new folder cannot take its place.
        const trash = `${temp}.old`;
        await rename(dest, trash);
        try {
          await rename(temp, dest);
        } catch (error) {
          await rename(trash, dest).catch(() => undefined);
          throw error;
        }
        state = 'committed';
        await rm(trash, { recursive: true, force: true });
      } else {
        await rename(temp, dest);
        state = 'committed';
      }
      await fsyncDir(parent);
    } catch (error) {
      await rollback();
      if (error instanceof WorkbenchError) throw error;
      throw fromFsError(error, target, 'write');
    }
  };
  return { dir: temp, target: dest, commit, rollback };
}

/** Runs `fill(tempDir)` and renames tempDir to `target`. On any failure, removes tempDir. */
export async function writeFolderAtomic<T>(
  target: string,
  overwrite: boolean,
  fill: (tempDir: string) => Promise<T>,
): Promise<T> {
  const folder = await beginFolderAtomic(target, { overwrite });
  try {
    const result = await fill(folder.dir);
    await folder.commit();
    return result;
  } catch (error) {
    await folder.rollback();
    if (error instanceof WorkbenchError) throw error;
    throw fromFsError(error, target, 'write');
  }
}
