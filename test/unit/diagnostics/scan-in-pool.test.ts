// An intruder scan inside a worker-pool thread (how the server runs analysis jobs) uses the
// WebAssembly kernels and the split helper there, and gives the counts of the same scan here.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createWorkerPool } from '../../../src/compute/worker-pool.ts';
import { scanModuleIntruders } from '../../../src/diagnostics/intruder-scan.ts';
import { memoryBasisCache } from '../../../src/diagnostics/base-basis.ts';
import { createRng } from '../../../src/util/rng.ts';

describe('intruder scan in a worker-pool thread', () => {
  it('gives the full-route counts, with the split helper computing inside the worker', async () => {
    const rng = createRng(31);
    const [m, n, r] = [1200, 600, 8]; // tall, even: the projector's Gram, Cholesky and inverse in wasm, split
    // W0 with a decaying spectrum: Σ_t s_t·x_t·y_tᵀ over 40 random rank-one terms plus a small dense floor.
    const W0 = new Float64Array(m * n).map(() => Math.fround(0.05 * rng.normal()));
    for (let t = 0; t < 40; t++) {
      const x = Array.from({ length: m }, () => rng.normal() / Math.sqrt(m));
      const y = Array.from({ length: n }, () => rng.normal() / Math.sqrt(n));
      const s = 4 * 0.85 ** t;
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) W0[i * n + j] = Math.fround(W0[i * n + j]! + s * x[i]! * y[j]!);
    }
    const B = Float64Array.from({ length: m * r }, () => rng.normal() / Math.sqrt(m));
    const A = Float64Array.from({ length: r * n }, () => rng.normal() / Math.sqrt(n));
    const pool = createWorkerPool({ size: 1, resourceLimits: { maxYoungGenerationSizeMb: 3 } });
    try {
      const got = await pool.run<{ counts: number[]; helperJobs: number; localFallbacks: number }>({
        module: fileURLToPath(new URL('./scan-in-pool.task.ts', import.meta.url)),
        fn: 'scanInPool',
        args: { W0: Array.from(W0), B: Array.from(B), A: Array.from(A), m, n, r },
      });
      const full = await scanModuleIntruders({ rows: m, cols: n, data: W0 }, { rows: m, cols: r, data: B }, { rows: r, cols: n, data: A }, 4, {
        k: 10, epsilons: [0.3, 0.5, 0.7], sweep: [], seed: 7, route: 'full', cache: memoryBasisCache(), baseKey: 'here',
      });
      expect(got.counts).toEqual(full.counts.map((c) => c.intruders));
      expect(got.counts.some((c) => c > 0)).toBe(true); // intruders exist: the tall projection was needed
      expect(got.helperJobs).toBeGreaterThan(0);
      expect(got.localFallbacks).toBe(0);
    } finally {
      await pool.close();
    }
  }, 120_000);
});
