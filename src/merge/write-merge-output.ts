// Writes OUT/ atomically: every file goes into a temporary sibling folder, which is
// renamed over OUT/ only when complete. An abort or failure removes the temporary
// folder, so OUT/ is either absent, untouched, or complete.
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { WorkbenchError, fromFsError, throwIfAborted } from '../errors.ts';
import { TEMP_PREFIX, fsyncDir } from '../util/atomic-write.ts';
import { serializeSafetensorsChunks, type TensorToWrite } from '../safetensors/writer.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

export interface OutputFiles {
  readonly weightsName: string;
  readonly tensors: readonly TensorToWrite[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Other files (adapter_config.json, merge-report.json): name → text. */
  readonly texts: Readonly<Record<string, string>>;
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

export async function writeMergeOutput(outDir: string, files: OutputFiles, options: { signal?: AbortSignal; overwrite: boolean }): Promise<string[]> {
  const target = resolve(outDir);
  const parent = dirname(target);
  const temp = join(parent, `${TEMP_PREFIX}${basename(target)}.${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(parent, { recursive: true });
    await mkdir(temp);
  } catch (error) {
    throw fromFsError(error, temp, 'create output folder');
  }
  const written: string[] = [];
  try {
    await writeFileAtomic(join(temp, files.weightsName), serializeSafetensorsChunks(files.tensors, files.metadata));
    written.push(files.weightsName);
    for (const [name, text] of Object.entries(files.texts)) {
      throwIfAborted(options.signal, 'merge');
      await writeFile(join(temp, name), text);
      written.push(name);
    }
    await fsyncDir(temp);
    throwIfAborted(options.signal, 'merge');
    await checkOutputTarget(target, options.overwrite);
    let old: string | undefined;
    try {
      const info = await stat(target);
      if (info.isDirectory()) {
        old = `${temp}.old`;
        await rename(target, old);
      }
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
    }
    await rename(temp, target);
    await fsyncDir(parent);
    if (old) await rm(old, { recursive: true, force: true });
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    if (error instanceof WorkbenchError) throw error;
    throw fromFsError(error, target, 'write merged adapter');
  }
  return written.sort();
}
