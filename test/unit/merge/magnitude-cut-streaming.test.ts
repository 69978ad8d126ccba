// The streamed per-tensor magnitude cut equals the whole-tensor one (quickselect on all |values|),
// whatever the block split, with ties, exact zeros and a cut that falls into the zeros.
import { describe, expect, it } from 'vitest';
import { magnitudeCut, magnitudeCutStreaming } from '../../../src/merge/kernels/task-arithmetic.ts';
import { createRng } from '../../../src/util/rng.ts';

function streamed(abs: Float64Array, density: number, block: number) {
  return magnitudeCutStreaming(abs.length, density, (sink) => {
    for (let i = 0; i < abs.length; i += block) sink(Float64Array.from(abs.subarray(i, Math.min(abs.length, i + block))));
  });
}

describe('magnitudeCutStreaming', () => {
  const rng = createRng(7);
  const values = Float64Array.from({ length: 5000 }, (_, i) => (i % 10 === 0 ? 0 : i % 7 === 0 ? 0.25 : Math.abs(rng.normal()) * 10 ** rng.int(6)));
  for (const density of [0, 0.001, 0.2, 0.5, 0.85, 0.95, 1]) {
    it(`density ${density}: same threshold and tie count as magnitudeCut, for block sizes 1, 333, all`, () => {
      const want = magnitudeCut(Float64Array.from(values), density);
      for (const block of [1, 333, values.length]) expect(streamed(values, density, block)).toEqual(want);
    });
  }
  it('all-equal values: the cut keeps the first ⌊density·n⌋ in flat order', () => {
    const same = new Float64Array(100).fill(3);
    expect(streamed(same, 0.37, 9)).toEqual({ keepAll: false, threshold: 3, tiesToKeep: 37 });
  });
});
