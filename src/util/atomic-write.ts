// No half-written files: write to a temporary file beside the target, fsync,
// rename over the target, then fsync the directory.
import { open, rename, rm, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fromFsError } from '../errors.ts';

/** Prefix of every temporary file we create; a start-up sweep may delete leftovers that carry it. */
export const TEMP_PREFIX = '.awb-tmp-';

export function tempPathFor(target: string): string {
  return join(dirname(target), `${TEMP_PREFIX}${basename(target)}.${randomBytes(6).toString('hex')}`);
}

export async function writeFileAtomic(target: string, chunks: Uint8Array | Iterable<Uint8Array>): Promise<void> {
  await mkdir(dirname(target), { recursive: true }).catch((error: unknown) => {
    throw fromFsError(error, dirname(target), 'create folder');
  });
  const temp = tempPathFor(target);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      const parts = chunks instanceof Uint8Array ? [chunks] : chunks;
      for (const part of parts) {
        let written = 0;
        while (written < part.byteLength) {
          const { bytesWritten } = await handle.write(part, written, part.byteLength - written);
          written += bytesWritten;
        }
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    await fsyncDir(dirname(target));
  } catch (error) {
    await rm(temp, { force: true });
    throw fromFsError(error, target, 'write');
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  }
}
