// Disk full while a merge streams OUT/: every file handle the writer opens starts failing with
// ENOSPC; the sink reports DISK_FULL (transient) and leaves no temporary file and the old OUT/.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { suiteTempDir } from '../../helpers/temp-dir.ts';
import { randomMat } from './helpers.ts';

const disk = vi.hoisted(() => ({ freeBytes: Infinity }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
  // A handle whose writes fail once the simulated disk has no room left.
  const open = async (...args: Parameters<typeof actual.open>) => {
    const handle = await actual.open(...args);
    return new Proxy(handle, {
      get(target, key) {
        if (key === 'write' || key === 'writeFile') {
          return async (...a: unknown[]) => {
            const first = a[0];
            const size = typeof first === 'string' ? Buffer.byteLength(first) : (first as Uint8Array).byteLength;
            if (size > disk.freeBytes) throw enospc();
            disk.freeBytes -= size;
            return (Reflect.get(target, key) as (...x: unknown[]) => Promise<unknown>).apply(target, a);
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? (value as (...x: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
  return { ...actual, open, default: { ...actual, open } };
});

const { openMergeOutput } = await import('../../../src/merge/merge-output-sink.ts');
const { isWorkbenchError } = await import('../../../src/errors.ts');

const TMP = suiteTempDir('awb-sink-full-');

const module = (name: string, seed: number) => ({ name, layout: { kind: 'linear' } as const, outFeatures: 64, inFeatures: 48, B: randomMat(64, 8, seed), A: randomMat(8, 48, seed + 1) });

describe('disk full while writing OUT/', () => {
  for (const [where, free] of [['while streaming a module', 3000], ['while writing the texts after the weights', 9000]] as const) {
    it(`ENOSPC ${where}: DISK_FULL, old OUT/ untouched, no temporary file`, async () => {
      const parent = join(TMP, `full-${free}`);
      const out = join(parent, 'OUT');
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'old.txt'), 'old');
      const sink = await openMergeOutput(out, { format: 'peft', dtype: 'F32', overwrite: true, metadata: {}, plan: { modules: [module('a.q_proj', 1), module('a.v_proj', 3)] } });
      disk.freeBytes = free;
      let error: unknown;
      try {
        // Each module is 8·(64+48)·4 = 3584 bytes.
        await sink.addModule(module('a.q_proj', 1));
        await sink.addModule(module('a.v_proj', 3));
        await sink.finish({ texts: { 'merge-report.json': 'x'.repeat(4096) } });
      } catch (e) {
        error = e;
      } finally {
        disk.freeBytes = Infinity;
      }
      expect(isWorkbenchError(error) && [error.code, error.permanent]).toEqual(['DISK_FULL', false]);
      await sink.abort();
      expect(readdirSync(parent)).toEqual(['OUT']);
      expect(readdirSync(out)).toEqual(['old.txt']);
      expect(readFileSync(join(out, 'old.txt'), 'utf8')).toBe('old');
    });
  }
});
