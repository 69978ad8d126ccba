// The helper-thread halves of the span kernels compute exactly what the calling thread computes.
import { afterAll, describe, expect, it } from 'vitest';
import { SPLIT_MIN_LENGTH, splitCombine, splitGram, splitHelperStats, stopSplitHelper } from '../../../src/merge/kernels/split-kernels.ts';
import { gramOfRowList } from '../../../src/merge/kernels/gram-space.ts';
import { createRng } from '../../../src/util/rng.ts';
import { createWorkerPool } from '../../../src/compute/worker-pool.ts';
import { fileURLToPath } from 'node:url';

const rng = createRng(7);
function rows(c: number, L: number, shared: boolean): Float64Array[] {
  return Array.from({ length: c }, () => {
    const x = shared ? new Float64Array(new SharedArrayBuffer(L * 8)) : new Float64Array(L);
    for (let i = 0; i < L; i++) x[i] = rng.normal();
    return x;
  });
}

afterAll(async () => {
  await stopSplitHelper();
});

describe('split span kernels', () => {
  it('the Gram of shared rows equals the sum of the two halves computed on one thread, bit for bit', () => {
    const L = SPLIT_MIN_LENGTH * 2 + 37;
    const shared = rows(9, L, true);
    const plain = shared.map((r) => Float64Array.from(r));
    const before = splitHelperStats().helperJobs;
    const viaHelper = splitGram(shared, L);
    const local = splitGram(plain, L);
    expect(Array.from(viaHelper)).toEqual(Array.from(local));
    // Independent check: the one-pass Gram agrees to rounding (relative 1e-12 of the entries' scale).
    const single = gramOfRowList(plain, L);
    const scale = Math.max(...single.map(Math.abs));
    for (let i = 0; i < single.length; i++) expect(Math.abs(single[i]! - viaHelper[i]!)).toBeLessThan(1e-12 * scale);
    // The helper really computed its half (its code is the kernels' own source, sent as text).
    expect(splitHelperStats().helperJobs).toBeGreaterThan(before);
  });

  it('combining shared rows writes every column exactly as the single-thread kernel does', () => {
    const L = SPLIT_MIN_LENGTH + 501;
    const c = 7;
    const k = 3;
    const shared = rows(c, L, true);
    const plain = shared.map((r) => Float64Array.from(r));
    const W = Float64Array.from({ length: k * c }, () => rng.normal());
    const out = new Float64Array(new SharedArrayBuffer(k * L * 8)).fill(Number.NaN);
    const ref = new Float64Array(k * L).fill(Number.NaN);
    splitCombine(out, W, k, shared, L);
    splitCombine(ref, W, k, plain, L);
    expect(Array.from(out)).toEqual(Array.from(ref));
    // Hand check of one entry.
    const j = L - 1;
    let expected = 0;
    for (let a = 0; a < c; a++) expected += W[2 * c + a]! * plain[a]![j]!;
    expect(Math.abs(out[2 * L + j]! - expected)).toBeLessThan(1e-12 * (1 + Math.abs(expected)));
  });

  it('the helper also runs inside a worker-pool thread (server merge jobs)', async () => {
    const pool = createWorkerPool({ size: 1 });
    try {
      const r = await pool.run<{ helperJobs: number; localFallbacks: number; entry: number }>({
        module: fileURLToPath(new URL('./split-kernels-probe.task.ts', import.meta.url)),
        fn: 'probeSplitHelper',
        args: {},
      });
      expect(r.entry).toBe(3 * 4 * 8192);
      expect(r.localFallbacks).toBe(0);
      expect(r.helperJobs).toBe(2);
    } finally {
      await pool.close();
    }
  });

  it('short rows stay on the calling thread', () => {
    const before = splitHelperStats();
    const g = splitGram(rows(3, 100, true), 100);
    expect(g.length).toBe(9);
    const after = splitHelperStats();
    expect(after.helperJobs + after.localFallbacks).toBe(before.helperJobs + before.localFallbacks);
  });
});
