// A worker-pool task for scan-in-pool.test.ts: an intruder scan inside a pool worker (as a server
// analysis job runs it), on the wasm backend, so the WebAssembly kernels and their split helper run
// inside a worker thread.
import { scanModuleIntruders } from '../../../src/diagnostics/intruder-scan.ts';
import { memoryBasisCache } from '../../../src/diagnostics/base-basis.ts';
import { selectBackend } from '../../../src/compute/select-backend.ts';
import { splitHelperStats } from '../../../src/compute/split-helper.ts';
import type { Mat } from '../../../src/tensor/matrix.ts';

export async function scanInPool(args: { W0: number[]; B: number[]; A: number[]; m: number; n: number; r: number }): Promise<{ counts: number[]; helperJobs: number; localFallbacks: number }> {
  const W0: Mat = { rows: args.m, cols: args.n, data: Float64Array.from(args.W0) };
  const B: Mat = { rows: args.m, cols: args.r, data: Float64Array.from(args.B) };
  const A: Mat = { rows: args.r, cols: args.n, data: Float64Array.from(args.A) };
  const { backend } = await selectBackend({ backend: 'wasm' });
  const result = await scanModuleIntruders(W0, B, A, 4, { k: 10, epsilons: [0.3, 0.5, 0.7], sweep: [], seed: 7, cache: memoryBasisCache(), baseKey: 'pool', backend });
  const { helperJobs, localFallbacks } = splitHelperStats();
  return { counts: result.counts.map((c) => c.intruders), helperJobs, localFallbacks };
}
