// A NaN or ±Inf in any input factor stops the merge before any arithmetic, naming the input,
// the module and the factor, and writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planMerge, runMerge } from '../../../src/merge/index.ts';
import { memoryAdapter, randomMat } from './helpers.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'awb-merge-nan-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('non-finite inputs', () => {
  for (const [bad, factor] of [
    [Number.NaN, 'A'],
    [Number.POSITIVE_INFINITY, 'B'],
    [Number.NEGATIVE_INFINITY, 'A'],
  ] as const) {
    it(`${bad} in factor ${factor} is refused with ADAPTER_NONFINITE naming input, module and factor`, async () => {
      const good = memoryAdapter('good', [{ name: 'model.layers.0.q_proj', B: randomMat(6, 2, 1), A: randomMat(2, 5, 2) }]);
      const B = randomMat(6, 2, 3);
      const A = randomMat(2, 5, 4);
      (factor === 'A' ? A : B).data[3] = bad;
      const poisoned = memoryAdapter('poisoned', [{ name: 'model.layers.0.q_proj', B, A }]);
      const out = join(dir, `out-${factor}-${String(bad)}`);
      const plan = planMerge({ method: 'svd', params: { rank: 2 }, inputs: [{ path: 'good/' }, { path: 'poisoned/' }] });
      await expect(runMerge(plan, { outDir: out, adapters: [good, poisoned] })).rejects.toMatchObject({
        code: 'ADAPTER_NONFINITE',
        message: expect.stringMatching(new RegExp(`poisoned.*model\\.layers\\.0\\.q_proj.*factor ${factor} holds 1 NaN/Inf`)),
      });
      expect(await readdir(dir)).not.toContain(`out-${factor}-${String(bad)}`);
    });
  }
});
