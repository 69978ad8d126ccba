// A folder that appears whole or not at all: files are written into a hidden sibling
// folder, which is renamed into place at the end. Never a half-written OUT/.
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

/** Runs `fill(tempDir)` and renames tempDir to `target`. On any failure, removes tempDir. */
export async function writeFolderAtomic<T>(
  target: string,
  overwrite: boolean,
  fill: (tempDir: string) => Promise<T>,
): Promise<T> {
  const dest = resolve(target);
  const parent = dirname(dest);
  if (!overwrite && (await pathExists(dest))) {
    throw new WorkbenchError('ADAPTER_OUTPUT_EXISTS', `${target} already exists; choose another folder or allow overwriting`, {
      details: { path: target },
    });
  }
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
  try {
    const result = await fill(temp);
    await fsyncDir(temp);
    if (await pathExists(dest)) {
      if (!overwrite) {
        throw new WorkbenchError('ADAPTER_OUTPUT_EXISTS', `${target} appeared while writing; not replaced`, { details: { path: target } });
      }
      const trash = `${temp}.old`;
      await rename(dest, trash);
      await rename(temp, dest);
      await rm(trash, { recursive: true, force: true });
    } else {
      await rename(temp, dest);
    }
    await fsyncDir(parent);
    return result;
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    if (error instanceof WorkbenchError) throw error;
    throw fromFsError(error, target, 'write');
  }
}
