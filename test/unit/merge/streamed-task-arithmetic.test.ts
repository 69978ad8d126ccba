// The element-wise family gives the same merge whether the merged ΔW is held (small modules) or
// recomputed block by block for every product of the randomized SVD (large ones): same cuts,
// same DARE streams on every replay, same summation order, so identical factors.
import { describe, expect, it } from 'vitest';
import { runTaskArithmetic } from '../../../src/merge/methods/task-arithmetic-family.ts';
import type { ModuleContext } from '../../../src/merge/method-types.ts';
import { moduleInput, randomMat } from './helpers.ts';

function ctx(): ModuleContext {
  // 70 rows × 50 columns, streamed in blocks of 500 entries (10 rows): 7 blocks per replay.
  const inputs = [0, 1, 2].map((t) => moduleInput(t, randomMat(70, 3, 10 + t), randomMat(3, 50, 20 + t), { weight: [1, 0.5, -0.7][t]!, scale: 2 }));
  return { module: 'm', outFeatures: 70, inFeatures: 50, inputs, inputCount: 3, params: { rank: 4, oversample: 4, powerIterations: 1 }, seed: 9 };
}

describe('runTaskArithmetic, held vs streamed merged delta', () => {
  for (const [name, config] of [
    ['ties', { sparsification: 'magnitude', density: 0.3, rescale: false, consensus: 'total', zeroSign: 'plus' }],
    ['dare_linear', { sparsification: 'random', density: 0.5, rescale: true, consensus: 'none', zeroSign: 'plus' }],
  ] as const) {
    it(`${name}: identical B, A and norms`, async () => {
      const held = await runTaskArithmetic(ctx(), config, { blockElements: 500 });
      const streamed = await runTaskArithmetic(ctx(), config, { denseLimitElements: 0, blockElements: 500 });
      // Held with the default blocking too: the block size does not change the merge.
      const oneBlock = await runTaskArithmetic(ctx(), config);
      expect(Array.from(oneBlock.B.data)).toEqual(Array.from(held.B.data));
      expect(Array.from(streamed.B.data)).toEqual(Array.from(held.B.data));
      expect(Array.from(streamed.A.data)).toEqual(Array.from(held.A.data));
      expect(streamed.details).toEqual(held.details);
      expect(held.B.cols).toBe(4);
    });
  }
});
