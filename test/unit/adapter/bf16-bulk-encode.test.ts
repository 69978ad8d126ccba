// The bulk BF16 encoder is floatToBf16 (one round-to-nearest-even from the float64 value), bit for
// bit, including the double-rounding traps at bf16 ties, NaN, infinities, zeros and subnormals.
import { describe, expect, it } from 'vitest';
import { encodeBf16Bulk } from '../../../src/adapter/export-tensors.ts';
import { floatToBf16 } from '../../../src/dtype.ts';
import { createRng } from '../../../src/util/rng.ts';

function expectSameAsScalar(values: Float64Array): void {
  const out = new Uint16Array(values.length);
  encodeBf16Bulk(values, out);
  for (let i = 0; i < values.length; i++) {
    if (out[i] !== floatToBf16(values[i]!)) throw new Error(`value ${values[i]} (index ${i}): bulk 0x${out[i]!.toString(16)}, scalar 0x${floatToBf16(values[i]!).toString(16)}`);
  }
}

describe('bulk bf16 encoding', () => {
  it('matches the scalar encoder on random values over many scales (more than one block)', () => {
    const rng = createRng(3);
    const v = Float64Array.from({ length: 40_000 }, (_, i) => rng.normal() * 10 ** ((i % 80) - 40));
    expectSameAsScalar(v);
  });

  it('steps toward the true value when the float32 lands exactly on a bf16 tie', () => {
    // f32 bits with low 16 bits 0x8000 are bf16 ties; nudge the f64 value just above and below them.
    const values: number[] = [];
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (const hi of [0x3f80, 0x4049, 0xbf80, 0x0001, 0x7f7f, 0xc2a0]) {
      u[0] = (hi << 16) | 0x8000;
      const tie = f[0]!;
      const ulp = Math.abs(tie) * 2 ** -40;
      values.push(tie, tie + ulp, tie - ulp);
    }
    // Check the traps really are traps: the nudged values round differently.
    expect(floatToBf16(values[1]!)).not.toBe(floatToBf16(values[2]!));
    expectSameAsScalar(Float64Array.from(values));
  });

  it('handles NaN, infinities, signed zeros, subnormals and overflow', () => {
    expectSameAsScalar(
      Float64Array.from([Number.NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-45, 5e-324, 3.4e38, -3.39e38, 3.3895e38, 1e39, -1e300, Number.MAX_VALUE, Number.MIN_VALUE]),
    );
  });
});
