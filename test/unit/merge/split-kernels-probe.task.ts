// A worker-pool task for split-kernels.test.ts: runs two split Grams inside a pool worker (as a
// server merge job does) and reports whether the helper thread computed its halves there.
import { splitGram, splitHelperStats } from '../../../src/merge/kernels/split-kernels.ts';

export async function probeSplitHelper(): Promise<{ helperJobs: number; localFallbacks: number; entry: number }> {
  const L = 8192;
  const rows = Array.from({ length: 6 }, (_, a) => new Float64Array(new SharedArrayBuffer(L * 8)).fill(a + 1));
  splitGram(rows, L);
  const g = splitGram(rows, L);
  const { helperJobs, localFallbacks } = splitHelperStats();
  // Entry (2, 3) = Σ 3·4 over L positions.
  return { helperJobs, localFallbacks, entry: g[2 * 6 + 3]! };
}
