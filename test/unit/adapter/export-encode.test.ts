// The exporters' encoder (F32: one typed-array conversion, no per-element DataView call) gives
// the same bits as the scalar codec in src/dtype.ts: one round-to-nearest-even from the f64 value, ties,
// values one f64 ulp either side of a tie (where double rounding through f32 would go wrong),
// subnormals, overflow, ±0, ±Inf and NaN.
import { describe, expect, it } from 'vitest';
import { encode, encodeInto, EncodeScratch } from '../../../src/adapter/export-tensors.ts';
import { encodeFloats } from '../../../src/dtype.ts';
import { createRng } from '../../../src/util/rng.ts';

function edgeValues(): Float64Array {
  const xs: number[] = [0, -0, Infinity, -Infinity, NaN, 1, -1, 3.3895313892515355e38, 3.4e38, -3.4028234663852886e38, 1e39, -1e300, 1e-300, 1e-45, -1e-45, 1e-40, 9.18e-41, 1.1754943508222875e-38];
  for (const base of [1, 1.5, -2.75, 1e-39, 6.5e4, 1e-10]) {
    for (const k of [8, 9, 24, 25]) {
      const tie = base * (1 + 2 ** -k);
      xs.push(tie, tie + Math.abs(tie) * 2 ** -50, tie - Math.abs(tie) * 2 ** -50, -tie);
    }
  }
  // A value just above a bf16 tie that f32 rounding alone would land exactly on the tie.
  xs.push(1 + 2 ** -8 + 2 ** -30, 1 + 2 ** -8 - 2 ** -30, 1 + 3 * 2 ** -8 + 2 ** -40);
  const rng = createRng(5);
  for (let i = 0; i < 20000; i++) xs.push((rng.next() - 0.5) * 10 ** Math.floor(rng.next() * 80 - 40));
  return Float64Array.from(xs);
}

describe('export encode', () => {
  it('F32, BF16, F16: bit-identical to the scalar codec', () => {
    const values = edgeValues();
    for (const dtype of ['F32', 'BF16', 'F16'] as const) {
      expect(Buffer.from(encode(dtype, values)).equals(Buffer.from(encodeFloats(dtype, values)))).toBe(true);
    }
  });
});

describe('encodeInto', () => {
  it('writes the same bytes as encode into one reused buffer', () => {
    const scratch = new EncodeScratch();
    const values = edgeValues();
    for (const dtype of ['F32', 'BF16', 'F16'] as const) {
      for (const part of [values.subarray(0, 100), values, values.subarray(7, 1000)]) {
        const into = encodeInto(dtype, part, scratch);
        expect(into.byteLength).toBe(encode(dtype, part).byteLength);
        expect(Buffer.from(into).equals(Buffer.from(encode(dtype, part)))).toBe(true);
      }
    }
    // The buffer grew once to the largest tensor and was reused after.
    expect(encodeInto('F32', values.subarray(0, 3), scratch).buffer).toBe(encodeInto('BF16', values, scratch).buffer);
  });
});
